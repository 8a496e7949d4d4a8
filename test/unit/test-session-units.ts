// The pure parts of the session runner: the source's samples as feedback reports, the persona view of a
// blend plan (what a plain apply sets while the split parts go their own way), and the policy on the wire.
import { strict as assert } from "node:assert";

import { reportFromSample } from "../../provider/agent/session/feedback";
import { personaView } from "../../provider/agent/session/apply";
import { probeSpacingMs } from "../../provider/agent/session/probes";
import { enginePolicyOf, recordFromWire } from "../../provider/proto/session-policy";
import { blend, DEFAULT_POLICY, parsePolicy } from "../../provider/engine";
import type { MetricsSample__Output } from "../../provider/proto/gen/netpersona/agent/v1/MetricsSample";
import type { SessionPolicy__Output } from "../../provider/proto/gen/netpersona/agent/v1/SessionPolicy";
import { normalizePersona, validatePersona, type Failure } from "../../provider/persona/validate";

/** A SessionPolicy as proto-loader decodes it (every field present, zero when unset). */
function wire(p: Partial<SessionPolicy__Output>): SessionPolicy__Output {
  const zero = {
    latency_high_ms: 0,
    loss_medium: 0,
    weight_steps: [],
    interval_ms: 0,
    failure_limit: 0,
    converge_intervals: 0,
    max_duration_seconds: 0,
    hysteresis: 0,
    dwell_intervals: 0,
    policy_json: "",
  };
  return { ...zero, ...p };
}

function sample(
  at: number,
  p90: number,
  loss: number,
  retrans: number,
  segs: number,
  acked: number,
): MetricsSample__Output {
  const tcp = {
    connections: 1,
    retransmits: String(retrans),
    segments_out: String(segs),
    bytes_acked: String(acked),
    srtt_ms: 1,
    cwnd: 10,
    congestion_controls: ["bbr"],
  };
  const rtt = { min_ms: 1, mean_ms: 2, p50_ms: 2, p90_ms: p90, p99_ms: p90, max_ms: p90 };
  const peer = {
    name: "destination",
    address: "10.0.2.10",
    rtt,
    loss_ratio: loss,
    jitter_ms: 0,
    path_mtu: 1500,
    tcp,
  };
  return { time_unix_ms: String(at), seq: "1", peers: [peer], interfaces: [] };
}

describe("session runner parts", () => {
  it("turns the source's samples into feedback reports with exact figures and verdicts", () => {
    const first = reportFromSample(sample(1000, 3, 0, 10, 1000, 50_000), undefined, DEFAULT_POLICY, 1);
    assert.deepEqual(first.report, {
      seq: 1,
      rttMs: 3,
      retransmissions: 0,
      throughputBps: 0,
      degraded: false,
      note: "source sees the path inside the thresholds",
    });
    const ok = reportFromSample(sample(2000, 4, 0.01, 11, 1200, 175_000), first.counters, DEFAULT_POLICY, 2);
    assert.deepEqual(ok.report, {
      seq: 2,
      rttMs: 4,
      retransmissions: 1,
      throughputBps: 1_000_000,
      degraded: false,
      note: "source sees the path inside the thresholds",
    });
    const bad = reportFromSample(sample(2500, 150, 0.3, 31, 1400, 175_000), ok.counters, DEFAULT_POLICY, 3);
    assert.deepEqual(bad.report, {
      seq: 3,
      rttMs: 150,
      retransmissions: 20,
      throughputBps: 0,
      degraded: true,
      note: "source sees rttP90Ms 150 > 100; lossPct 30.0 > 2; retransmitted 20/200 segments (10.0%) > 2%",
    });
    // No answer to any probe of the sample: the loss says it all.
    const silent = reportFromSample(
      {
        ...sample(3000, 0, 1, 31, 1400, 175_000),
        peers: [{ ...sample(0, 0, 1, 0, 0, 0).peers[0], rtt: null }],
      },
      bad.counters,
      DEFAULT_POLICY,
      4,
    );
    assert.deepEqual([silent.report.rttMs, silent.report.degraded], [0, true]);
  });

  it("leaves the split parts out of the persona view between weight 0 and 1", () => {
    const norm = (p: unknown) => {
      const v = validatePersona(p);
      assert.ok(v.ok);
      return normalizePersona(v.value);
    };
    const source = norm({
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "standard" },
      routes: { preferredGateway: "10.1.0.1", prefixes: [] },
    });
    const target = norm({
      congestionControl: "bbr",
      mtu: 1400,
      qos: { class: "low-latency-data" },
      routes: { preferredGateway: "10.2.0.1", prefixes: [] },
    });
    const half = blend(source, target, 0.5);
    assert.deepEqual(personaView(half), { mtuScope: "route", mtu: 1450, routes: { prefixes: [] } });
    assert.deepEqual(personaView(blend(source, target, 1)), blend(source, target, 1).persona);
    assert.deepEqual(personaView(blend(source, target, 0)), source);
  });

  it("validates policy_json on arrival and merges it over the compact policy", () => {
    const failures: Failure[] = [];
    const p = recordFromWire(
      wire({ interval_ms: 300, policy_json: '{"dwell":{"minChangeGapMs":0}}' }),
      failures,
    );
    assert.deepEqual(failures, []);
    const merged = parsePolicy(enginePolicyOf(p));
    assert.ok(merged.ok);
    assert.deepEqual(
      [merged.value.probeIntervalMs, merged.value.dwell],
      [300, { enterIntervals: 2, exitIntervals: 5, minChangeGapMs: 0 }],
    );
    const bad: Failure[] = [];
    recordFromWire(wire({ policy_json: '{"thresholds":{"latencyHighMs":{"enter":50,"exit":60}}}' }), bad);
    assert.equal(bad[0]?.property, "policy.policy_json.thresholds.latencyHighMs.exit");
    assert.deepEqual([probeSpacingMs(250), probeSpacingMs(2000), probeSpacingMs(100)], [25, 100, 20]);
  });
});
