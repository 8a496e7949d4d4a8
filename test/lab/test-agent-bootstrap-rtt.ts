// The bootstrap in three round trips per host (issue 14, item 2): one preflight command, one SFTP session
// (directories, exclusive temporary files, chmod and rename over SFTP), one start that stops a previous
// agent of the same install first. Real sshd in lab x14-boot; the checks the preflight replaced still refuse
// with the same messages (node missing, a directory others can write, a full disk).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";

import { preflight, startService, upload, type InstallSpec } from "../../provider/bootstrap/install";
import { MARKER } from "../../provider/bootstrap/paths";
import { cmdline } from "../../bench/proc";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";
import { agentProvider, waitForAgent } from "../../provider/resources/agent";
import { connectionSchema, SshSession } from "../../provider/ssh/connection";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, sshRun, type LabInventory } from "../lab-fixture";

const LAB = "x14-boot";

/** Supervisors of `installDir` running anywhere on the machine (lab hosts share the pid namespace). */
async function supervisors(installDir: string): Promise<number> {
  const ps = (await run(["pgrep", "-f", `${installDir}/netpersona-supervisor.js`], { check: false })).stdout;
  return ps.split("\n").filter((p) => p && cmdline(Number(p)).includes("--pid-file")).length;
}

describe("Agent bootstrap in 3 round trips (lab x14-boot)", function () {
  let inv: LabInventory;
  let ca: Awaited<ReturnType<typeof createCa>>;
  let client: Awaited<ReturnType<typeof issueClientCert>>;
  let ssh: SshSession;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    ca = await createCa({ commonName: "x14 CA" });
    client = await issueClientCert(ca, { commonName: "x14 client" });
    const h = inv.hosts[1];
    ssh = await SshSession.open(
      connectionSchema.parse({
        host: h.address,
        privateKey: readFileSync(h.privateKeyPath, "utf8"),
        hostKey: h.hostPublicKey,
      }),
    );
  });
  after(async () => {
    ssh?.dispose();
    await destroyLab(LAB);
  });

  const spec = (dir: string): InstallSpec => ({
    installDir: `${dir}/opt`,
    stateDir: `${dir}/state`,
    nodePath: process.execPath,
    listen: `${inv.hosts[1].address}:7443`,
    serviceManager: "supervisor",
    unitName: "netpersona-agent",
  });

  it("preflight, upload and start: 2 commands and 1 SFTP session; a re-run leaves one agent", async () => {
    const s = spec(`${inv.stateDir}/x14/h2`);
    const cert = await issueAgentCert(ca, { commonName: "x14 agent", ips: [inv.hosts[1].address] });
    for (let round = 1; round <= 2; round++) {
      const before = { ...ssh.counts };
      const pre = await preflight(ssh, s, 1 << 20, "auto");
      assert.equal(pre.nodeVersion, process.version);
      assert.equal(pre.serviceManager, "supervisor"); // a lab host is a namespace: never systemd
      await upload(ssh, s, { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem });
      await startService(ssh, s);
      assert.deepEqual(
        {
          commands: ssh.counts.commands - before.commands,
          sftpSessions: ssh.counts.sftpSessions - before.sftpSessions,
        },
        { commands: 2, sftpSessions: 1 },
        `round ${round}`,
      );
      const { conn, info } = await waitForAgent(
        {
          endpoint: s.listen,
          caCertPem: ca.certPem,
          clientCertPem: client.certPem,
          clientKeyPem: client.keyPem,
        },
        "x14",
      );
      conn.close();
      assert.equal(info.status, "SERVING");
      assert.equal(await supervisors(s.installDir), 1, `round ${round}: one supervisor`);
    }
    const st = (p: string) => run(["stat", "-c", "%a", p]).then((r) => r.stdout.trim());
    assert.deepEqual(
      await Promise.all([
        st(s.installDir),
        st(s.stateDir),
        st(`${s.installDir}/agent-key.pem`),
        st(`${s.installDir}/ca.pem`),
      ]),
      ["755", "700", "600", "644"],
    );
    assert.ok(existsSync(`${s.stateDir}/${MARKER}`));
    // No temporary file left behind.
    assert.deepEqual(
      readdirSync(s.installDir).filter((f) => f.endsWith(".tmp")),
      [],
    );
    await run(["pkill", "-f", `${s.installDir}/netpersona-supervisor.js`], { check: false });
  });

  it("refuses what the old checks refused, with the same messages, writing nothing", async () => {
    const target = `root@${inv.hosts[1].address}:22`;
    const d = `${inv.stateDir}/x14/bad`;
    await assert.rejects(preflight(ssh, { ...spec(d), nodePath: "/nonexistent/node" }, 1, "auto"), {
      message: `node >= 20 is required on ${target} ('/nonexistent/node' not found): install Node.js 20 or newer there (e.g. apt-get install nodejs), or set nodePath to its location`,
    });
    const open = `${inv.stateDir}/x14/open`;
    mkdirSync(open, { recursive: true });
    await run(["chmod", "0757", open]);
    await assert.rejects(preflight(ssh, spec(open), 1, "auto"), {
      message: `installDir ${open}/opt is not safe on ${target}: ${open} is owned by root (uid 0) with mode 0757: it is writable by every user, so a user other than root could replace the agent's files (run as root), read its key or plant its pid file. Fix it (chown root:root ${open} && chmod go-w ${open}) or set installDir to a directory whose every component is owned by root and writable only by root, e.g. /opt/netpersona`,
    });
    const small = `${inv.stateDir}/x14/small`;
    mkdirSync(small);
    await sshRun(inv, inv.hosts[1], ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", small]);
    try {
      await assert.rejects(preflight(ssh, spec(small), 4 << 20, "auto"), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^not enough disk space on ${target.replace(/\./g, "\\.")}: \\d+ KiB free in ${small}, the agent needs \\d+ KiB`,
          ),
        );
        return true;
      });
    } finally {
      await sshRun(inv, inv.hosts[1], ["umount", small]);
      rmdirSync(small);
    }
    assert.deepEqual(readdirSync(open), []);
  });

  it("the Agent resource's create bootstraps through the same three steps", async () => {
    const h = inv.hosts[0];
    const dir = `${inv.stateDir}/x14/h1`;
    const outs = await agentProvider.create!({
      connection: {
        host: h.address,
        user: h.user,
        privateKey: readFileSync(h.privateKeyPath, "utf8"),
        hostKey: h.hostPublicKey,
      },
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
      installDir: `${dir}/opt`,
      stateDir: `${dir}/state`,
    });
    assert.equal(outs.outs.resolvedServiceManager, "supervisor");
    assert.equal(await supervisors(`${dir}/opt`), 1);
    await agentProvider.delete!(outs.id, outs.outs);
    assert.equal(await supervisors(`${dir}/opt`), 0);
  });
});
