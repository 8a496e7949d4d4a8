// Weighted ECMP blending on real traffic (root; lab "sec1"): the destination host h2 gets a second gateway
// (.3, a macvlan with its own MAC on the router's bridge). The session's source persona prefers the lab
// gateway (.1), its target persona .3. At weight 0.5 the default route holds both nexthops and new TCP
// flows from h2 to h1 split between them, counted per ingress device in the router; once converged, every
// new flow goes via .3 and the default route reads back the target gateway.
import { strict as assert } from "node:assert";
import { join } from "node:path";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import { createHostController, type NetpersonaHostController } from "../../provider/agent/host/controller";
import type { HostSnapshot } from "../../provider/agent/host/api";
import { routerNetns } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import * as fx from "../fixtures/session-agents";
import {
  addSecondGateway,
  installGatewayCounter,
  readGatewayCounter,
  removeSecondGateway,
  type SecondGateway,
} from "../fixtures/second-gateway";
import { defaultRoute, follow, lastOf, shortPolicy, startRequest, story } from "../session-helpers";

const LAB = "sec1";
const HASH_POLICY = "net.ipv4.fib_multipath_hash_policy";

describe("weighted ECMP blend between two gateways (lab sec1: two agents, real kernel)", function () {
  let lab: fx.SessionLab | undefined;
  let src: fx.RunningAgent | undefined;
  let dst: fx.RunningAgent | undefined;
  let conn: AgentConnection | undefined;
  let ctl: NetpersonaHostController | undefined;
  let base: HostSnapshot | undefined;
  let gw: SecondGateway | undefined;
  let hashPolicy: string | undefined;

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    src = await fx.startLabAgent(lab, lab.source);
    dst = await fx.startLabAgent(lab, lab.destination);
    conn = fx.connect(lab, dst);
    ctl = createHostController({ netns: lab.destination.netns });
    base = await ctl.snapshot();
    const net = lab.inv.networks.find((n) => n.name === lab!.destination.network)!;
    gw = await addSecondGateway({
      routerNetns: routerNetns(LAB),
      bridge: net.bridge,
      ifname: "npsgw2",
      address: net.gateway.replace(/\.1$/, ".3"),
      prefixLength: lab.destination.prefixLength,
    });
    // Multipath hashing on addresses and ports (L4): one host pair spreads its flows over the nexthops.
    const ns = lab.destination.netns;
    hashPolicy = (await run(["sysctl", "-n", HASH_POLICY], { netns: ns })).stdout.trim();
    await run(["sysctl", "-q", "-w", `${HASH_POLICY}=1`], { netns: ns });
  });

  after(async () => {
    if (lab && hashPolicy !== undefined)
      await run(["sysctl", "-q", "-w", `${HASH_POLICY}=${hashPolicy}`], { netns: lab.destination.netns });
    if (base) await ctl?.restore(base);
    await removeSecondGateway(gw);
    conn?.close();
    await fx.killAgent(dst, "SIGTERM");
    await fx.killAgent(src, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  /** COUNT short TCP connections from h2 to the source agent's port; the flows counted per gateway. */
  async function burst(count: number): Promise<{ first: number[]; second: number[] }> {
    const port = Number(src!.endpoint.split(":")[1]);
    await installGatewayCounter(gw!, lab!.destination.address, lab!.source.address, port);
    const script = join(__dirname, "..", "fixtures", "tcp-burst.js");
    const out = await run([
      "ip",
      "netns",
      "exec",
      lab!.destination.netns,
      process.execPath,
      script,
      lab!.source.address,
      String(port),
      String(count),
    ]);
    const ports = (JSON.parse(out.stdout) as { ports: number[] }).ports;
    assert.equal(new Set(ports).size, count);
    // Only the burst's flows (the session's own feedback stream goes to the same port).
    const all = await readGatewayCounter(gw!);
    const first = ports.filter((p) => all.first.has(p));
    const second = ports.filter((p) => all.second.has(p));
    assert.deepEqual([...first, ...second].sort(), [...ports].sort(), "every flow counted once");
    assert.ok(
      first.every((p) => !all.second.has(p)),
      "a flow keeps its nexthop for all its packets",
    );
    assert.ok(
      ports.every((p) => (all.first.get(p) ?? all.second.get(p) ?? 0) >= 3),
      "handshake, data, close",
    );
    return { first, second };
  }

  it("refuses an invalid target_persona with INVALID_ARGUMENT naming the field", async () => {
    const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };
    const req = {
      ...startRequest(lab!, src!.endpoint, "badtarget", standard, shortPolicy()),
      target_persona: { ...standard, mtu: 100 },
    };
    await assert.rejects(conn!.startSession(req), (e: AgentError) => {
      assert.equal(e.codeName, "INVALID_ARGUMENT");
      assert.equal(e.details.field, "target_persona.mtu");
      return true;
    });
  });

  /** The kernel after a session: the default route via `via` alone, no steering rule, table or nft table. */
  async function assertUnsteered(via: string): Promise<void> {
    const ns = lab!.destination.netns;
    const route = await defaultRoute(ns);
    assert.match(route, new RegExp(`^(unicast )?default via ${via.replace(/\./g, "\\.")} dev \\S+`), route);
    assert.doesNotMatch(route, /nexthop/);
    const rules = (await run(["ip", "rule", "show"], { netns: ns })).stdout;
    assert.doesNotMatch(rules, /^4950:/m, rules);
    const table = (await run(["ip", "route", "show", "table", "4950"], { netns: ns, check: false })).stdout;
    assert.equal(table.trim(), "");
    const tables = (await run(["nft", "list", "tables"], { netns: ns })).stdout;
    assert.doesNotMatch(tables, /netpersona_path/);
  }

  it("a target gateway that drops 30 % fails the target-path gate at weight 0: rolled back before any flow moves", async () => {
    const gw1 = lab!.destination.gateway;
    const router = routerNetns(LAB);
    const loss = [
      "table inet sec_loss {",
      "  chain lossy {",
      "    type filter hook forward priority -10; policy accept;",
      `    iifname "${gw!.ifname}" numgen random mod 100 < 30 drop`,
      "  }",
      "}",
    ].join("\n");
    await run(["nft", "-f", "-"], { netns: router, input: `${loss}\n` });
    try {
      const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };
      const source = { ...standard, routes: { preferred_gateway: gw1 } };
      const target = { ...standard, routes: { preferred_gateway: gw!.address } };
      // The default gates (no `gates` in the policy): the target path's own loss among them.
      const req = {
        ...startRequest(lab!, src!.endpoint, "lossygw", source, shortPolicy({ failureLimit: 3 })),
        target_persona: target,
      };
      await fx.grantFeedback(lab!, src!, dst!, req);
      await conn!.startSession(req);
      const events = await follow(conn!, "lossygw");
      const last = lastOf(events);
      assert.deepEqual(
        [last.kind, last.state, last.weight],
        ["rollback", "SESSION_STATE_ROLLED_BACK", 0],
        story(events),
      );
      assert.match(
        last.reason,
        /^rollback: gates failed 3 times at weight 0 \(failureLimit 3\): targetLossPct \d+(\.\d+)? fails < 5/,
      );
      assert.deepEqual(
        events.filter((e) => e.weight > 0).map((e) => e.kind),
        [],
        `no step was taken: ${story(events)}`,
      );
      const measured = events.filter((e) => e.metrics?.target_loss_ratio !== undefined);
      assert.ok(measured.length >= 3, story(events));
      for (const e of measured)
        assert.ok(e.metrics!.target_loss_ratio! >= 0.05, `${e.metrics!.target_loss_ratio}`);
      await assertUnsteered(gw1);
    } finally {
      await run(["nft", "delete", "table", "inet", "sec_loss"], { netns: router, check: false });
    }
  });

  it("a target whose first DNS server is silent fails the DNS gate at weight 0; resolv.conf never changed", async () => {
    const ns = lab!.destination.netns;
    const resolvBefore = (await ctl!.readCurrent()).dns;
    const silent = lab!.destination.gateway.replace(/\.1$/, ".77"); // nobody: no answer, no ICMP
    const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };
    const target = { ...standard, dns: { servers: [silent, ...(resolvBefore?.servers ?? [])].slice(0, 3) } };
    const req = {
      ...startRequest(lab!, src!.endpoint, "silentdns", standard, shortPolicy({ failureLimit: 2 })),
      target_persona: target,
    };
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn!.startSession(req);
    const events = await follow(conn!, "silentdns");
    const last = lastOf(events);
    assert.deepEqual([last.kind, last.weight], ["rollback", 0], story(events));
    assert.equal(
      last.reason,
      "rollback: gates failed 2 times at weight 0 (failureLimit 2): dnsLossPct 100 fails < 50; the session-start snapshot is restored",
    );
    assert.deepEqual((await ctl!.readCurrent()).dns, resolvBefore);
    assert.ok(!(await run(["cat", `/etc/netns/${ns}/resolv.conf`])).stdout.includes(silent));
  });

  it("splits new flows over both gateways by the weight, then moves them all to the target's", async () => {
    const gw1 = lab!.destination.gateway;
    const gw3 = gw!.address;
    const ns = lab!.destination.netns;
    const ping = await run(["ping", "-c", "1", "-W", "2", gw3], { netns: ns, check: false });
    assert.equal(ping.code, 0, `h2 reaches the second gateway ${gw3}: ${ping.stdout}${ping.stderr}`);
    const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };
    const source = { ...standard, routes: { preferred_gateway: gw1 } };
    const target = { ...standard, routes: { preferred_gateway: gw3 } };
    const policy = shortPolicy({ gates: [], schedule: { steps: [{ weight: 0.5, dwellMs: 20_000 }, 1] } });
    const req = { ...startRequest(lab!, src!.endpoint, "ecmp", source, policy), target_persona: target };
    await fx.grantFeedback(lab!, src!, dst!, req); // as the Migration does: the source lets h2's feedback in
    const started = await conn!.startSession(req);
    assert.equal(started.target_persona?.routes?.preferred_gateway, gw3);
    const half = await follow(conn!, "ecmp", (e) => e.weight === 0.5 || e.weight === 1);
    assert.equal(lastOf(half).weight, 0.5, story(half));
    const route = await defaultRoute(ns);
    assert.match(route, new RegExp(`nexthop via ${gw1.replace(/\./g, "\\.")} dev \\S+ weight 1`), route);
    assert.match(route, new RegExp(`nexthop via ${gw3.replace(/\./g, "\\.")} dev \\S+ weight 1`), route);

    const split = await burst(40);
    const s = await conn!.getSession("ecmp");
    assert.equal(s.weight, 0.5, "the burst ran while the weight held");
    process.stdout.write(
      `      flows via ${gw3}: ${split.second.length}/40, via ${gw1}: ${split.first.length}/40 (weight 0.5)\n`,
    );
    // Binomial(40, 0.5): 4.5 standard deviations either side of 20.
    assert.ok(split.second.length >= 6 && split.second.length <= 34, `via ${gw3}: ${split.second.length}/40`);

    const events = await follow(conn!, "ecmp");
    const last = lastOf(events);
    assert.deepEqual(
      [last.kind, last.state, last.weight],
      ["converged", "SESSION_STATE_CONVERGED", 1],
      story(events),
    );
    assert.ok(!events.some((e) => e.kind === "feedback-lost"), story(events));
    const final = await defaultRoute(ns);
    assert.match(final, new RegExp(`^(unicast )?default via ${gw3.replace(/\./g, "\\.")} dev \\S+`), final);
    assert.doesNotMatch(final, /nexthop/);
    await run(["ip", "route", "flush", "cache"], { netns: ns });
    const after = await burst(20);
    assert.deepEqual(
      [after.first.length, after.second.length],
      [0, 20],
      "every new flow via the target gateway",
    );
  });
});
