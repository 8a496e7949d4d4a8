// Kernel-side appliers against real namespaces: each persona field applied and read back exactly, a second
// apply changes nothing, and restore returns the host to its exact snapshot.
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";

import { createHostController, type NetpersonaHostController } from "../../provider/agent/host/controller";
import type { HostSnapshot } from "../../provider/agent/host/api";
import { createTestbed, type Testbed } from "../fixtures/testbed";
import type { Persona } from "../../provider/persona/schema";
import { run } from "../../provider/util/exec";

/** Everything the tests compare, as the kernel tools print it (nft handles are allocation ids: dropped). */
async function dump(bed: Testbed, ctl: NetpersonaHostController) {
  const ns = { netns: bed.host };
  const text = async (argv: string[]) => (await run(argv, ns)).stdout;
  const resolv = await readFile(ctl.resolvConfPath).catch(() => Buffer.from("(absent)"));
  return {
    routeJson: await text(["ip", "-j", "route"]),
    routeText: await text(["ip", "-d", "route", "show", "table", "main"]),
    route6Text: await text(["ip", "-6", "-d", "route", "show", "table", "main"]),
    links: await text(["ip", "-j", "link"]),
    nft: (await text(["nft", "-j", "list", "ruleset"])).replace(/"handle": \d+, /g, ""),
    qdiscs: await text(["tc", "-j", "qdisc", "show"]),
    sysctl: await text(["sysctl", "-n", "net.ipv4.tcp_congestion_control"]),
    resolv: resolv.toString("base64"),
  };
}

const lines = async (bed: Testbed, argv: string[]) =>
  (await run(argv, { netns: bed.host })).stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

describe("host appliers (namespaces npa-a*)", function () {
  let bed: Testbed;
  let ctl: NetpersonaHostController;
  let before: Awaited<ReturnType<typeof dump>>;
  let snap: HostSnapshot;

  beforeEach(async () => {
    bed = await createTestbed("npa-a", 11);
    ctl = createHostController({ netns: bed.host });
    before = await dump(bed, ctl);
    snap = await ctl.snapshot();
  });

  afterEach(async () => {
    try {
      await ctl.restore(snap);
      assert.deepEqual(await dump(bed, ctl), before, "restore returns the host to its exact snapshot");
    } finally {
      await bed.destroy();
      await rm(`/etc/netns/${bed.host}`, { recursive: true, force: true });
    }
  });

  /** Applies twice: the first changes the kernel, the second reports no change and runs nothing. */
  async function applyTwice(p: Persona) {
    const first = await ctl.apply(p);
    assert.equal(first.changed, true);
    const second = await ctl.apply(p);
    assert.deepEqual({ changed: second.changed, steps: second.steps }, { changed: false, steps: [] });
    assert.deepEqual(second.live, first.live);
    return first;
  }

  it("congestion control: congctl on the default route and the hinted prefix, sysctl where writable", async () => {
    const out = await applyTwice({
      mtuScope: "route",
      congestionControl: "bbr",
      routes: { prefixes: [{ prefix: "10.20.0.0/16" }] },
    });
    assert.deepEqual(await lines(bed, ["ip", "-d", "route", "show"]), [
      `unicast default via ${bed.gateway} dev eth0 proto boot scope global congctl bbr`,
      `unicast 10.20.0.0/16 via ${bed.gateway} dev eth0 proto 78 scope global congctl bbr`,
      `unicast 10.77.11.0/24 dev eth0 proto kernel scope link src ${bed.hostAddr}`,
    ]);
    // The namespace default follows where the kernel lets it go there and back; else it stays as it was.
    const st = await ctl.readState();
    const initial = (before.sysctl as string).trim();
    const reversible = st.cc.allowed.includes("bbr") && st.cc.allowed.includes(initial);
    assert.equal(st.cc.value, reversible ? "bbr" : initial);
    assert.equal(out.live.congestionControl, "bbr");
    // cubic is not in this namespace's tcp_allowed_congestion_control: per-route only, no failure.
    const cubic = await applyTwice({ mtuScope: "route", congestionControl: "cubic" });
    assert.equal(cubic.live.congestionControl, "cubic");
    assert.match(
      await lines(bed, ["ip", "-d", "route", "show", "default"]).then((l) => l[0]),
      / congctl cubic$/,
    );
    assert.deepEqual(out.live.routes, { prefixes: [{ prefix: "10.20.0.0/16" }] });
  });

  it("mtu: route scope locks the route MTU, link scope sets the device, both does both", async () => {
    await applyTwice({ mtuScope: "route", mtu: 1400 });
    assert.deepEqual(
      (await lines(bed, ["ip", "-d", "route", "show", "default"]))[0],
      `unicast default via ${bed.gateway} dev eth0 proto boot scope global mtu lock 1400`,
    );
    await applyTwice({ mtuScope: "link", mtu: 1300 });
    const link = JSON.parse((await run(["ip", "-j", "link", "show", "eth0"], { netns: bed.host })).stdout);
    assert.equal(link[0].mtu, 1300);
    const both = await applyTwice({ mtuScope: "both", mtu: 1280 });
    assert.deepEqual(
      (await lines(bed, ["ip", "-d", "route", "show", "default"]))[0],
      `unicast default via ${bed.gateway} dev eth0 proto boot scope global mtu lock 1280`,
    );
    assert.deepEqual({ mtu: both.live.mtu, mtuScope: both.live.mtuScope }, { mtu: 1280, mtuScope: "both" });
  });

  it("qos: DSCP class in table inet netpersona, a flow share, and an htb priority", async () => {
    await applyTwice({ mtuScope: "route", qos: { class: "telephony" } });
    const table = ["nft", "list", "table", "inet", "netpersona"];
    const chain = [
      "table inet netpersona {",
      "chain output {",
      "type filter hook output priority mangle; policy accept;",
    ];
    assert.deepEqual(
      (await lines(bed, table)).map((l) => l.trim()),
      [...chain, "ip dscp set ef", "ip6 dscp set ef", "}", "}"],
    );
    const share = await ctl.applyQos({ class: "multimedia-streaming" }, 30);
    assert.equal(share.changed, true);
    assert.equal((await ctl.applyQos({ class: "multimedia-streaming" }, 30)).changed, false);
    assert.deepEqual(
      (await lines(bed, table)).map((l) => l.trim()),
      [
        ...chain,
        "jhash ip daddr . tcp sport mod 100 < 30 ip dscp set af31",
        "jhash ip6 daddr . tcp sport mod 100 < 30 ip6 dscp set af31",
        "}",
        "}",
      ],
    );
    const htb = await applyTwice({ mtuScope: "route", qos: { class: "low-priority-data", htbPriority: 2 } });
    assert.deepEqual(htb.live.qos, { class: "low-priority-data", htbPriority: 2 });
    assert.deepEqual((await lines(bed, table)).map((l) => l.trim()).slice(3, 5), [
      "ip dscp set lephb meta priority set 4e50:12",
      "ip6 dscp set lephb meta priority set 4e50:12",
    ]);
    const classes = (await lines(bed, ["tc", "class", "show", "dev", "eth0"])).map(
      (l) => l.split(" rate ")[0],
    );
    assert.deepEqual(classes.sort(), [
      "class htb 4e50:1 root",
      "class htb 4e50:12 parent 4e50:1 prio 2",
      "class htb 4e50:20 parent 4e50:1 prio 7",
    ]);
    assert.equal((await ctl.applyQos(undefined)).changed, true);
    assert.deepEqual(await lines(bed, ["nft", "list", "ruleset"]), []);
  });

  it("dns: resolv.conf written atomically where the namespace's processes read it", async () => {
    const dns = {
      servers: ["10.99.11.1", "2001:db8::53"],
      search: ["corp.example.com"],
      options: ["timeout:1"],
    };
    const out = await applyTwice({ mtuScope: "route", dns });
    assert.equal(ctl.resolvConfPath, `/etc/netns/${bed.host}/resolv.conf`);
    const expected = [
      "# Written by the netpersona agent; restored to the previous file when the persona goes away.",
      "nameserver 10.99.11.1",
      "nameserver 2001:db8::53",
      "search corp.example.com",
      "options timeout:1",
      "",
    ].join("\n");
    assert.equal(await readFile(ctl.resolvConfPath, "utf8"), expected);
    assert.equal((await run(["cat", "/etc/resolv.conf"], { netns: bed.host })).stdout, expected);
    assert.deepEqual(out.live.dns, dns);
  });

  it("routes: preferred gateway and metric, extra prefixes, then weighted ECMP for blending", async () => {
    const out = await applyTwice({
      mtuScope: "route",
      routes: {
        preferredGateway: bed.gateway2,
        metric: 50,
        prefixes: [
          { prefix: "10.30.0.0/16", via: bed.gateway, metric: 7 },
          { prefix: "10.40.1.0/24", dev: "eth0" },
        ],
      },
    });
    assert.deepEqual(await lines(bed, ["ip", "-d", "route", "show"]), [
      `unicast default via ${bed.gateway2} dev eth0 proto boot scope global metric 50`,
      `unicast 10.30.0.0/16 via ${bed.gateway} dev eth0 proto 78 scope global metric 7`,
      `unicast 10.40.1.0/24 via ${bed.gateway2} dev eth0 proto 78 scope global`,
      `unicast 10.77.11.0/24 dev eth0 proto kernel scope link src ${bed.hostAddr}`,
    ]);
    assert.deepEqual(out.live.routes, {
      preferredGateway: bed.gateway2,
      metric: 50,
      prefixes: [
        { prefix: "10.30.0.0/16", via: bed.gateway, metric: 7 },
        { prefix: "10.40.1.0/24", dev: "eth0" },
      ],
    });
    const ecmp = [
      { via: bed.gateway, weight: 1 },
      { via: bed.gateway2, weight: 3 },
    ];
    assert.equal((await ctl.applyEcmp(ecmp)).changed, true);
    assert.equal((await ctl.applyEcmp(ecmp)).changed, false);
    assert.deepEqual(await lines(bed, ["ip", "-d", "route", "show", "default"]), [
      "unicast default proto boot scope global metric 50",
      `nexthop via ${bed.gateway} dev eth0 weight 1`,
      `nexthop via ${bed.gateway2} dev eth0 weight 3`,
    ]);
  });
});
