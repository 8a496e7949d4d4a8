// The Agent's SSH bootstrap alone (no Pulumi engine), over N lab hosts at once as the engine runs creates:
// dial, preflight, certificate, upload, start, wait for mTLS. With --old DIST (the dist/ of an older build)
// its bootstrap runs in the same lab, alternating with this one, so the two are compared in one run.
//   node dist/bench/bootstrap-rtt.js [--hosts 10] [--repeat 3] [--old /path/to/old/dist]
import { readFileSync } from "node:fs";
import path from "node:path";

import { Command } from "commander";

import { waitForAgent } from "../provider/resources/agent";
import { createCa, issueAgentCert, issueClientCert } from "../provider/pki";
import { connectionSchema } from "../provider/ssh/connection";
import { run } from "../provider/util/exec";
import { withLab, type LabInventory } from "./lab";
import { elapsedMs, median } from "./stats";

type Install = typeof import("../provider/bootstrap/install");
type Ssh = typeof import("../provider/ssh/connection");

interface Variant {
  name: string;
  install: Install;
  ssh: Ssh;
}

type Counted = { rtt?: { commands: number; sftpSessions: number } };

/** Counts remote commands and SFTP sessions per connection, for a build whose SshSession does not. */
function instrument(ssh: Ssh): void {
  const proto = ssh.SshSession.prototype as unknown as Record<string, (...a: unknown[]) => unknown> & Counted;
  const wrap = (method: string, key: "commands" | "sftpSessions") => {
    const orig = proto[method];
    if (!orig) return;
    proto[method] = function (this: Counted, ...args: unknown[]) {
      this.rtt ??= { commands: 0, sftpSessions: 0 };
      this.rtt[key]++;
      return orig.apply(this, args);
    };
  };
  wrap("run", "commands");
  wrap("createExclusive", "sftpSessions");
}

function variant(name: string, dist: string): Variant {
  const ssh = require(path.join(dist, "provider", "ssh", "connection")) as Ssh;
  if (!("counts" in ssh.SshSession.prototype) && name !== "new") instrument(ssh);
  return { name, install: require(path.join(dist, "provider", "bootstrap", "install")) as Install, ssh };
}

/** One host's bootstrap as Agent.create does it; the old build also stops first (its start does not). */
async function bootstrap(v: Variant, inv: LabInventory, i: number, pki: Awaited<ReturnType<typeof pkiOf>>) {
  const h = inv.hosts[i];
  const t0 = process.hrtime.bigint();
  const conn = connectionSchema.parse({
    host: h.address,
    privateKey: readFileSync(h.privateKeyPath, "utf8"),
    hostKey: h.hostPublicKey,
  });
  const ssh = await v.ssh.SshSession.open(conn);
  try {
    const dir = `${inv.stateDir}/rtt/${v.name}/${h.name}`;
    const spec = {
      installDir: `${dir}/opt`,
      stateDir: `${dir}/state`,
      nodePath: process.execPath,
      listen: `${h.address}:7443`,
      serviceManager: "supervisor" as const,
      unitName: "netpersona-agent",
    };
    const b = v.install.bundleFiles();
    await v.install.preflight(ssh, spec, b.agent.length + b.supervisor.length, "auto");
    const cert = await issueAgentCert(pki.ca, { commonName: h.name, ips: [h.address] });
    if (v.name === "old") await v.install.stopService(ssh, spec);
    await v.install.upload(ssh, spec, { caPem: pki.ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem });
    await v.install.startService(ssh, spec);
    const { conn: agent } = await waitForAgent(
      {
        endpoint: spec.listen,
        caCertPem: pki.ca.certPem,
        clientCertPem: pki.client.certPem,
        clientKeyPem: pki.client.keyPem,
      },
      h.name,
    );
    agent.close();
    const counts = (ssh as { counts?: Counted["rtt"] }).counts ?? (ssh as Counted).rtt;
    return { ms: elapsedMs(t0), counts, spec };
  } finally {
    ssh.dispose();
  }
}

async function pkiOf() {
  const ca = await createCa({ commonName: "bootstrap bench" });
  return { ca, client: await issueClientCert(ca, { commonName: "bench" }) };
}

async function main(o: { hosts: number; repeat: number; old?: string }) {
  const variants = [variant("new", path.join(__dirname, ".."))];
  if (o.old) variants.push(variant("old", path.resolve(o.old)));
  const rows: Record<string, unknown>[] = [];
  await withLab("brtt", o.hosts, async (inv) => {
    const pki = await pkiOf();
    for (let r = 1; r <= o.repeat; r++) {
      for (const v of r % 2 ? variants : [...variants].reverse()) {
        const t0 = process.hrtime.bigint();
        const hosts = await Promise.all(inv.hosts.map((_, i) => bootstrap(v, inv, i, pki)));
        const wall = elapsedMs(t0);
        for (const x of hosts)
          await run(["pkill", "-f", `${x.spec.installDir}/netpersona-supervisor.js`], { check: false });
        const row = {
          variant: v.name,
          repeat: r,
          hosts: o.hosts,
          wallS: wall / 1000,
          hostMedianS: median(hosts.map((x) => x.ms)) / 1000,
          counts: hosts[0].counts ?? "not counted",
        };
        process.stderr.write(`${JSON.stringify(row)}\n`);
        rows.push(row);
      }
    }
  });
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

if (require.main === module) {
  const cmd = new Command("bootstrap-rtt")
    .option("--hosts <n>", "lab hosts bootstrapped at once", (v) => Number(v), 10)
    .option("--repeat <n>", "rounds (variants alternate their order)", (v) => Number(v), 3)
    .option("--old <dist>", "dist/ of an older build to compare in the same lab")
    .parse();
  main(cmd.opts()).then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`bootstrap-rtt: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
