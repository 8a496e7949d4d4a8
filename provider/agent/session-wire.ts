// Sessions between their stored shape (sessions.ts) and the wire messages (session.proto).
import { parsePolicy, policyFromSession, type PolicyInput } from "../engine";
import { personaToWire } from "../proto/persona";
import type { Session } from "../proto/gen/netpersona/agent/v1/Session";
import type { SessionEvent } from "../proto/gen/netpersona/agent/v1/SessionEvent";
import type { SessionPolicy__Output } from "../proto/gen/netpersona/agent/v1/SessionPolicy";
import type { Failure } from "../persona/validate";
import type { SessionEventRecord, SessionPolicy, SessionRecord } from "./sessions";

/** Used for every policy field the request leaves at zero. */
export const DEFAULT_POLICY: SessionPolicy = {
  latencyHighMs: 100,
  lossMedium: 0.02,
  weightSteps: [0.1, 0.25, 0.5, 0.75, 1],
  intervalMs: 2000,
  failureLimit: 3,
  convergeIntervals: 3,
  maxDurationSeconds: 600,
  hysteresis: 0.2,
  dwellIntervals: 2,
};

/** The request's policy over the defaults; problems are appended to `failures` as `policy.<field>`. */
export function policyFromWire(p: SessionPolicy__Output | null, failures: Failure[]): SessionPolicy {
  const d = DEFAULT_POLICY;
  const pick = (v: number | undefined, def: number) => (v ? v : def);
  const policy: SessionPolicy = {
    latencyHighMs: pick(p?.latency_high_ms, d.latencyHighMs),
    lossMedium: pick(p?.loss_medium, d.lossMedium),
    weightSteps: p && p.weight_steps.length > 0 ? [...p.weight_steps] : [...d.weightSteps],
    intervalMs: pick(p?.interval_ms, d.intervalMs),
    failureLimit: pick(p?.failure_limit, d.failureLimit),
    convergeIntervals: pick(p?.converge_intervals, d.convergeIntervals),
    maxDurationSeconds: pick(p?.max_duration_seconds, d.maxDurationSeconds),
    hysteresis: pick(p?.hysteresis, d.hysteresis),
    dwellIntervals: pick(p?.dwell_intervals, d.dwellIntervals),
  };
  const w = policy.weightSteps;
  if (w.some((x, i) => !(x > 0 && x <= 1) || (i > 0 && x <= w[i - 1])) || w[w.length - 1] !== 1) {
    failures.push({ property: "policy.weight_steps", reason: "must ascend within (0, 1] and end at 1" });
  }
  if (policy.lossMedium >= 1 || policy.lossMedium < 0) {
    failures.push({ property: "policy.loss_medium", reason: "must be a ratio between 0 and 1" });
  }
  if (policy.hysteresis >= 1 || policy.hysteresis < 0) {
    failures.push({ property: "policy.hysteresis", reason: "must be a fraction between 0 and 1" });
  }
  if (policy.latencyHighMs < 0)
    failures.push({ property: "policy.latency_high_ms", reason: "must be positive" });
  if (policy.intervalMs < 100)
    failures.push({ property: "policy.interval_ms", reason: "must be at least 100" });
  const json = p?.policy_json ?? "";
  if (json !== "") policy.policyJson = json;
  if (failures.length === 0) failures.push(...enginePolicyFailures(policy));
  return policy;
}

function parseOverrides(json: string): { value?: PolicyInput; failure?: Failure } {
  if (json === "") return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { failure: { property: "policy.policy_json", reason: `is not valid JSON: ${(err as Error).message}` } }; // prettier-ignore
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return {
      failure: { property: "policy.policy_json", reason: "must be a JSON object (an engine policy)" },
    };
  }
  return { value: value as PolicyInput };
}

/** Problems of the full policy: `policy_json` alone (named `policy.policy_json.<field>`), then merged over
 *  the compact fields (named by the engine field, `policy.<field>`). */
function enginePolicyFailures(p: SessionPolicy): Failure[] {
  const o = parseOverrides(p.policyJson ?? "");
  if (o.failure) return [o.failure];
  const alone = parsePolicy(o.value, ["policy", "policy_json"]);
  if (!alone.ok) return alone.failures;
  const merged = parsePolicy(policyFromSession(p, o.value), ["policy"]);
  return merged.ok ? [] : merged.failures;
}

/** The engine policy a stored session policy means: the compact fields, with policy_json merged over them. */
export function enginePolicy(p: SessionPolicy): PolicyInput {
  const o = parseOverrides(p.policyJson ?? "");
  if (o.failure) throw new Error(`${o.failure.property}: ${o.failure.reason}`);
  return policyFromSession(p, o.value);
}

export function sessionToWire(s: SessionRecord): Session {
  const p = s.policy;
  return {
    id: s.id,
    state: s.state,
    weight: s.weight,
    converged: s.converged,
    policy: {
      latency_high_ms: p.latencyHighMs,
      loss_medium: p.lossMedium,
      weight_steps: p.weightSteps,
      interval_ms: p.intervalMs,
      failure_limit: p.failureLimit,
      converge_intervals: p.convergeIntervals,
      max_duration_seconds: p.maxDurationSeconds,
      hysteresis: p.hysteresis,
      dwell_intervals: p.dwellIntervals,
      policy_json: p.policyJson ?? "",
    },
    source_persona: personaToWire(s.sourcePersona),
    shadow_persona: personaToWire(s.shadowPersona),
    target_persona: s.targetPersona ? personaToWire(s.targetPersona) : null,
    blended_persona: s.blendedPersona ? personaToWire(s.blendedPersona) : null,
    source_agent: s.sourceAgent,
    peer_address: s.peerAddress,
    peer_port: s.peerPort ?? 0,
    started_unix_ms: s.startedUnixMs,
    updated_unix_ms: s.updatedUnixMs,
    reason: s.reason,
    event_count: s.eventCount ?? s.events.length,
  };
}

export function eventToWire(e: SessionEventRecord): SessionEvent {
  const m = e.metrics;
  return {
    session_id: e.sessionId,
    seq: e.seq,
    time_unix_ms: e.timeUnixMs,
    kind: e.kind,
    metrics: m
      ? {
          rtt_p50_ms: m.rttP50Ms,
          rtt_p90_ms: m.rttP90Ms,
          loss_ratio: m.lossRatio,
          jitter_ms: m.jitterMs,
          throughput_bps: m.throughputBps,
          path_mtu: m.pathMtu,
        }
      : null,
    rule: e.rule,
    changes: e.changes,
    reason: e.reason,
    weight: e.weight,
    converged: e.converged,
    state: e.state,
  };
}
