// Migration sessions that do not simply converge (root; lab "ses2"): the source's own perception of the
// path caps the MTU (feedback over mTLS between the agents), a kill -9 of the destination agent in the middle
// of a session (it resumes from its persisted state and converges), and a session that cannot converge
// (rolled back: the host equals its session-start snapshot).
import { strict as assert } from "node:assert";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import type { HostSnapshot } from "../../provider/agent/host/api";
import { createHostController, type NetpersonaHostController } from "../../provider/agent/host/controller";
import { labImpair } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import * as fx from "../fixtures/session-agents";
import { defaultRoute, follow, lastOf, shortPolicy, startRequest, story } from "../session-helpers";

const LAB = "ses2";
/** The source agent's port stays the same across its restart (the session names it as source_agent). */
const SOURCE_PORT = 7443;
const standard = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };

/** What a persona can touch, from a snapshot (the nft table's kernel handle aside, nothing is left out). */
function kernel(s: HostSnapshot) {
  return { routes: s.routes, links: s.links, nft: s.nft, htb: s.htb, cc: s.ccSysctl, resolv: s.resolv };
}

describe("migration sessions: feedback, restart, rollback (lab ses2)", function () {
  let lab: fx.SessionLab | undefined;
  let src: fx.RunningAgent | undefined;
  let dst: fx.RunningAgent | undefined;
  let conn: AgentConnection;
  let ctl: NetpersonaHostController;
  let base: HostSnapshot;

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    src = await fx.startLabAgent(lab, lab.source, SOURCE_PORT);
    dst = await fx.startLabAgent(lab, lab.destination);
    conn = fx.connect(lab, dst);
    ctl = createHostController({ netns: lab.destination.netns });
    base = await ctl.snapshot();
  });

  afterEach(async () => {
    for (const link of ["destination:source", "source:destination"])
      await labImpair(LAB, { link, clear: true });
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

  it("caps the MTU at 1200 when the source reports degraded performance", async () => {
    await labImpair(LAB, { link: "source:destination", loss: 30 });
    const policy = shortPolicy({
      gates: [],
      rules: { lossMedium: { enabled: false } },
      schedule: { steps: [0.5, 1], stepDwellMs: 1500 },
    });
    const req = startRequest(lab!, src!.endpoint, "degraded", standard, policy);
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    const events = await follow(
      conn,
      "degraded",
      (e, all) => e.weight === 1 && all.some((x) => x.rule === "sourceDegraded"),
    );
    const adjust = events.find((e) => e.rule === "sourceDegraded");
    assert.ok(adjust, story(events));
    assert.ok(!events.some((e) => e.kind === "feedback-lost"), story(events));
    assert.equal(
      adjust.reason,
      "sourceDegraded: the source reports degraded performance for 2 intervals: mtu 1500 → 1200",
    );
    const mtu = Number(/mtu lock (\d+)/.exec(await defaultRoute(lab!.destination.netns))?.[1]);
    assert.ok(mtu <= 1200, `route mtu ${mtu}`);
    const s = await conn.getSession("degraded");
    assert.deepEqual([s.state, (s.shadow_persona?.mtu ?? Infinity) <= 1200], ["SESSION_STATE_RUNNING", true]);
    // Aborted with rollback: the host is back as the session found it.
    const before = kernel(await ctl.snapshot());
    const aborted = await conn.abortSession({ session_id: "degraded", reason: "test done", rollback: true });
    assert.equal(aborted.state, "SESSION_STATE_ABORTED");
    assert.notDeepEqual(before, kernel(base));
    assert.deepEqual(kernel(await ctl.snapshot()), kernel(base));
  });

  it("resumes a session after kill -9 of the destination agent and converges", async () => {
    const persona = { ...standard, mtu: 1440 };
    const policy = shortPolicy({ schedule: { steps: [0.25, 0.5, 0.75, 1], stepDwellMs: 1500 } });
    const req = startRequest(lab!, src!.endpoint, "restart", persona, policy);
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    const before = await follow(conn, "restart", (e) => e.weight >= 0.5);
    conn.close();
    await fx.killAgent(dst);
    dst = await fx.startLabAgent(lab!, lab!.destination);
    conn = fx.connect(lab!, dst);
    const events = await follow(conn, "restart");
    const resumed = events.find((e) => e.kind === "resumed");
    assert.ok(resumed, story(events));
    assert.ok(Number(resumed.seq) > Number(lastOf(before).seq));
    assert.ok(resumed.weight >= lastOf(before).weight && resumed.weight >= 0.5, story(events));
    assert.match(
      resumed.reason,
      /^agent restarted: resuming from the persisted engine state at weight 0\.[57]5? /,
    );
    const after = events.filter((e) => Number(e.seq) > Number(resumed.seq));
    assert.ok(
      after.every((e) => e.weight >= resumed.weight),
      "the weight never went back",
    );
    assert.equal(events.filter((e) => e.kind === "started").length, 1);
    assert.ok(!events.some((e) => e.kind === "feedback-lost"), story(events));
    const last = lastOf(events);
    assert.deepEqual(
      [last.kind, last.state, last.weight],
      ["converged", "SESSION_STATE_CONVERGED", 1],
      story(events),
    );
    assert.match(await defaultRoute(lab!.destination.netns), /mtu lock 1440/);
    assert.match(dst.output(), /session restart: resuming after restart/);
  });

  it("records a cut feedback link and its return after the source agent restarts", async () => {
    // No gates: while the source restarts, a loaded machine must not turn slow probes into a rollback.
    const policy = shortPolicy({ gates: [], schedule: { steps: [{ weight: 0.5, dwellMs: 600_000 }, 1] } });
    const req = startRequest(lab!, src!.endpoint, "link", standard, policy);
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    await follow(conn, "link", (e) => e.weight === 0.5);
    await fx.killAgent(src);
    const lost = await follow(conn, "link", (e) => e.kind === "feedback-lost");
    assert.equal(lastOf(lost).reason, "feedback link cut: continuing on the destination's metrics alone");
    assert.equal(lastOf(lost).state, "SESSION_STATE_RUNNING");
    src = await fx.startLabAgent(lab!, lab!.source, SOURCE_PORT);
    const back = await follow(conn, "link", (e) => e.kind === "feedback-restored");
    assert.equal(lastOf(back).reason, "feedback link restored: source feedback is used again");
    assert.match(
      dst!.output(),
      /session link: feedback link to \S+: attempt 1 failed \(.+\): retrying in 500 ms/,
    );
    assert.match(dst!.output(), /session link: feedback link to \S+: back after \d+ failed attempt\(s\)/);
    await conn.abortSession({ session_id: "link", reason: "test done", rollback: true });
  });

  it("rolls back to the session-start snapshot when the session cannot converge", async () => {
    const persona = { congestion_control: "bbr", mtu: 1300, qos: { class: "low-latency-data" } };
    const policy = shortPolicy({
      maxDurationMs: 2500,
      schedule: { steps: [{ weight: 0.5, dwellMs: 600_000 }, 1] },
    });
    const start = kernel(await ctl.snapshot());
    const req = startRequest(lab!, src!.endpoint, "giveup", persona, policy);
    await fx.grantFeedback(lab!, src!, dst!, req);
    await conn.startSession(req);
    const events = await follow(conn, "giveup");
    assert.ok(
      events.some((e) => e.kind === "advance" && e.weight === 0.5),
      "the blend was on the host",
    );
    const last = lastOf(events);
    assert.deepEqual(
      [last.kind, last.state, last.rule, last.weight],
      ["rollback", "SESSION_STATE_ROLLED_BACK", "maxDuration", 0],
    );
    assert.match(
      last.reason,
      /^give up: \d+ ms elapsed without convergence \(maxDurationMs 2500\): back to the source persona; the session-start snapshot is restored$/,
    );
    assert.deepEqual(kernel(await ctl.snapshot()), start);
    const s = await conn.getSession("giveup");
    assert.deepEqual([s.state, s.converged, s.reason], ["SESSION_STATE_ROLLED_BACK", false, last.reason]);
  });
});
