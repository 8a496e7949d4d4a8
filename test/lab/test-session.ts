// Migration sessions end to end (root; lab "ses1"): two real agents (the bundle) in the lab hosts h1 (source)
// and h2 (destination); StartSession on the destination with peer = h1 and the source agent for feedback.
// Clean convergence, QoS raised under loss with the share of marked flows measured on the wire, and a PMTU
// black hole that lowers the locked route MTU. Kernel state is read back with ip and nft.
import { strict as assert } from "node:assert";
import { join } from "node:path";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import { createHostController, type NetpersonaHostController } from "../../provider/agent/host/controller";
import type { HostSnapshot } from "../../provider/agent/host/api";
import { labImpair, routerNetns } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import { installFlowCounter, readFlowCounter, removeFlowCounter } from "../fixtures/flow-count";
import * as fx from "../fixtures/session-agents";
import {
  defaultRoute,
  follow,
  lastOf,
  nameservers,
  nftTable,
  shortPolicy,
  startRequest,
  story,
} from "../session-helpers";

const LAB = "ses1";
const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };

describe("migration sessions (lab ses1: two agents, real kernel)", function () {
  let lab: fx.SessionLab | undefined;
  let src: fx.RunningAgent | undefined;
  let dst: fx.RunningAgent | undefined;
  let conn: AgentConnection;
  let ctl: NetpersonaHostController;
  let base: HostSnapshot;

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    src = await fx.startLabAgent(lab, lab.source);
    dst = await fx.startLabAgent(lab, lab.destination);
    conn = fx.connect(lab, dst);
    ctl = createHostController({ netns: lab.destination.netns });
    base = await ctl.snapshot();
  });

  afterEach(async () => {
    for (const link of ["destination:source", "source:destination"])
      await labImpair(LAB, { link, clear: true });
    if (lab) await removeFlowCounter(routerNetns(LAB));
    await ctl?.restore(base);
    for (const h of lab ? [lab.source, lab.destination] : [])
      await run(["ip", "route", "flush", "cache"], { netns: h.netns });
  });

  after(async () => {
    conn?.close();
    await fx.killAgent(dst, "SIGTERM");
    await fx.killAgent(src, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  it("refuses a bad policy_json with INVALID_ARGUMENT naming the field", async () => {
    const req = (json: string) => startRequest(lab!, src!.endpoint, "bad", standard, { policy_json: json });
    await assert.rejects(conn.startSession(req('{"dwel": {}}')), (e: AgentError) => {
      assert.equal(e.codeName, "INVALID_ARGUMENT");
      assert.equal(e.details.field, "policy.policy_json.dwel");
      assert.match(e.message, /^policy\.policy_json\.dwel: unknown field 'dwel'/);
      return true;
    });
    await assert.rejects(conn.startSession(req("{nope")), (e: AgentError) => {
      assert.equal(e.details.field, "policy.policy_json");
      return /is not valid JSON/.test(e.message);
    });
    const steps = JSON.stringify({ schedule: { steps: [0.5] } });
    await assert.rejects(
      conn.startSession(req(steps)),
      (e: AgentError) => e.details.field === "policy.policy_json.schedule.steps",
    );
  });

  it("converges on a clean path and leaves the final persona in the destination's kernel", async () => {
    const [dnsSrc, dnsDst] = [lab!.inv.networks[0].dns, lab!.inv.networks[1].dns] as string[];
    const persona = {
      ...standard,
      mtu: 1460,
      qos: { class: "multimedia-streaming" },
      dns: { servers: [dnsSrc, dnsDst], search: ["mig.example"], options: [] },
    };
    const req = startRequest(lab!, src!.endpoint, "clean", persona, shortPolicy());
    await fx.grantFeedback(lab!, src!, dst!, req);
    const started = await conn.startSession(req);
    assert.equal(started.peer_address, lab!.source.address);
    const events = await follow(conn, "clean");
    const last = lastOf(events);
    assert.deepEqual(
      [last.kind, last.state, last.weight, last.converged],
      ["converged", "SESSION_STATE_CONVERGED", 1, true],
      story(events),
    );
    assert.equal(events[0].kind, "started");
    const kinds = events.map((e) => e.kind);
    assert.deepEqual(kinds.filter((k) => k === "advance").length, 2, story(events));
    assert.ok(!kinds.includes("adjust") && !kinds.includes("feedback-lost"), story(events));
    assert.ok(
      events.filter((e) => e.kind === "probe").every((e) => e.metrics !== null && e.metrics.loss_ratio === 0),
    );
    // The kernel holds the final persona.
    const route = await defaultRoute(lab!.destination.netns);
    assert.match(route, /congctl bbr/);
    assert.match(route, /mtu lock 1460/);
    assert.match(await nftTable(lab!.destination.netns), /ip dscp set af31 /);
    assert.doesNotMatch(await nftTable(lab!.destination.netns), /jhash/);
    assert.deepEqual(await nameservers(lab!.destination.netns), [dnsSrc, dnsDst]);
    const got = await conn.getSession("clean");
    assert.deepEqual([got.state, got.weight, got.blended_persona?.mtu], ["SESSION_STATE_CONVERGED", 1, 1460]);
    assert.equal((await conn.getPersona()).committed?.mtu, 1460, "recorded as the agent's committed persona");
    // The feedback stream to the source agent was open (mutual TLS with the destination agent's certificate;
    // the source logs the call when it ends, cancelled by the destination at convergence).
    for (let i = 0; i < 50 && !/StreamMetrics /.test(src!.output()); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(src!.output(), /StreamMetrics peer=\S+ client=\S+ CANCELLED/);
  });

  it("never steps towards a peer that has not answered: its first decision sees the loss, not pending probes", async () => {
    // Port 9 on the source: nothing answers there. Before, the first decision came while every probe was still
    // pending, read as 0 % loss, and advanced to the first weight without a single reply.
    const req = {
      ...startRequest(lab!, "", "silent", standard, shortPolicy({ failureLimit: 2 })),
      peer_port: 9,
    };
    await conn.startSession(req);
    const events = await follow(conn, "silent");
    const last = lastOf(events);
    assert.deepEqual([last.state, last.weight], ["SESSION_STATE_ROLLED_BACK", 0], story(events));
    assert.ok(!events.some((e) => e.kind === "advance"), story(events));
    const decided = events.filter((e) => e.metrics !== null);
    assert.ok(decided.length > 0, story(events));
    assert.equal(decided[0].metrics!.loss_ratio, 1, story(events));
    assert.match(last.reason, /lossPct 100 /, story(events));
  });

  it("raises QoS under loss with the reason, and marks the plan's share of flows on the wire", async () => {
    await labImpair(LAB, { link: "destination:source", loss: 20 });
    const policy = shortPolicy({
      gates: [],
      schedule: { steps: [{ weight: 0.5, dwellMs: 600_000 }, 1] },
      rules: { lossMedium: { recover: false }, sourceDegraded: { enabled: false } },
      // A second effect of the loss, so that the blend also splits congestion control between two routes.
      extraRules: [
        {
          id: "lossCc",
          when: { metric: "lossPct", op: ">", value: 2 },
          then: { field: "congestionControl", action: "set", value: "reno" },
          recover: false,
        },
      ],
    });
    const persona = { ...standard, routes: { prefixes: [{ prefix: "10.250.0.0/16" }] } };
    const req = startRequest(lab!, src!.endpoint, "qos", persona, policy);
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    const both = (all: { rule: string }[]) =>
      ["lossMedium", "lossCc"].every((r) => all.some((x) => x.rule === r));
    const events = await follow(conn, "qos", (e, all) => e.weight === 0.5 && both(all));
    await labImpair(LAB, { link: "destination:source", clear: true });
    const adjust = events.find((e) => e.kind === "adjust" && e.rule === "lossMedium");
    assert.ok(adjust, story(events));
    assert.match(
      adjust.reason,
      /^lossMedium: lossPct \d+(\.\d+)? > 2 \(thresholds\.lossMediumPct\.enter\) for 2 intervals: qos\.class standard → high-throughput-data$/,
    );
    assert.deepEqual(adjust.changes, [{ field: "qos.class", from: "standard", to: "high-throughput-data" }]);
    assert.ok(adjust.metrics!.loss_ratio > 0.02);
    const cc = events.find((e) => e.kind === "adjust" && e.rule === "lossCc");
    assert.deepEqual(cc?.changes, [{ field: "congestionControl", from: "bbr", to: "reno" }]);
    // Per-route congestion control at weight 0.5: the prefix (first in order) moved, the default route not yet.
    const ns = lab!.destination.netns;
    assert.match(
      (await run(["ip", "-d", "route", "show", "10.250.0.0/16"], { netns: ns })).stdout,
      /proto 78 .*congctl reno/,
    );
    assert.match(await defaultRoute(ns), /congctl bbr/);
    const nft = await nftTable(lab!.destination.netns);
    assert.match(nft, /jhash ip daddr \. tcp sport mod 100 < 50 ip dscp set af11/);
    const s = await conn.getSession("qos");
    assert.deepEqual(
      [s.state, s.weight, s.shadow_persona?.qos?.class],
      ["SESSION_STATE_RUNNING", 0.5, "high-throughput-data"],
    );

    // 40 short TCP connections from the destination to the source agent, counted per flow in the router.
    const port = Number(src!.endpoint.split(":")[1]);
    const spec = {
      routerNetns: routerNetns(LAB),
      from: lab!.destination.address,
      to: lab!.source.address,
      dport: port,
      dscp: 10,
    };
    await installFlowCounter(spec);
    const burst = join(__dirname, "..", "fixtures", "tcp-burst.js");
    const out = await run([
      "ip",
      "netns",
      "exec",
      lab!.destination.netns,
      process.execPath,
      burst,
      lab!.source.address,
      String(port),
      "40",
    ]);
    const ports = (JSON.parse(out.stdout) as { ports: number[] }).ports;
    const all = await readFlowCounter(spec.routerNetns);
    // Only the burst's flows (the runner's own feedback stream to the same port is counted too).
    const marked = new Map([...all.marked].filter(([p]) => ports.includes(p)));
    const plain = new Map([...all.plain].filter(([p]) => ports.includes(p)));
    assert.equal(new Set(ports).size, 40);
    assert.deepEqual(
      [...marked.keys(), ...plain.keys()].sort(),
      [...ports].sort(),
      "every flow counted once",
    );
    assert.ok(
      [...marked.keys()].every((p) => !plain.has(p)),
      "a flow is marked on all its packets or none",
    );
    assert.ok(
      [...marked.values(), ...plain.values()].every((n) => n >= 3),
      "handshake, data and close counted",
    );
    // Binomial(40, 0.5): 4.5 standard deviations either side of 20.
    process.stdout.write(`      marked flows: ${marked.size}/40 (plan share 50%)\n`);
    assert.ok(marked.size >= 6 && marked.size <= 34, `marked ${marked.size}/40`);

    const before = await ctl.snapshot();
    assert.notDeepEqual(before.nft, base.nft);
    const aborted = await conn.abortSession({ session_id: "qos", reason: "test done", rollback: true });
    assert.equal(aborted.state, "SESSION_STATE_ABORTED");
    assert.equal(await nftTable(lab!.destination.netns), "", "the session-start state had no QoS table");
    assert.deepEqual((await ctl.snapshot()).routes, base.routes);
  });

  it("lowers the MTU to a black-holed path MTU and locks it on the route", async () => {
    await labImpair(LAB, { link: "destination:source", mtu: 1400, pmtuBlackhole: true });
    const req = startRequest(lab!, src!.endpoint, "pmtu", standard, shortPolicy());
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    const events = await follow(conn, "pmtu");
    const last = lastOf(events);
    assert.deepEqual([last.kind, last.state], ["converged", "SESSION_STATE_CONVERGED"], story(events));
    const adjust = events.find((e) => e.kind === "adjust" && e.rule === "pmtuBlackHole");
    assert.ok(adjust, story(events));
    assert.equal(
      adjust.reason,
      "pmtuBlackHole: pathMtu 1400 minus headroom 0 = 1400 < mtu 1500 for 2 intervals: mtu 1500 → 1400",
    );
    assert.ok(
      events.filter((e) => e.metrics).every((e) => e.metrics!.path_mtu === 1400),
      "measured before the first decision",
    );
    assert.match(await defaultRoute(lab!.destination.netns), /mtu lock 1400/);
    assert.equal((await conn.getSession("pmtu")).blended_persona?.mtu, 1400);
  });
});
