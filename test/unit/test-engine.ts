// The adjustment engine by example: each default rule with its exact reason, recovery, the feedback link
// being cut, gates pausing, rollback after failureLimit, giving up after maxDurationMs, and the policy.
import * as assert from "node:assert/strict";

import {
  decide,
  parsePolicy,
  simulate,
  startEngine,
  type EngineState,
  type HistoryEntry,
  type MetricsWindow,
  type PolicyInput,
  type ScenarioStep,
} from "../../provider/engine";
import { policyFromCompact, SESSION_POLICY_DEFAULTS } from "../../provider/proto/session-policy";

const OK: MetricsWindow = {
  rttP50Ms: 20,
  rttP90Ms: 30,
  lossRatio: 0,
  jitterMs: 2,
  throughputBps: 5e7,
  pathMtu: 0,
};
const SOURCE = { congestionControl: "cubic", mtu: 1500, qos: { class: "standard" } } as const;
/** Long step dwell: the weight stays put while a rule is being looked at. */
const HOLD: PolicyInput = { schedule: { stepDwellMs: 600000 }, maxDurationMs: 3600000 };

/** The events other than probes, as [interval, kind, rule, reason]. */
function story(policy: PolicyInput, timeline: ScenarioStep[], source: object = SOURCE): string[][] {
  return simulate(policy, { source, timeline })
    .history.filter((h: HistoryEntry) => h.kind !== "probe" || h.rule !== "")
    .map((h) => [String(h.interval), h.kind, h.rule, h.reason]);
}

const advance01 = [
  "1",
  "advance",
  "schedule",
  "advance: weight 0 → 0.1: gates pass and the dwell of 0 ms elapsed",
];

describe("adjustment engine: default rules", () => {
  it("latency above latencyHighMs.enter for 2 intervals → BBR and MTU 1400, with the evidence", () => {
    const why = "latencyHigh: rttP90Ms 180 > 100 (thresholds.latencyHighMs.enter) for 2 intervals";
    assert.deepEqual(story(HOLD, [{ metrics: { ...OK, rttP90Ms: 180 }, repeat: 3 }]), [
      advance01,
      ["2", "adjust", "latencyHigh", `${why}: congestionControl cubic → bbr`],
      ["2", "adjust", "latencyHigh", `${why}: mtu 1500 → 1400`],
    ]);
  });

  it("loss above lossMediumPct.enter → QoS one class up the RFC 4594 order", () => {
    const r = simulate(HOLD, {
      source: SOURCE,
      timeline: [{ metrics: { ...OK, lossRatio: 0.035 }, repeat: 2 }],
    });
    const adjust = r.history.filter((h) => h.kind === "adjust");
    assert.deepEqual(
      adjust.map((h) => [h.rule, h.changes, h.reason]),
      [
        [
          "lossMedium",
          [{ field: "qos.class", from: "standard", to: "high-throughput-data" }],
          "lossMedium: lossPct 3.5 > 2 (thresholds.lossMediumPct.enter) for 2 intervals: qos.class standard → high-throughput-data",
        ],
      ],
    );
    assert.deepEqual(r.persona, {
      mtuScope: "route",
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "high-throughput-data" },
    });
  });

  it("the source reporting degraded performance → MTU 1200", () => {
    const feedback = { rttMs: 90, retransmissions: 40, throughputBps: 1e6, degraded: true };
    assert.deepEqual(story(HOLD, [{ metrics: OK, feedback, repeat: 2 }]).slice(1), [
      [
        "2",
        "adjust",
        "sourceDegraded",
        "sourceDegraded: the source reports degraded performance for 2 intervals: mtu 1500 → 1200",
      ],
    ]);
  });

  it("a path MTU below the persona's MTU → MTU at the path MTU minus headroom; the plan is capped at once", () => {
    const s = startEngine({ source: SOURCE, policy: { ...HOLD, mtu: { pmtuHeadroom: 20 } }, timeMs: 0 });
    const first = decide(s, { timeMs: 2000, metrics: { ...OK, pathMtu: 1280 }, feedbackLinkUp: true });
    assert.deepEqual(first.plan.mtu, { value: 1260, source: 1500, target: 1500, cappedByPathMtu: true });
    const second = decide(first.state, {
      timeMs: 4000,
      metrics: { ...OK, pathMtu: 1280 },
      feedbackLinkUp: true,
    });
    assert.deepEqual(
      second.reasons.map((r) => r.text),
      ["pmtuBlackHole: pathMtu 1280 minus headroom 20 = 1260 < mtu 1500 for 2 intervals: mtu 1500 → 1260"],
    );
    assert.equal(second.persona.mtu, 1260);
    assert.equal(second.plan.persona.mtu, 1260);
  });
});

describe("adjustment engine: hysteresis, recovery, custom rules", () => {
  it("restores QoS after loss stays below lossMediumPct.exit, once minChangeGapMs allows it", () => {
    const lossy = { ...OK, lossRatio: 0.03 };
    const clear = { ...OK, lossRatio: 0.005 };
    const rows = story(HOLD, [
      { metrics: lossy, repeat: 2 },
      { metrics: { ...OK, lossRatio: 0.015 }, repeat: 4 },
      { metrics: clear, repeat: 12 },
    ]);
    const why = "lossMedium.recovered: lossPct 0.5 <= 1 (thresholds.lossMediumPct.exit) for 5 intervals";
    assert.deepEqual(rows.slice(1), [
      [
        "2",
        "adjust",
        "lossMedium",
        "lossMedium: lossPct 3 > 2 (thresholds.lossMediumPct.enter) for 2 intervals: qos.class standard → high-throughput-data",
      ],
      [
        "11",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 18000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      [
        "12",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 20000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      [
        "13",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 22000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      [
        "14",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 24000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      [
        "15",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 26000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      [
        "16",
        "deferred",
        "lossMedium.recovered",
        `qos.class high-throughput-data → standard deferred: changed 28000 ms ago, dwell.minChangeGapMs is 30000 (${why})`,
      ],
      ["17", "adjust", "lossMedium.recovered", `${why}: qos.class high-throughput-data → standard`],
    ]);
  });

  it("latency recovery, when the policy enables it, restores the configured algorithm and MTU", () => {
    const policy = { ...HOLD, rules: { latencyHigh: { recover: true } }, dwell: { minChangeGapMs: 0 } };
    const rows = story(policy, [
      { metrics: { ...OK, rttP90Ms: 150 }, repeat: 2 },
      { metrics: { ...OK, rttP90Ms: 70 }, repeat: 5 },
    ]);
    const why = "latencyHigh.recovered: rttP90Ms 70 <= 80 (thresholds.latencyHighMs.exit) for 5 intervals";
    assert.deepEqual(rows.slice(3), [
      ["7", "adjust", "latencyHigh.recovered", `${why}: congestionControl bbr → cubic`],
      ["7", "adjust", "latencyHigh.recovered", `${why}: mtu 1400 → 1500`],
    ]);
  });

  it("a disabled rule never fires; an extra rule given as data does, with its own reason", () => {
    const policy: PolicyInput = {
      ...HOLD,
      rules: { lossMedium: { enabled: false } },
      extraRules: [
        {
          id: "retransStorm",
          when: { metric: "sourceRetransmissions", op: ">", value: 100 },
          then: { field: "congestionControl", action: "set", value: "bbr" },
        },
      ],
    };
    const feedback = { rttMs: 30, retransmissions: 250, throughputBps: 1e7, degraded: false };
    assert.deepEqual(story(policy, [{ metrics: { ...OK, lossRatio: 0.04 }, feedback, repeat: 4 }]).slice(1), [
      [
        "2",
        "adjust",
        "retransStorm",
        "retransStorm: sourceRetransmissions 250 > 100 (extraRules.retransStorm.when.value) for 2 intervals: congestionControl cubic → bbr",
      ],
    ]);
  });

  it("a cut feedback link is recorded; the engine goes on with the destination's metrics alone", () => {
    const degraded = { rttMs: 90, retransmissions: 40, throughputBps: 1e6, degraded: true };
    const hot = { ...OK, rttP90Ms: 120 };
    const rows = story(HOLD, [
      { metrics: hot, feedback: degraded, feedbackLinkUp: false, repeat: 3 },
      { metrics: OK, feedback: degraded, repeat: 2 },
    ]);
    const why = "latencyHigh: rttP90Ms 120 > 100 (thresholds.latencyHighMs.enter) for 2 intervals";
    assert.deepEqual(rows, [
      [
        "1",
        "feedback-lost",
        "feedbackLink",
        "feedback link cut: continuing on the destination's metrics alone",
      ],
      advance01,
      ["2", "adjust", "latencyHigh", `${why}: congestionControl cubic → bbr`],
      ["2", "adjust", "latencyHigh", `${why}: mtu 1500 → 1400`],
      ["4", "feedback-restored", "feedbackLink", "feedback link restored: source feedback is used again"],
      [
        "5",
        "deferred",
        "sourceDegraded",
        "mtu 1400 → 1200 deferred: changed 6000 ms ago, dwell.minChangeGapMs is 30000 (sourceDegraded: the source reports degraded performance for 2 intervals)",
      ],
    ]);
  });
});

describe("adjustment engine: schedule", () => {
  const gate: PolicyInput = { gates: [{ metric: "jitterMs", op: "<", value: 50 }], failureLimit: 3 };
  const shaky = { ...OK, jitterMs: 80 };

  it("a failed gate pauses the schedule; it resumes when the gates pass", () => {
    const rows = story({ ...gate, schedule: { stepDwellMs: 0 } }, [
      { metrics: OK },
      { metrics: shaky, repeat: 2 },
      { metrics: OK },
    ]);
    assert.deepEqual(rows, [
      advance01,
      ["2", "pause", "gate", "pause at weight 0.1: gate failed (1/3): jitterMs 80 fails < 50"],
      ["3", "pause", "gate", "pause at weight 0.1: gate failed (2/3): jitterMs 80 fails < 50"],
      ["4", "advance", "schedule", "advance: weight 0.1 → 0.25: gates pass and the dwell of 0 ms elapsed"],
    ]);
  });

  it("failureLimit failed gates roll back to the source persona, and the session stays ended", () => {
    const r = simulate(gate, {
      source: SOURCE,
      target: { ...SOURCE, congestionControl: "bbr" },
      timeline: [{ metrics: OK }, { metrics: shaky, repeat: 5 }],
    });
    const last = r.history.at(-1)!;
    assert.deepEqual(
      [last.interval, last.kind, last.reason, last.weight, last.phase],
      [
        4,
        "rollback",
        "rollback: gates failed 3 times at weight 0.1 (failureLimit 3): jitterMs 80 fails < 50",
        0,
        "rolled-back",
      ],
    );
    assert.deepEqual(r.plan.persona, {
      mtuScope: "route",
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "standard" },
    });
    const after = decide(r.final, { timeMs: 99000, metrics: OK, feedbackLinkUp: true });
    assert.deepEqual([after.actions, after.events, after.state], [[], [], r.final]);
  });

  it("the default gates test the target's own path and its new DNS servers from weight 0: a bad target rolls back before any traffic moves", () => {
    const target = { ...SOURCE, congestionControl: "bbr" as const };
    const lossyGateway = { ...OK, targetLossRatio: 0.3, targetRttP90Ms: 31 };
    const r = simulate({}, { source: SOURCE, target, timeline: [{ metrics: lossyGateway, repeat: 4 }] });
    assert.deepEqual(
      r.history.filter((h) => h.kind !== "probe").map((h) => [h.interval, h.kind, h.weight, h.reason]),
      [
        [1, "pause", 0, "pause at weight 0: gate failed (1/3): targetLossPct 30 fails < 5"],
        [2, "pause", 0, "pause at weight 0: gate failed (2/3): targetLossPct 30 fails < 5"],
        [
          3,
          "rollback",
          0,
          "rollback: gates failed 3 times at weight 0 (failureLimit 3): targetLossPct 30 fails < 5",
        ],
      ],
    );
    const silentDns = simulate(
      { failureLimit: 1 },
      {
        source: SOURCE,
        target,
        timeline: [{ metrics: { ...OK, dnsLossRatio: 1 } }],
      },
    );
    assert.deepEqual(
      [silentDns.final.phase, silentDns.final.weight, silentDns.history.at(-1)!.reason],
      [
        "rolled-back",
        0,
        "rollback: gates failed 1 times at weight 0 (failureLimit 1): dnsLossPct 100 fails < 50",
      ],
    );
    const slow = simulate(
      { failureLimit: 1 },
      {
        source: SOURCE,
        target,
        timeline: [{ metrics: { ...OK, targetLossRatio: 0, targetRttP90Ms: 400 } }],
      },
    );
    assert.equal(
      slow.history.at(-1)!.reason,
      "rollback: gates failed 1 times at weight 0 (failureLimit 1): targetRttP90Ms 400 fails < 250",
    );
  });

  it("a target that changes no gateway and adds no DNS server has no target metrics: those gates are not evaluated", () => {
    const r = simulate({ failureLimit: 1 }, { source: SOURCE, timeline: [{ metrics: OK, repeat: 2 }] });
    assert.deepEqual(r.history.filter((h) => h.kind !== "probe")[0].reason, advance01[3]);
    const healthy = { ...OK, targetLossRatio: 0.02, targetRttP90Ms: 35, dnsLossRatio: 0.25 };
    const ok = simulate({}, { source: SOURCE, timeline: [{ metrics: healthy, repeat: 100 }] });
    assert.equal(ok.final.phase, "converged");
  });

  it("gives up and rolls back after maxDurationMs", () => {
    const r = simulate(
      { maxDurationMs: 20000, schedule: { stepDwellMs: 60000 } },
      { source: SOURCE, timeline: [{ metrics: OK, repeat: 20 }] },
    );
    const last = r.history.at(-1)!;
    assert.deepEqual(
      [r.intervals, last.kind, last.rule, last.reason, last.phase, r.plan.weight],
      [
        11,
        "rollback",
        "maxDuration",
        "give up: 22000 ms elapsed without convergence (maxDurationMs 20000): back to the source persona",
        "gave-up",
        0,
      ],
    );
  });

  it("converges with the default policy: 1 + 4 steps × 5 intervals + 3 quiet intervals", () => {
    const r = simulate({}, { source: SOURCE, timeline: [{ metrics: OK, repeat: 100 }] });
    assert.deepEqual([r.intervals, r.final.phase, r.final.weight, r.endedAtMs], [24, "converged", 1, 48000]);
    assert.deepEqual(
      r.history.at(-1)!.reason,
      "converged: weight 1, 3 intervals without adjustment (convergence.quietIntervals 3), metrics inside the thresholds",
    );
  });
});

describe("adjustment engine: policy and input checks", () => {
  it("names the field and the fix", () => {
    const r = parsePolicy({
      thresholds: { latencyHighMs: { enter: 100, exit: 120 } },
      schedule: { steps: [0.5, 0.25] },
      dwel: {},
      extraRules: [
        {
          id: "lossMedium",
          when: { metric: "rtt", op: ">", value: 1 },
          then: { field: "mtu", action: "cap", value: 1400 },
        },
      ],
    });
    assert.deepEqual(r.ok ? [] : r.failures, [
      {
        property: "extraRules[0].when.metric",
        reason:
          "must be one of: rttP50Ms, rttP90Ms, rttP99Ms, lossPct, jitterMs, throughputBps, pathMtu, targetRttP90Ms, targetLossPct, dnsLossPct, sourceRttMs, sourceRetransmissions, sourceThroughputBps, sourceDegraded",
      },
      { property: "dwel", reason: "unknown field 'dwel': remove it or check its spelling" },
    ]);
    const r2 = parsePolicy({
      thresholds: { latencyHighMs: { enter: 100, exit: 120 } },
      schedule: { steps: [0.5, 0.25] },
    });
    assert.deepEqual(r2.ok ? [] : r2.failures, [
      {
        property: "thresholds.latencyHighMs.exit",
        reason: "must be at most enter (100): the hysteresis band lies below enter",
      },
      { property: "schedule.steps[1]", reason: "weights must ascend: 0.25 follows 0.5" },
      { property: "schedule.steps", reason: "must end at weight 1 (the shadow persona fully applied)" },
    ]);
  });

  it("derives the agent's compact session policy defaults from the engine's (one definition)", () => {
    assert.deepEqual(SESSION_POLICY_DEFAULTS, {
      latencyHighMs: 100,
      lossMedium: 0.02,
      weightSteps: [0.1, 0.25, 0.5, 0.75, 1],
      intervalMs: 2000,
      failureLimit: 3,
      convergeIntervals: 3,
      maxDurationSeconds: 600,
      hysteresis: 0.2,
      dwellIntervals: 2,
    });
  });

  it("maps the agent's wire SessionPolicy (hysteresis as a fraction, loss as a ratio)", () => {
    const wire = {
      latencyHighMs: 100,
      lossMedium: 0.02,
      weightSteps: [0.5, 1],
      intervalMs: 1000,
      failureLimit: 2,
      convergeIntervals: 4,
      maxDurationSeconds: 60,
      hysteresis: 0.2,
      dwellIntervals: 3,
    };
    const r = parsePolicy(policyFromCompact(wire));
    assert.ok(r.ok);
    assert.deepEqual(r.value.thresholds.latencyHighMs, { enter: 100, exit: 80 });
    assert.deepEqual(r.value.thresholds.lossMediumPct, { enter: 2, exit: 1.6 });
    assert.deepEqual(
      [
        r.value.probeIntervalMs,
        r.value.maxDurationMs,
        r.value.dwell.enterIntervals,
        r.value.convergence.quietIntervals,
      ],
      [1000, 60000, 3, 4],
    );
  });

  it("refuses metrics outside their range and time going back", () => {
    const s: EngineState = startEngine({ source: SOURCE, timeMs: 1000 });
    assert.throws(() => decide(s, { timeMs: 2000, metrics: { ...OK, lossRatio: 2 }, feedbackLinkUp: true }), {
      name: "EngineInputError",
      message: "engine input: metrics.lossRatio: must be a ratio between 0 and 1, e.g. 0.02 for 2%",
    });
    assert.throws(() => decide(s, { timeMs: 500, metrics: OK, feedbackLinkUp: true }), {
      message: "engine input: timeMs: must not go back: the last decision was at 1000",
    });
  });
});
