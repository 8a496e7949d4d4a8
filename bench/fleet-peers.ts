// The fleet's peers (issue 14, item 2): the same agent bootstrap over N lab hosts by Ansible (ansible-core
// pinned from PyPI, in a venv in the benchmark's cache, never in the product: bench/ansible/bootstrap.yml
// with forks = N, pipelining, ControlPersist) and by `xargs -P N` running one ssh + scp script per host (the
// naive parallel floor). Both copy the same files as the sequential script (fleet-baseline.ts: the agent and
// supervisor bundles, the certificates), start the agent with the Agent resource's own start command
// (install.ts supervisorStartArgv: the supervisor, agent-launch.ts's node flags and malloc settings) and end
// when every agent answers over mTLS.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { supervisorStartArgv, type InstallSpec } from "../provider/bootstrap/install";
import type { LabHost, LabInventory } from "../provider/lab";
import { issueAgentCert } from "../provider/pki";
import { run } from "../provider/util/exec";
import { AGENT_BUNDLE, benchPki } from "./agents";
import {
  baselineSpec,
  baselineStartLine,
  CERT_FILES,
  sshBase,
  SUPERVISOR_BUNDLE,
  waitAnswer,
} from "./fleet-baseline";
import { elapsedMs } from "./stats";

export const ANSIBLE_CORE = "2.19.14";
const PLAYBOOK = path.join(__dirname, "..", "..", "bench", "ansible", "bootstrap.yml");

/** ansible-playbook from a venv under the benchmark's cache, installed from PyPI on first use. */
export async function ansiblePlaybook(log: (line: string) => void): Promise<string> {
  const cache = process.env.NETPERSONA_CACHE ?? path.join(os.homedir(), ".cache", "netpersona");
  const venv = path.join(cache, `ansible-core-${ANSIBLE_CORE}`);
  const bin = path.join(venv, "bin", "ansible-playbook");
  if (existsSync(bin)) return bin;
  log(`installing ansible-core ${ANSIBLE_CORE} from PyPI into ${venv}`);
  await run(["python3", "-m", "venv", venv]);
  await run(
    [
      path.join(venv, "bin", "pip"),
      "install",
      "--quiet",
      "--disable-pip-version-check",
      `ansible-core==${ANSIBLE_CORE}`,
    ],
    { timeoutMs: 600_000 },
  );
  return bin;
}

interface Prepared {
  h: LabHost;
  /** The Agent resource's install of this host (installDir = the tool's directory). */
  spec: InstallSpec;
  certs: string;
}

/** Certificates for every host, written locally (issued inside the timed window, as the script does). */
async function prepare(
  inv: LabInventory,
  tool: string,
  pki: Awaited<ReturnType<typeof benchPki>>,
): Promise<Prepared[]> {
  return Promise.all(
    inv.hosts.map(async (h) => {
      const cert = await issueAgentCert(pki.ca, { commonName: h.name, ips: [h.address] });
      const certs = path.join(inv.stateDir, `${tool}-certs`, h.name);
      mkdirSync(certs, { recursive: true });
      const files = [
        [CERT_FILES.ca, pki.ca.certPem],
        [CERT_FILES.cert, cert.certPem],
        [CERT_FILES.key, cert.keyPem],
      ];
      for (const [n, pem] of files) writeFileSync(path.join(certs, n), pem, { mode: 0o600 });
      return { h, spec: baselineSpec(h, `${inv.stateDir}/${tool}/${h.name}`), certs };
    }),
  );
}

const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/** xargs -P N over one sh script per host (ssh node --version, ssh mkdir, scp, ssh start: the Agent
 *  resource's start command); ms until every agent answers. */
export async function xargsBootstrap(inv: LabInventory): Promise<number> {
  const t0 = process.hrtime.bigint();
  const pki = await benchPki();
  const hosts = await prepare(inv, "xargs", pki);
  const scripts = hosts.map((p) => {
    const target = `${p.h.user}@${p.h.address}`;
    const ssh = sshBase(inv, p.h, "ssh").map(q).join(" ");
    const scp = sshBase(inv, p.h, "scp").map(q).join(" ");
    const files = [
      AGENT_BUNDLE,
      SUPERVISOR_BUNDLE,
      ...Object.values(CERT_FILES).map((n) => path.join(p.certs, n)),
    ];
    const lines = [
      "set -eu",
      `${ssh} ${target} -- ${q(process.execPath)} --version >/dev/null`,
      `${ssh} ${target} -- mkdir -p ${q(p.spec.stateDir)}`,
      `${scp} -q ${files.map(q).join(" ")} ${q(`${target}:${p.spec.installDir}/`)}`,
      // One argument: the remote shell parses this line, as it parses the Agent resource's commands.
      `${ssh} ${target} -- ${q(baselineStartLine(p.spec))} >/dev/null`,
    ];
    const f = path.join(p.certs, "bootstrap.sh");
    writeFileSync(f, `${lines.join("\n")}\n`, { mode: 0o700 });
    return f;
  });
  await run(["xargs", "-P", String(hosts.length), "-n", "1", "sh"], {
    input: `${scripts.join("\n")}\n`,
    timeoutMs: 600_000,
  });
  await Promise.all(hosts.map((p) => waitAnswer(p.spec.listen, pki)));
  return elapsedMs(t0);
}

/** ansible-playbook with forks = N over the lab's hosts; ms until every agent answers. */
export async function ansibleBootstrap(inv: LabInventory, ansibleBin: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const pki = await benchPki();
  const hosts = await prepare(inv, "ansible", pki);
  const work = path.join(inv.stateDir, "ansible");
  mkdirSync(work, { recursive: true });
  // A YAML inventory (JSON is YAML): each host carries the Agent resource's start command as an argv list,
  // which the playbook's command task runs without a shell.
  const inventory = {
    agents: {
      hosts: Object.fromEntries(
        hosts.map((p) => [
          p.h.name,
          {
            ansible_host: p.h.address,
            ansible_port: p.h.sshPort,
            ansible_user: p.h.user,
            ansible_ssh_private_key_file: p.h.privateKeyPath,
            dir: p.spec.installDir,
            state_dir: p.spec.stateDir,
            certs: p.certs,
            listen: p.h.address,
            port: Number(p.spec.listen.split(":")[1]),
            start_argv: supervisorStartArgv(p.spec),
          },
        ]),
      ),
      vars: {
        node: process.execPath,
        ansible_python_interpreter: "/usr/bin/python3",
        bundles: [AGENT_BUNDLE, SUPERVISOR_BUNDLE],
        cert_files: Object.values(CERT_FILES),
      },
    },
  };
  writeFileSync(path.join(work, "hosts.yml"), `${JSON.stringify(inventory, null, 2)}\n`);
  const cfg = [
    "[defaults]",
    `forks = ${hosts.length}`,
    "host_key_checking = True",
    "stdout_callback = default",
    "retry_files_enabled = False",
    "",
    "[ssh_connection]",
    "pipelining = True",
    `ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${inv.knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
    `control_path_dir = ${work}/cp`,
    "",
  ];
  writeFileSync(path.join(work, "ansible.cfg"), cfg.join("\n"));
  await run([ansibleBin, "-i", path.join(work, "hosts.yml"), PLAYBOOK], {
    env: {
      ...process.env,
      ANSIBLE_CONFIG: path.join(work, "ansible.cfg"),
      LC_ALL: "C.UTF-8",
      ANSIBLE_LOCAL_TEMP: `${work}/tmp`,
    },
    timeoutMs: 900_000,
  });
  await Promise.all(hosts.map((p) => waitAnswer(p.spec.listen, pki)));
  return elapsedMs(t0);
}
