// Remote files, secret commands and the insecure host-key mode against a real lab sshd (issue 13, items 4-6;
// root, lab "x13f"), and a full state directory on a real (tiny) file system.
// - A secret command's failure names only its program, its size and its exit status.
// - Uploads go to random temporary names created exclusively: a symbolic link planted at the old predictable
//   name or at the temporary path itself is never followed.
// - installDir/stateDir: a component writable by others, owned by another user, or reached through a link
//   into /tmp is refused before anything is written; system directories are refused in `check`.
// - Delete removes only directories carrying the marker file; a non-agent directory is refused.
// - insecureSkipHostKeyCheck warns with the fingerprint seen, refuses password login, never covers the
//   bastion; a mismatch names both fingerprints (as ssh-keygen -l prints them).
// - ENOSPC: the directory, the fix, and no temporary file left behind.
import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { writeFileAtomic } from "../../provider/agent/host/atomic";
import { MARKER, assertSafeDirs } from "../../provider/bootstrap/paths";
import { removeFiles, upload, type InstallSpec } from "../../provider/bootstrap/install";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";
import { agentProvider } from "../../provider/resources/agent";
import { connectionSchema, fingerprint, SshSession, type Connection } from "../../provider/ssh/connection";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

const LAB = "x13f";

describe("security: remote files, secret commands, insecure mode (lab x13f, real sshd)", function () {
  let inv: LabInventory;
  let ssh: SshSession;
  let conn: Connection;
  let key: string;
  let t: string; // a root-owned 0700 scratch directory of the lab
  let target: string;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    const h = inv.hosts[0];
    key = readFileSync(h.privateKeyPath, "utf8");
    conn = connectionSchema.parse({ host: h.address, privateKey: key, hostKey: h.hostPublicKey });
    ssh = await SshSession.open(conn);
    target = `root@${h.address}:22`;
    t = join(inv.stateDir, "x13");
    mkdirSync(t, { mode: 0o700 });
  });

  after(async () => {
    ssh?.dispose();
    await destroyLab(LAB);
  });

  describe("secret commands", () => {
    it("a failure names the program, the number of arguments and the exit status, nothing else", async () => {
      const argv = ["sh", "-c", "echo OUT''PUT >&2; exit 3", "TOKEN=hunter2"];
      await assert.rejects(ssh.run(argv, { secret: true }), {
        name: "SshError",
        message: `on ${target}: \`sh\` with 3 arguments (secret: command line and output not shown) failed (exit 3)`,
      });
      // Without `secret`, the same failure shows the command and its output (what must not leak above).
      await assert.rejects(ssh.run(argv), (err: Error) => {
        assert.match(err.message, /TOKEN=hunter2/);
        assert.match(err.message, /OUTPUT$/);
        return true;
      });
      // A whole shell line as argv[0] is not shown either.
      await assert.rejects(ssh.run(["curl -H 'Authorization: x' http://h", "y"], { secret: true }), {
        message: `on ${target}: the program with 1 argument (secret: command line and output not shown) failed (exit 127)`,
      });
    });
  });

  describe("uploads", () => {
    it("never follows a symbolic link planted at the old predictable temporary name", async () => {
      const victim = join(t, "victim");
      writeFileSync(victim, "untouched\n");
      const path = join(t, "agent.pem");
      await run(["ln", "-s", victim, `${path}.tmp-${process.pid}`]);
      await ssh.writeFile(path, "CERT\n", "0600");
      assert.equal(readFileSync(victim, "utf8"), "untouched\n");
      assert.equal(readFileSync(path, "utf8"), "CERT\n");
      assert.equal((await run(["stat", "-c", "%a %F", path])).stdout.trim(), "600 regular file");
      // Only the file, the victim and the planted link: no temporary file left.
      assert.deepEqual(readdirSync(t).sort(), ["agent.pem", `agent.pem.tmp-${process.pid}`, "victim"]);
    });

    it("refuses to create a file exclusively where a symbolic link (even a dangling one) already is", async () => {
      const victim = join(t, "victim2");
      writeFileSync(victim, "untouched\n");
      await run(["ln", "-s", victim, join(t, "link")]);
      await run(["ln", "-s", join(t, "absent"), join(t, "dangling")]);
      await assert.rejects(ssh.createExclusive(join(t, "link"), "X", "0600"), {
        message: new RegExp(
          `^on ${target.replace(/\./g, "\\.")}: could not create ${join(t, "link")} exclusively \\(.*\\): something is already there \\(a file or a symbolic link\\): remove it if it is stale$`,
        ),
      });
      await assert.rejects(ssh.createExclusive(join(t, "dangling"), "X", "0600"), /exclusively/);
      assert.equal(readFileSync(victim, "utf8"), "untouched\n");
      assert.equal((await run(["test", "-e", join(t, "absent")], { check: false })).code, 1);
    });

    it("replaces a symbolic link at the destination instead of writing through it", async () => {
      const victim = join(t, "victim3");
      writeFileSync(victim, "untouched\n");
      await run(["ln", "-s", victim, join(t, "ca.pem")]);
      await ssh.writeFile(join(t, "ca.pem"), "CA\n", "0644");
      assert.equal(readFileSync(victim, "utf8"), "untouched\n");
      assert.equal((await run(["stat", "-c", "%F", join(t, "ca.pem")])).stdout.trim(), "regular file");
    });
  });

  describe("installDir and stateDir on the host", () => {
    const msg = (field: string, path: string, what: string, comp: string) =>
      `${field} ${path} is not safe on ${target}: ${what}, so a user other than root could replace the agent's files (run as root), read its key or plant its pid file. Fix it (chown root:root ${comp} && chmod go-w ${comp}) or set ${field} to a directory whose every component is owned by root and writable only by root, e.g. /opt/netpersona`;

    it("refuses a parent writable by other users, naming it, its owner and mode, and the fix", async () => {
      const open = join(t, "open");
      mkdirSync(open);
      await run(["chmod", "0777", open]);
      await assert.rejects(assertSafeDirs(ssh, { installDir: `${open}/opt`, stateDir: `${t}/state` }), {
        message: msg(
          "installDir",
          `${open}/opt`,
          `${open} is owned by root (uid 0) with mode 0777: it is writable by its group and every user`,
          open,
        ),
      });
    });

    it("refuses a component owned by another user, and a link into /tmp", async () => {
      const theirs = join(t, "theirs");
      mkdirSync(theirs, { mode: 0o755 });
      await run(["chown", "65534", theirs]);
      await assert.rejects(assertSafeDirs(ssh, { installDir: `${t}/i`, stateDir: `${theirs}/state` }), {
        message: msg(
          "stateDir",
          `${theirs}/state`,
          `${theirs} is owned by nobody (uid 65534) with mode 0755: it is not owned by root`,
          theirs,
        ),
      });
      await run(["ln", "-s", "/tmp", join(t, "tmplink")]);
      await assert.rejects(
        assertSafeDirs(ssh, { installDir: `${t}/tmplink/np`, stateDir: `${t}/s` }),
        (err: Error) => {
          assert.match(
            err.message,
            /^installDir \S+\/tmplink\/np is not safe on .*: \/tmp is owned by root \(uid 0\) with mode 1777: it is writable by its group and every user/,
          );
          return true;
        },
      );
      await assertSafeDirs(ssh, { installDir: `${t}/ok/opt`, stateDir: `${t}/ok/state` }); // root 0700: fine
    });

    it("an Agent whose installDir is user-writable fails before anything is written", async () => {
      const ca = await createCa({ commonName: "x13 CA" });
      const client = await issueClientCert(ca, { commonName: "x13 client" });
      const open = join(t, "open2");
      mkdirSync(open);
      await run(["chmod", "0757", open]);
      await assert.rejects(
        agentProvider.create!({
          connection: { ...conn, dialErrorLimit: 1 },
          caCertPem: ca.certPem,
          caKeyPem: ca.keyPem,
          clientCertPem: client.certPem,
          clientKeyPem: client.keyPem,
          installDir: `${open}/opt`,
          stateDir: `${open}/state`,
        }),
        {
          message: msg(
            "installDir",
            `${open}/opt`,
            `${open} is owned by root (uid 0) with mode 0757: it is writable by every user`,
            open,
          ),
        },
      );
      assert.deepEqual(readdirSync(open), []);
    });

    it("check refuses system directories by field", async () => {
      const r = await agentProvider.check!(
        {},
        {
          connection: { host: "10.0.0.1", privateKey: "k", hostKey: inv.hosts[0].hostPublicKey },
          caCertPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          caKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          clientCertPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          clientKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          installDir: "/etc",
          stateDir: "/tmp/np",
        },
      );
      assert.deepEqual(r.failures, [
        {
          property: "installDir",
          reason:
            "/etc is a system directory, and deleting the Agent removes this directory: give the agent a directory of its own, e.g. /opt/netpersona or /var/lib/netpersona",
        },
        {
          property: "stateDir",
          reason:
            "/tmp/np is under /tmp, which is not a place for the agent's files: use a directory of its own, e.g. /opt/netpersona or /var/lib/netpersona",
        },
      ]);
    });
  });

  describe("delete", () => {
    const spec = (d: string): InstallSpec => ({
      installDir: `${d}/opt`,
      stateDir: `${d}/state`,
      nodePath: "node",
      listen: "127.0.0.1:7443",
      serviceManager: "supervisor",
      unitName: "netpersona-agent",
    });

    it("refuses a directory without the agent's marker, leaving everything in place", async () => {
      const d = join(t, "notagent");
      mkdirSync(`${d}/opt`, { recursive: true });
      mkdirSync(`${d}/state`);
      writeFileSync(`${d}/opt/precious`, "data\n");
      await assert.rejects(removeFiles(ssh, spec(d)), {
        message: `refusing to delete installDir ${d}/opt on ${target}: it has no ${MARKER} marker file, so the netpersona install did not make it (or made it before markers existed). If it really is only the agent's, create the marker (touch ${d}/opt/${MARKER}) and delete again; otherwise remove the Agent from the stack without touching the host (pulumi state delete URN)`,
      });
      assert.equal(readFileSync(`${d}/opt/precious`, "utf8"), "data\n");
      // A system directory is refused by name even if someone put a marker there.
      await assert.rejects(removeFiles(ssh, { ...spec(d), installDir: "/etc" }), {
        message: `refusing to delete installDir on ${target}: /etc is a system directory, and deleting the Agent removes this directory: give the agent a directory of its own, e.g. /opt/netpersona or /var/lib/netpersona`,
      });
    });

    it("the Agent's delete refuses a non-agent directory before stopping anything", async () => {
      const d = join(t, "notagent2");
      mkdirSync(`${d}/opt`, { recursive: true });
      writeFileSync(`${d}/opt/precious`, "data\n");
      await assert.rejects(
        agentProvider.delete!("agent-x", {
          connection: { ...conn },
          caCertPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          caKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          clientCertPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          clientKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          installDir: `${d}/opt`,
          stateDir: `${d}/state`,
          resolvedServiceManager: "supervisor",
        }),
        {
          message:
            /^refusing to delete installDir .*notagent2\/opt on .*: it has no \.netpersona-agent marker file/,
        },
      );
      assert.equal(readFileSync(`${d}/opt/precious`, "utf8"), "data\n");
    });

    it("removes what the install made (marker present); an absent directory is no error", async () => {
      const d = join(t, "agent");
      const ca = await createCa({ commonName: "x13 CA" });
      const cert = await issueAgentCert(ca, { commonName: "x13 agent", ips: ["127.0.0.1"] });
      await upload(ssh, spec(d), { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem });
      assert.equal(readFileSync(`${d}/opt/${MARKER}`, "utf8").length > 0, true);
      assert.equal((await run(["stat", "-c", "%a", `${d}/opt`, `${d}/state`])).stdout, "755\n700\n");
      assert.equal((await run(["stat", "-c", "%a", `${d}/opt/agent-key.pem`])).stdout, "600\n");
      await removeFiles(ssh, spec(d));
      assert.deepEqual(readdirSync(d), []);
      await removeFiles(ssh, spec(d));
    });
  });

  describe("insecureSkipHostKeyCheck and host-key fingerprints", () => {
    const keygenFingerprint = async (line: string) => {
      const f = join(t, `k${Math.random().toString(16).slice(2)}.pub`);
      writeFileSync(f, `${line}\n`);
      // "256 SHA256:abc... comment (ED25519)"
      return (await run(["ssh-keygen", "-lf", f])).stdout.split(" ")[1];
    };

    it("warns on every connection with the fingerprint seen, as ssh-keygen -l prints it", async () => {
      const h = inv.hosts[0];
      const lines: string[] = [];
      const c = connectionSchema.parse({ host: h.address, privateKey: key, insecureSkipHostKeyCheck: true });
      for (let i = 0; i < 2; i++) (await SshSession.open(c, (l) => lines.push(l))).dispose();
      const fp = await keygenFingerprint(h.hostPublicKey);
      const [type, b64] = h.hostPublicKey.split(" ");
      const warning = `WARNING: insecureSkipHostKeyCheck: accepted ${h.address}:22's host key ${type} ${fp} WITHOUT verifying it; anyone on the path could have answered instead. Verify it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and pin it: hostKey: "${type} ${b64}"`;
      assert.deepEqual(lines, [warning, warning]);
      assert.equal(fingerprint(b64), `${type} ${fp}`);
    });

    it("refuses password login in that mode (check, and the dial itself)", async () => {
      const h = inv.hosts[0];
      const r = connectionSchema.safeParse({
        host: h.address,
        password: "pw",
        insecureSkipHostKeyCheck: true,
      });
      assert.equal(r.success, false);
      assert.deepEqual(
        r.error!.issues.map((i) => [i.path.join("."), i.message]),
        [
          [
            "password",
            "password login is refused with insecureSkipHostKeyCheck: an unverified host may be a man-in-the-middle that records the password; pin hostKey, or log in with privateKey",
          ],
        ],
      );
      // Past the schema (a program that builds a Connection by hand): the password is never sent.
      const forced = {
        ...connectionSchema.parse({ host: h.address, privateKey: key, insecureSkipHostKeyCheck: true }),
        password: "pw",
      };
      await assert.rejects(SshSession.open(forced), {
        message: `password login to ${h.address}:22 is refused with insecureSkipHostKeyCheck: pin hostKey or log in with privateKey`,
      });
    });

    it("keeps the bastion pinned: check requires its key, and a wrong one is refused in insecure mode", async () => {
      const [h1, h2] = inv.hosts;
      const r = connectionSchema.safeParse({
        host: h2.address,
        privateKey: key,
        insecureSkipHostKeyCheck: true,
        proxy: { host: h1.address, privateKey: key },
      });
      assert.deepEqual(
        r.error?.issues.map((i) => [i.path.join("."), i.message]),
        [
          [
            "proxy.hostKey",
            "pin the bastion's host key (ssh-keyscan -t ed25519 BASTION): insecureSkipHostKeyCheck never applies to the bastion",
          ],
        ],
      );
      const lines: string[] = [];
      const wrong = connectionSchema.parse({
        host: h2.address,
        privateKey: key,
        insecureSkipHostKeyCheck: true,
        proxy: { host: h1.address, privateKey: key, hostKey: h2.hostPublicKey },
      });
      await assert.rejects(
        SshSession.open(wrong, (l) => lines.push(l)),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(`^host key mismatch for ${h1.address.replace(/\./g, "\\.")}:22: `),
          );
          return true;
        },
      );
      assert.equal(lines.length, 0); // no dial of the target, no warning
      // The right bastion key: the target (not pinned) is accepted with the warning.
      const ok = connectionSchema.parse({ ...wrong, proxy: { ...wrong.proxy, hostKey: h1.hostPublicKey } });
      (await SshSession.open(ok, (l) => lines.push(l))).dispose();
      assert.equal(lines.length, 1);
      assert.match(
        lines[0],
        new RegExp(
          `^WARNING: insecureSkipHostKeyCheck: accepted ${h2.address.replace(/\./g, "\\.")}:22's host key ssh-ed25519 SHA256:`,
        ),
      );
    });

    it("a mismatch names the presented and the pinned fingerprints", async () => {
      const [h1, h2] = inv.hosts;
      const c = connectionSchema.parse({ host: h1.address, privateKey: key, hostKey: h2.hostPublicKey });
      const presented = await keygenFingerprint(h1.hostPublicKey);
      const pinned = await keygenFingerprint(h2.hostPublicKey);
      await assert.rejects(SshSession.open(c), {
        message: `host key mismatch for ${h1.address}:22: the host presented ssh-ed25519 ${presented}, the pinned hostKey is ssh-ed25519 ${pinned} (possible man-in-the-middle, or the host was rebuilt: verify the presented key out of band, e.g. ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host, and update hostKey)`,
      });
    });
  });

  describe("a full state directory", () => {
    it("says which directory is full and what to do, and leaves no temporary file", async () => {
      const dir = mkdtempSync(join(t, "full-"));
      await run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir]);
      try {
        const state = join(dir, "state.json");
        await writeFileAtomic(state, "{}\n", 0o600);
        await run(["sh", "-c", `cat /dev/zero > ${dir}/filler`], { check: false }); // fills it up
        await assert.rejects(writeFileAtomic(state, "x".repeat(64 * 1024), 0o600), {
          code: "ENOSPC",
          message: `no space left in ${dir} while writing state.json: the previous file is intact. Free space on that file system (df -h ${dir}) and retry; for the agent's own state, stateDir can also move to another file system`,
        });
        assert.equal(readFileSync(state, "utf8"), "{}\n");
        assert.deepEqual(readdirSync(dir).sort(), ["filler", "state.json"]);
      } finally {
        await run(["umount", dir]);
      }
    });
  });
});
