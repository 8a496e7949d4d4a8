// The fleet baseline: the same agent bootstrap as the Agent resource (check node, copy the agent and
// supervisor bundles and the certificates, start it with the Agent resource's own start command, wait until
// it answers over mTLS), done by a plain sequential script of ssh/scp commands, one host after the other. It
// stands in for @pulumi/command remote.Command, whose provider plugin cannot be built here (the Go module
// proxy refuses github.com/pulumi/pulumi-command/provider: 403). The peers (fleet-peers.ts) use the same
// files and start command.
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";

import { connectAgent } from "../provider/agent/rpc/client";
import { supervisorStartArgv, type InstallSpec } from "../provider/bootstrap/install";
import type { LabHost, LabInventory } from "../provider/lab";
import { issueAgentCert } from "../provider/pki";
import { commandLine } from "../provider/ssh/quote";
import { run } from "../provider/util/exec";
import { AGENT_BUNDLE, AGENT_PORT, benchPki } from "./agents";
import { elapsedMs } from "./stats";

/** The supervisor bundle beside the agent bundle the benchmarks start. */
export const SUPERVISOR_BUNDLE = path.join(path.dirname(AGENT_BUNDLE), "netpersona-supervisor.js");
/** ssh joins the remote command into one string for the remote shell: only plain words may go in it. */
const WORD = /^[A-Za-z0-9_.:/=@+-]+$/;

/** How the Agent resource would install the agent on `h` with installDir `dir` (the supervisor: a lab host
 *  is a namespace, systemd is not its own): its files and start command (install.ts) for the baselines. */
export function baselineSpec(h: LabHost, dir: string): InstallSpec {
  return {
    installDir: dir,
    stateDir: `${dir}/state`,
    nodePath: process.execPath,
    listen: `${h.address}:${AGENT_PORT}`,
    resolvConfPath: `/etc/netns/${h.netns}/resolv.conf`,
    serviceManager: "supervisor",
    unitName: "netpersona-agent",
  };
}

/** The certificate files as install.ts's upload() names them in installDir (agentArgs reads these). */
export const CERT_FILES = { ca: "ca.pem", cert: "agent.pem", key: "agent-key.pem" } as const;

/** The Agent resource's start command for `spec` (install.ts supervisorStartArgv: the supervisor, the node
 *  flags and malloc settings of agent-launch.ts) as one string for a remote shell (ssh's command). */
export function baselineStartLine(spec: InstallSpec): string {
  return commandLine(supervisorStartArgv(spec));
}

export function sshBase(inv: LabInventory, h: LabHost, tool: "ssh" | "scp"): string[] {
  const port = tool === "ssh" ? "-p" : "-P";
  return [
    tool,
    "-F",
    "/dev/null",
    "-i",
    h.privateKeyPath,
    port,
    String(h.sshPort),
    "-o",
    `UserKnownHostsFile=${inv.knownHostsPath}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
  ];
}

async function ssh(inv: LabInventory, h: LabHost, remote: string[]): Promise<string> {
  for (const w of remote)
    if (!WORD.test(w)) throw new Error(`baseline: '${w}' is not a plain word for a remote command`);
  return (await run([...sshBase(inv, h, "ssh"), `${h.user}@${h.address}`, "--", ...remote])).stdout;
}

export async function waitAnswer(endpoint: string, pki: Awaited<ReturnType<typeof benchPki>>): Promise<void> {
  const client = connectAgent({
    endpoint,
    caPem: pki.ca.certPem,
    certPem: pki.client.certPem,
    keyPem: pki.client.keyPem,
    deadlineMs: 2000,
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await client.getInfo();
        return;
      } catch (e) {
        if (i >= 100)
          throw new Error(`baseline: agent at ${endpoint} never answered: ${(e as Error).message}`, {
            cause: e,
          });
        await sleep(100);
      }
    }
  } finally {
    client.close();
  }
}

/** Bootstraps the agent on every host of the lab, one after the other; returns the wall time in ms. */
export async function baselineBootstrap(inv: LabInventory): Promise<number> {
  const t0 = process.hrtime.bigint();
  const pki = await benchPki();
  const node = process.execPath;
  const { writeFile } = await import("node:fs/promises");
  for (const h of inv.hosts) {
    const spec = baselineSpec(h, `${inv.stateDir}/baseline/${h.name}`);
    await ssh(inv, h, [node, "--version"]);
    await ssh(inv, h, ["mkdir", "-p", spec.stateDir]);
    const cert = await issueAgentCert(pki.ca, { commonName: h.name, ips: [h.address] });
    const local = path.join(inv.stateDir, "baseline-certs", h.name);
    await run(["mkdir", "-p", local]);
    const files: [string, string][] = [
      [CERT_FILES.ca, pki.ca.certPem],
      [CERT_FILES.cert, cert.certPem],
      [CERT_FILES.key, cert.keyPem],
    ];
    for (const [name, pem] of files) await writeFile(path.join(local, name), pem, { mode: 0o600 });
    const copy = [AGENT_BUNDLE, SUPERVISOR_BUNDLE, ...files.map(([n]) => path.join(local, n))];
    await run([...sshBase(inv, h, "scp"), "-q", ...copy, `${h.user}@${h.address}:${spec.installDir}/`]);
    await run([...sshBase(inv, h, "ssh"), `${h.user}@${h.address}`, "--", baselineStartLine(spec)]);
    await waitAnswer(spec.listen, pki);
  }
  return elapsedMs(t0);
}
