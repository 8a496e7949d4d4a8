// `netpersona export` / `netpersona import` (issue 17, parts 3 and 4), validated by the real tools:
// nmstatectl gc (nmstate 2.2.62, built by scripts/integration-deps.sh) renders the nmstate export into
// NetworkManager keyfiles; `netplan generate --root-dir` (Debian netplan.io) renders the netplan export into
// systemd-networkd units, which must carry the same settings as our own networkd export; every `Section.Key`
// of the networkd export is one that Debian's systemd-networkd binary knows (its gperf table). Round trips
// export -> import give the persona back (less what the format cannot hold, said). Import from the live kernel
// through a real agent (lab nmsf).
import { strict as assert } from "node:assert";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

import { parse as parseYaml, stringify } from "yaml";

import { exportPersona, importPersona } from "../../provider/formats";
import type { Persona } from "../../provider/persona/schema";
import { validatePersona } from "../../provider/persona/validate";
import { run } from "../../provider/util/exec";
import * as fx from "../fixtures/session-agents";

const ROOT = join(__dirname, "..", "..", "..");
const CLI = [process.execPath, join(ROOT, "bin", "netpersona")];
const NMSTATECTL = join(
  process.env.NETPERSONA_CACHE ?? join(homedir(), ".cache", "netpersona"),
  "nmstatectl-2.2.62",
  "bin",
  "nmstatectl",
);

function persona(input: unknown): Persona {
  const v = validatePersona(input);
  if (!v.ok) throw new Error(JSON.stringify(v.failures));
  return v.value;
}

const FULL = persona({
  congestionControl: "bbr",
  mtu: 1400,
  mtuScope: "both",
  qos: { class: "telephony" },
  dns: { servers: ["10.0.0.53", "10.0.0.54"], search: ["corp.example"], options: ["timeout:1"] },
  routes: {
    preferredGateway: "10.0.0.254",
    preferredDevice: "eth0",
    metric: 50,
    prefixes: [
      { prefix: "10.20.0.0/16", via: "10.0.0.1", metric: 100 },
      { prefix: "192.168.50.0/24", via: "192.168.1.1", dev: "eth1" },
    ],
  },
});
/** What nmstate and netplan can hold of FULL: no QoS, no congestion control, no DNS options in netplan. */
const { qos: _q, congestionControl: _c, ...EXPRESSIBLE } = FULL;

describe("export and import: nmstate, netplan, networkd (real nmstatectl, netplan, systemd-networkd)", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "nms-formats-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("nmstate: nmstatectl gc renders the export into a NetworkManager keyfile with the MTU, routes and DNS", async function () {
    assert.ok(
      existsSync(NMSTATECTL),
      `${NMSTATECTL} is missing: run scripts/integration-deps.sh (make system-deps), which builds it with cargo`,
    );
    const e = exportPersona(FULL, "nmstate", "eth0");
    assert.deepEqual(e.notes.length, 4, e.notes.join("\n"));
    assert.match(
      e.notes.join("\n"),
      /congestionControl bbr: nmstate and NetworkManager have no per-route congestion control/,
    );
    // The host's current addressing, which `nmstatectl apply` would merge in (a persona has none).
    const doc = parseYaml(e.files[0].text) as { interfaces: Record<string, unknown>[] };
    doc.interfaces[0].ipv4 = { enabled: true, address: [{ ip: "10.0.0.10", "prefix-length": 24 }] };
    doc.interfaces[1].ipv4 = { enabled: true, address: [{ ip: "192.168.1.10", "prefix-length": 24 }] };
    await writeFile(join(dir, "state.yml"), stringify(doc));
    const gc = await run([NMSTATECTL, "gc", join(dir, "state.yml")]);
    const files = parseYaml(gc.stdout) as { NetworkManager: [string, string][] };
    const keyfile = Object.fromEntries(files.NetworkManager)["eth0.nmconnection"];
    for (const line of [
      "interface-name=eth0",
      "mtu=1400",
      "dns=10.0.0.53;10.0.0.54",
      "dns-search=corp.example",
      "dns-options=timeout:1",
      "route0=0.0.0.0/0,10.0.0.254,50",
      "route0_options=table=254,mtu=1400",
      "route1=10.20.0.0/16,10.0.0.1,100",
      "route1_options=table=254,mtu=1400",
    ])
      assert.ok(keyfile.split("\n").includes(line), `${line}\n${keyfile}`);
    assert.match(
      Object.fromEntries(files.NetworkManager)["eth1.nmconnection"],
      /^route0=192\.168\.50\.0\/24,192\.168\.1\.1,0\nroute0_options=table=254,mtu=1400$/m,
    );
  });

  it("nmstate round trip: export -> import gives the persona back, less QoS and congestion control", () => {
    const e = exportPersona(FULL, "nmstate", "eth0");
    const back = importPersona(e.files[0].text, "nmstate");
    assert.deepEqual(back.persona, EXPRESSIBLE);
    assert.deepEqual(back.notes, []);
  });

  it("netplan: netplan generate renders the export into networkd units with the same settings as our networkd export", async () => {
    const np = exportPersona(FULL, "netplan", "eth0");
    const root = join(dir, "netplan-root");
    await mkdir(join(root, "etc", "netplan"), { recursive: true });
    await writeFile(join(root, "etc", "netplan", np.files[0].name), np.files[0].text, { mode: 0o600 });
    await run(["netplan", "generate", "--root-dir", root]);
    const unitDir = join(root, "run", "systemd", "network");
    const eth0 = await readFile(join(unitDir, "10-netplan-eth0.network"), "utf8");
    const sections = (text: string) =>
      text
        .split("\n")
        .filter((l) => /^(\[|MTUBytes|DNS=|Domains|Destination|Gateway|Metric)/.test(l))
        .join("\n");
    const ours = exportPersona(FULL, "networkd", "eth0").files.find(
      (f) => f.name === "50-netpersona-eth0.network",
    )!;
    // netplan sorts nothing: both list [Match], [Link], [Network] (DNS, Domains), then one [Route] per route.
    assert.equal(sections(eth0), sections(ours.text));
    assert.deepEqual((await readdir(unitDir)).filter((f) => f.endsWith(".network")).sort(), [
      "10-netplan-eth0.network",
      "10-netplan-eth1.network",
    ]);
    assert.match(
      await readFile(join(unitDir, "10-netplan-eth1.network"), "utf8"),
      /Destination=192\.168\.50\.0\/24\nGateway=192\.168\.1\.1\nMTUBytes=1400/,
    );
  });

  it("netplan round trip: export -> import, less QoS, congestion control and DNS options", () => {
    const e = exportPersona(FULL, "netplan", "eth0");
    const back = importPersona(e.files[0].text, "netplan");
    assert.deepEqual(back.persona, { ...EXPRESSIBLE, dns: { ...EXPRESSIBLE.dns!, options: [] } });
  });

  it("networkd: every Section.Key of the export is one systemd-networkd knows (Debian 12's binary)", async () => {
    const { stdout } = await run(["strings", "/lib/systemd/systemd-networkd"], {
      maxBuffer: 64 << 20,
    } as never);
    const known = new Set(stdout.split("\n"));
    for (const f of exportPersona(FULL, "networkd", "eth0").files) {
      let section = "";
      for (const line of f.text.split("\n")) {
        const head = /^\[(\w+)\]$/.exec(line);
        if (head) section = head[1];
        const kv = /^(\w+)=/.exec(line);
        if (kv && section !== "Match")
          assert.ok(known.has(`${section}.${kv[1]}`), `${section}.${kv[1]} in ${f.name}`);
      }
    }
    assert.ok(
      known.has("Route.TCPCongestionControlAlgorithm"),
      "systemd 252 carries congestion control per route",
    );
  });

  it("import says what a persona cannot hold: addresses, DHCP, other tables, a bond", () => {
    const r = importPersona(
      [
        "network:",
        "  version: 2",
        "  ethernets:",
        "    eth0:",
        "      dhcp4: true",
        "      mtu: 9000",
        "      routes:",
        "        - {to: 10.9.0.0/16, via: 10.0.0.1, table: 100}",
        "        - {to: default, via: 10.0.0.254, metric: 10}",
        "  bonds:",
        "    bond0: {interfaces: [eth1, eth2]}",
      ].join("\n"),
      "netplan",
    );
    assert.deepEqual(r.persona, {
      mtu: 9000,
      mtuScope: "link",
      routes: { preferredGateway: "10.0.0.254", preferredDevice: "eth0", metric: 10, prefixes: [] },
    });
    assert.deepEqual(r.notes, [
      "eth0: addresses and DHCP are not part of a persona (left to the host's configuration)",
      "route 10.9.0.0/16 in table 100: a persona manages the main table only; left out",
      "bond0: a bond; a persona does not create interfaces",
    ]);
    assert.throws(() => importPersona("interfaces: [\n", "nmstate"), /^Error: not valid YAML/);
    assert.throws(() => importPersona("a: 1\n", "netplan"), /has no top-level `network:`/);
  });

  it("the CLI: export --out writes the files, import prints the persona, bad input is one clear line", async () => {
    await writeFile(join(dir, "p.json"), JSON.stringify(FULL));
    const out = join(dir, "out");
    const w = await run([
      ...CLI,
      "export",
      "--format",
      "networkd",
      "--persona",
      join(dir, "p.json"),
      "--out",
      out,
    ]);
    assert.equal(
      w.stdout,
      `wrote ${join(out, "50-netpersona-eth0.network")}\nwrote ${join(out, "50-netpersona-eth1.network")}\n`,
    );
    assert.match(w.stderr, /^not expressed in networkd: qos \(telephony\)/);
    const np = await run([...CLI, "export", "--format", "netplan", "--persona", join(dir, "p.json")]);
    await writeFile(join(dir, "np.yaml"), np.stdout);
    const back = await run([...CLI, "import", "--format", "netplan", join(dir, "np.yaml")]);
    assert.deepEqual(persona(JSON.parse(back.stdout)), {
      ...EXPRESSIBLE,
      dns: { ...EXPRESSIBLE.dns!, options: [] },
    });
    const bad = await run([...CLI, "export", "--format", "ifupdown", "--persona", join(dir, "p.json")], {
      check: false,
    });
    assert.deepEqual(
      [bad.code, bad.stderr],
      [1, "netpersona: --format: 'ifupdown' is not one of nmstate, netplan, networkd\n"],
    );
    await writeFile(join(dir, "nodev.json"), JSON.stringify({ mtu: 1400 }));
    const nodev = await run([...CLI, "export", "--format", "nmstate", "--persona", join(dir, "nodev.json")], {
      check: false,
    });
    assert.match(nodev.stderr, /--interface: the persona names no routes\.preferredDevice/);
  });
});

describe("import from the live kernel through an agent (lab nmsf)", function () {
  this.timeout(120_000);
  let lab: fx.SessionLab | undefined;
  let agent: fx.RunningAgent | undefined;
  before(async () => {
    lab = await fx.createSessionLab("nmsf");
    agent = await fx.startLabAgent(lab, lab.source);
  });
  after(async () => {
    await fx.killAgent(agent, "SIGTERM");
    await fx.destroySessionLab("nmsf", lab);
  });

  it("netpersona import --agent prints the live persona; exporting it to netplan and importing gives it back", async () => {
    const conn = fx.connect(lab!, agent!);
    try {
      await conn.applyPersona({ mtu: 1420, congestion_control: "bbr" }, 0);
    } finally {
      conn.close();
    }
    await writeFile(join(lab!.dir, "client.pem"), lab!.client.certPem);
    await writeFile(join(lab!.dir, "client.key"), lab!.client.keyPem, { mode: 0o600 });
    const r = await run([
      ...CLI,
      "import",
      "--agent",
      agent!.endpoint,
      "--ca",
      join(lab!.dir, "ca.pem"),
      "--cert",
      join(lab!.dir, "client.pem"),
      "--key",
      join(lab!.dir, "client.key"),
    ]);
    const live = persona(JSON.parse(r.stdout));
    assert.equal(live.mtu, 1420);
    assert.equal(live.congestionControl, "bbr");
    assert.ok(live.routes?.preferredGateway && live.routes.preferredDevice, r.stdout);
    const e = exportPersona(live, "netplan", live.routes!.preferredDevice!);
    const back = importPersona(e.files[0].text, "netplan").persona;
    const { congestionControl: _cc, qos: _qq, ...expressible } = live;
    assert.deepEqual(back, { ...expressible, ...(live.dns && { dns: { ...live.dns, options: [] } }) });
  });
});
