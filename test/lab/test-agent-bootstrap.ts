// Agent bootstrap errors against real lab hosts: each failure is one clear message naming the fix,
// and nothing is left half-installed. Also `check` on the Agent inputs, field by field.
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";

import * as fc from "fast-check";

import { createCa, issueClientCert } from "../../provider/pki";
import { agentProvider } from "../../provider/resources/agent";
import { connectionSchema, fingerprint, SshSession } from "../../provider/ssh/connection";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, sshRun, type LabInventory } from "../lab-fixture";

describe("Agent bootstrap over SSH (lab)", function () {
  const LAB = "aboot";
  let inv: LabInventory;
  let base: Record<string, unknown>;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    const ca = await createCa({ commonName: "test CA" });
    const client = await issueClientCert(ca, { commonName: "test client" });
    const h = inv.hosts[0];
    base = {
      connection: {
        host: h.address,
        user: h.user,
        privateKey: readFileSync(h.privateKeyPath, "utf8"),
        hostKey: h.hostPublicKey,
        dialErrorLimit: 2,
        perDialTimeout: 5,
      },
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
      installDir: `${inv.stateDir}/agents/h1/opt`,
      stateDir: `${inv.stateDir}/agents/h1/state`,
    };
  });

  after(async () => destroyLab(LAB));

  const create = (over: Record<string, unknown>) => agentProvider.create!({ ...base, ...over });
  const conn = (over: Record<string, unknown>) => ({
    connection: { ...(base.connection as object), ...over },
  });

  it("refuses a host whose key is not the pinned one, without retrying", async () => {
    const fp = (line: string) => fingerprint(line.split(" ")[1]);
    await assert.rejects(create(conn({ hostKey: inv.hosts[1].hostPublicKey })), {
      message: `host key mismatch for ${inv.hosts[0].address}:22: the host presented ${fp(inv.hosts[0].hostPublicKey)}, the pinned hostKey is ${fp(inv.hosts[1].hostPublicKey)} (possible man-in-the-middle, or the host was rebuilt: verify the presented key out of band, e.g. ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host, and update hostKey)`,
    });
  });

  it("names the fix when the key is refused", async () => {
    const other = await run([
      "ssh-keygen",
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      `${inv.stateDir}/other_key`,
    ]);
    assert.equal(other.code, 0);
    await assert.rejects(create(conn({ privateKey: readFileSync(`${inv.stateDir}/other_key`, "utf8") })), {
      message: `authentication refused for root@${inv.hosts[0].address}:22: check privateKey/password and that the key is in the user's authorized_keys`,
    });
  });

  it("reaches a host through a bastion, both host keys pinned", async () => {
    const [h1, h2] = inv.hosts;
    const key = readFileSync(h1.privateKeyPath, "utf8");
    const c = connectionSchema.parse({
      host: h2.address,
      privateKey: key,
      hostKey: h2.hostPublicKey,
      proxy: { host: h1.address, privateKey: key, hostKey: h1.hostPublicKey },
    });
    const ssh = await SshSession.open(c);
    try {
      // The session runs on h2; its SSH client is h1 (the bastion), not the root namespace.
      const r = await ssh.run(["sh", "-c", 'ip -br addr show eth0; echo "$SSH_CLIENT"']);
      const [addr, client] = r.stdout.trim().split("\n");
      assert.match(addr, new RegExp(`\\b${h2.address.replace(/\./g, "\\.")}/`));
      assert.equal(client.split(" ")[0], h1.address);
    } finally {
      ssh.dispose();
    }
    const wrongBastionKey = connectionSchema.parse({
      ...c,
      proxy: { ...c.proxy, hostKey: h2.hostPublicKey },
    });
    await assert.rejects(SshSession.open(wrongBastionKey), {
      message: /^host key mismatch for 10\.\d+\.\d+\.\d+:22/,
    });
  });

  it("names the fix when node is missing on the host", async () => {
    await assert.rejects(create({ nodePath: "/nonexistent/node" }), {
      message: `node >= 20 is required on root@${inv.hosts[0].address}:22 ('/nonexistent/node' not found): install Node.js 20 or newer there (e.g. apt-get install nodejs), or set nodePath to its location`,
    });
    assert.equal(
      existsSync(base.installDir as string),
      false,
      "nothing may be installed after a failed preflight",
    );
  });

  it("names the fix when the disk is full", async () => {
    // A tiny file system mounted on the host itself (its sshd has a mount namespace of its own).
    const small = `${inv.stateDir}/small`;
    mkdirSync(small);
    const h = inv.hosts[0];
    // mode=0755: a tmpfs is 1777 by default, which the install refuses (writable by every user).
    await sshRun(inv, h, ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", small]);
    try {
      await assert.rejects(
        create({ installDir: `${small}/opt`, stateDir: `${small}/state` }),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(
              `^not enough disk space on root@${inv.hosts[0].address.replace(/\./g, "\\.")}:22: \\d+ KiB free in ${small}, the agent needs \\d+ KiB: free some space or set installDir to another file system$`,
            ),
          );
          return true;
        },
      );
    } finally {
      await sshRun(inv, h, ["umount", small]);
      rmdirSync(small);
    }
  });
});

describe("Agent check", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
  const good = {
    connection: {
      host: "10.0.0.1",
      privateKey: "k",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyYAoz3",
    },
    caCertPem: pem,
    caKeyPem: key,
    clientCertPem: pem,
    clientKeyPem: key,
  };

  it("requires a pinned host key unless the insecure flag is set, naming the field", async () => {
    const { hostKey: _drop, ...noKey } = good.connection;
    const r = await agentProvider.check!({}, { ...good, connection: noKey });
    assert.deepEqual(r.failures, [
      {
        property: "connection.hostKey",
        reason:
          "the host key must be pinned: set hostKey to the host's public key (ssh-keyscan -t ed25519 HOST), or set insecureSkipHostKeyCheck: true for a throw-away host",
      },
    ]);
    const ok = await agentProvider.check!(
      {},
      { ...good, connection: { ...noKey, insecureSkipHostKeyCheck: true } },
    );
    assert.deepEqual(ok.failures, undefined);
  });

  it("refuses paths and names that could reach a command line", async () => {
    const r = await agentProvider.check!(
      {},
      { ...good, installDir: "/opt/x; rm -rf /", nodePath: "node --eval", port: 70000 },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["port", "installDir", "nodePath"],
    );
  });

  it("never crashes on random inputs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...Object.keys(good), "port", "installDir", "x"), fc.anything()),
        async (news) => {
          const r = await agentProvider.check!({}, news);
          for (const f of r.failures ?? []) assert.equal(typeof f.reason, "string");
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });
});
