// The lab from the inside: addresses and routes read back from the kernel, ssh with the pinned host key
// (and refused with another), router-only paths between networks, DNS responders, the CLI's inventory.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { labStatus, labUp, type LabStatus } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import { labAgentArgs } from "../../sdk";
import { createLab, destroyLab, host, sshRun, type LabInventory } from "../lab-fixture";

const LAB = "npl-t1";
const CLI = path.join(__dirname, "..", "..", "..", "bin", "netpersona");

function ttlOf(pingOutput: string): number {
  const m = /ttl=(\d+)/.exec(pingOutput);
  assert.ok(m, `no reply in: ${pingOutput}`);
  return Number(m[1]);
}

describe("lab: hosts with real sshd joined by a router", function () {
  let inv: LabInventory;
  let tmp: string;

  before(async function () {
    tmp = await mkdtemp(path.join(os.tmpdir(), "npl-"));
    inv = await createLab({ name: LAB, hosts: 3, networks: 2 });
  });
  after(async function () {
    await destroyLab(LAB);
    await rm(tmp, { recursive: true, force: true });
  });

  it("gives every host its namespace, address, default route via the router and resolv.conf", async function () {
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.network]),
      [
        ["h1", "source"],
        ["h2", "destination"],
        ["h3", "source"],
      ],
    );
    for (const h of inv.hosts) {
      const addr = (await run(["ip", "-n", h.netns, "-4", "-o", "addr", "show", "dev", h.ifname])).stdout;
      assert.match(addr, new RegExp(`inet ${h.address.replace(/\./g, "\\.")}/24 `));
      const route = (await run(["ip", "-n", h.netns, "route", "show", "default"])).stdout.trim();
      assert.equal(route, `default via ${h.gateway} dev ${h.ifname}`);
      const resolv = await readFile(`/etc/netns/${h.netns}/resolv.conf`, "utf8");
      assert.deepEqual(
        resolv.split("\n").filter((l) => l.startsWith("nameserver")),
        h.dns.map((d) => `nameserver ${d}`),
      );
      const fp = (
        await run([
          "ssh-keygen",
          "-l",
          "-E",
          "sha256",
          "-f",
          `${inv.stateDir}/hosts/${h.name}/ssh_host_ed25519_key.pub`,
        ])
      ).stdout;
      assert.equal(fp.split(/\s+/)[1], h.hostKeyFingerprint);
    }
    assert.deepEqual(
      inv.router.addresses.map((a) => a.address),
      inv.networks.map((n) => n.gateway),
    );
  });

  it("logs in with the inventory key and the pinned host key, from the root namespace and from another host", async function () {
    const h2 = host(inv, "h2");
    const fromRoot = await sshRun(inv, h2, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    assert.match(fromRoot.stdout, new RegExp(`inet ${h2.address.replace(/\./g, "\\.")}/24`));
    const fromH1 = await sshRun(inv, h2, ["cat", "/etc/resolv.conf"], { netns: host(inv, "h1").netns });
    assert.match(fromH1.stdout, new RegExp(`^nameserver ${h2.dns[0].replace(/\./g, "\\.")}$`, "m"));
  });

  it("refuses a host whose key is not the pinned one", async function () {
    const h1 = host(inv, "h1");
    const h2 = host(inv, "h2");
    const wrong = path.join(tmp, "known_hosts_wrong");
    await writeFile(wrong, `${h2.address} ${h1.hostPublicKey}\n`);
    const r = await sshRun(inv, h2, ["true"], { knownHosts: wrong, check: false });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it("joins hosts on different networks only through the router", async function () {
    const [h1, h2, h3] = ["h1", "h2", "h3"].map((n) => host(inv, n));
    assert.equal(
      ttlOf((await run(["ping", "-c", "1", "-W", "2", h3.address], { netns: h1.netns })).stdout),
      64,
    );
    assert.equal(
      ttlOf((await run(["ping", "-c", "1", "-W", "2", h2.address], { netns: h1.netns })).stdout),
      63,
    );
    const via = (await run(["ip", "-n", h1.netns, "route", "get", h2.address])).stdout;
    assert.match(via, new RegExp(`via ${h1.gateway.replace(/\./g, "\\.")} dev eth0`));
    const r = inv.router.netns;
    await run(["ip", "netns", "exec", r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
    try {
      const cut = await run(["ping", "-c", "2", "-W", "1", h2.address], { netns: h1.netns, check: false });
      assert.match(cut.stdout, /2 packets transmitted, 0 received/);
      const same = await run(["ping", "-c", "1", "-W", "2", h3.address], { netns: h1.netns });
      assert.match(same.stdout, /1 received/);
    } finally {
      await run(["ip", "netns", "exec", r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    }
    assert.match(
      (await run(["ping", "-c", "1", "-W", "2", h2.address], { netns: h1.netns })).stdout,
      /1 received/,
    );
  });

  it("answers lab names from each network's DNS responder, own network first", async function () {
    const h1 = host(inv, "h1");
    const got = await run(["getent", "ahostsv4", `h2.${LAB}.lab`], { netns: h1.netns });
    assert.equal(got.stdout.split(/\s+/)[0], host(inv, "h2").address);
    const who = await run(["getent", "ahostsv4", `resolver.${LAB}.lab`], { netns: h1.netns });
    assert.equal(who.stdout.split(/\s+/)[0], inv.networks[0].dns);
    const missing = await run(["getent", "ahostsv4", `nosuch.${LAB}.lab`], { netns: h1.netns, check: false });
    assert.equal(missing.code, 2);
  });

  it("prints the inventory with `lab status --json` and the impairments it carries", async function () {
    const out = await run([process.execPath, CLI, "lab", "status", "--name", LAB, "--json"]);
    const st = JSON.parse(out.stdout);
    assert.deepEqual(st, JSON.parse(JSON.stringify(await labStatus(LAB))));
    assert.deepEqual(st.sshdDown, []);
    assert.deepEqual(st.impairments, []);
    assert.equal(st.hosts[1].privateKeyPath, `${inv.stateDir}/id_ed25519`);
  });

  it("lists per host in `lab status --json` the agentDir and resolvConfPath that labAgentArgs uses", async function () {
    const out = await run([process.execPath, CLI, "lab", "status", "--name", LAB, "--json"]);
    const st = JSON.parse(out.stdout) as LabStatus;
    for (const [i, h] of inv.hosts.entries()) {
      const listed = st.hosts[i];
      assert.equal(listed.name, h.name);
      assert.equal(listed.agentDir, `${inv.stateDir}/agents/${h.name}`);
      assert.equal(listed.resolvConfPath, `/etc/netns/${h.netns}/resolv.conf`);
      // The host's DNS servers are in that file: it is the one `ip netns exec` binds over /etc/resolv.conf.
      const resolv = await readFile(listed.resolvConfPath, "utf8");
      assert.match(resolv, new RegExp(`^nameserver ${h.dns[0].replace(/\./g, "\\.")}$`, "m"));
      // What a TypeScript program gets from labAgentArgs, from the same definition.
      const args = labAgentArgs(inv, h);
      assert.equal(args.installDir, `${listed.agentDir}/opt`);
      assert.equal(args.stateDir, `${listed.agentDir}/state`);
      assert.equal(args.resolvConfPath, listed.resolvConfPath);
    }
    // The inventory file itself is unchanged: the paths are derived, not stored.
    assert.equal("agentDir" in inv.hosts[0], false);
  });

  it("refuses a second lab of the same name without touching the first", async function () {
    await assert.rejects(labUp({ name: LAB, hosts: 1 }), /exist already.*lab down --name npl-t1/);
    assert.deepEqual((await labStatus(LAB)).sshdDown, []);
  });
});

describe("lab: clear errors before any command runs", function () {
  it("validates names and counts", async function () {
    await assert.rejects(labUp({ name: "Bad;rm", hosts: 2 }), /--name: 'Bad;rm' is not a valid name/);
    await assert.rejects(
      labUp({ name: "npl-ok", hosts: 0 }),
      /--hosts: '0' must be a whole number from 1 to 200/,
    );
    await assert.rejects(labUp({ name: "npl-ok", hosts: 2, networks: 9 }), /--networks: '9'/);
    await assert.rejects(labStatus("npl-none"), /no lab named 'npl-none' is up/);
  });

  it("names the fix without root, and for a missing tool, with no stack trace", async function () {
    const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"];
    const r = await run(
      [...asNobody, process.execPath, CLI, "lab", "up", "--name", "npl-x", "--hosts", "1"],
      { check: false },
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "netpersona: lab up needs root (missing CAP_NET_ADMIN and CAP_SYS_ADMIN: network namespaces, links and nftables are kernel state): run it as root, e.g. 'sudo netpersona lab ...'\n",
    );
    const t = await run([process.execPath, CLI, "lab", "up", "--name", "npl-x", "--hosts", "1"], {
      check: false,
      env: { ...process.env, PATH: "/nonexistent" },
    });
    assert.equal(t.code, 1);
    assert.equal(
      t.stderr,
      "netpersona: missing tool 'ip' (Debian package iproute2): install it with 'apt-get install -y iproute2' or run 'make system-deps'\n",
    );
  });
});
