// The ONE definition of a session's policy between the engine and the wire (session.proto's SessionPolicy).
// The engine's Policy and its defaults (provider/engine/policy.ts) are the source; everything here is derived
// from them: the compact record the agent stores, its defaults, the wire message in both directions, and the
// wire state of an engine phase. The engine itself knows no wire.
import { DEFAULT_POLICY, parsePolicy, type Phase, type Policy, type PolicyInput } from "../engine";
import type { Failure } from "../persona/validate";
import type {
  SessionPolicy as WireSessionPolicy,
  SessionPolicy__Output as WireSessionPolicyOut,
} from "./gen/netpersona/agent/v1/SessionPolicy";
import type { SessionState } from "./gen/netpersona/agent/v1/SessionState";

/** A session's state by name (session.proto's SessionState without UNSPECIFIED). */
export type SessionStateName = Exclude<Extract<SessionState, string>, "SESSION_STATE_UNSPECIFIED">;

/** The compact policy a session record keeps (the fields of session.proto's SessionPolicy, engine units),
 *  plus the full engine policy (PolicyInput JSON) merged over it; absent when none was given. */
export interface SessionPolicyRecord {
  latencyHighMs: number;
  /** Loss ratio 0..1. */
  lossMedium: number;
  weightSteps: number[];
  intervalMs: number;
  failureLimit: number;
  convergeIntervals: number;
  maxDurationSeconds: number;
  /** Fraction below a threshold a metric must fall before a rule releases, 0..1. */
  hysteresis: number;
  dwellIntervals: number;
  policyJson?: string;
}

/** The compact form of an engine policy (what the record shows of it). */
export function compactOf(p: Policy): SessionPolicyRecord {
  const latency = p.thresholds.latencyHighMs;
  return {
    latencyHighMs: latency.enter,
    lossMedium: p.thresholds.lossMediumPct.enter / 100,
    weightSteps: p.schedule.steps.map((s) => s.weight),
    intervalMs: p.probeIntervalMs,
    failureLimit: p.failureLimit,
    convergeIntervals: p.convergence.quietIntervals,
    maxDurationSeconds: Math.ceil(p.maxDurationMs / 1000),
    hysteresis: latency.enter > 0 ? Math.round((1 - latency.exit / latency.enter) * 1000) / 1000 : 0,
    dwellIntervals: p.dwell.enterIntervals,
  };
}

/** Used for every compact field a StartSession request leaves at zero: the engine's defaults. */
export const SESSION_POLICY_DEFAULTS: Readonly<SessionPolicyRecord> = Object.freeze(
  compactOf(DEFAULT_POLICY),
);

/** The wire message the provider sends: the compact fields for the record, the user's whole policy input as
 *  `policy_json` (what the agent's engine really runs). */
export function sessionPolicyToWire(policy: Policy, input: unknown): WireSessionPolicy {
  const c = compactOf(policy);
  // hysteresis and dwell stay 0 (the agent's defaults): the full policy in policy_json says them exactly.
  return {
    interval_ms: c.intervalMs,
    failure_limit: c.failureLimit,
    max_duration_seconds: c.maxDurationSeconds,
    converge_intervals: c.convergeIntervals,
    weight_steps: c.weightSteps,
    latency_high_ms: c.latencyHighMs,
    loss_medium: c.lossMedium,
    policy_json: JSON.stringify(input),
  };
}

/** A stored record as the wire message (GetSession, WatchSession). */
export function recordToWire(p: SessionPolicyRecord): WireSessionPolicy {
  return {
    latency_high_ms: p.latencyHighMs,
    loss_medium: p.lossMedium,
    weight_steps: [...p.weightSteps],
    interval_ms: p.intervalMs,
    failure_limit: p.failureLimit,
    converge_intervals: p.convergeIntervals,
    max_duration_seconds: p.maxDurationSeconds,
    hysteresis: p.hysteresis,
    dwell_intervals: p.dwellIntervals,
    policy_json: p.policyJson ?? "",
  };
}

/** The request's policy over the defaults; problems are appended to `failures` as `policy.<field>`. */
export function recordFromWire(p: WireSessionPolicyOut | null, failures: Failure[]): SessionPolicyRecord {
  const d = SESSION_POLICY_DEFAULTS;
  const pick = (v: number | undefined, def: number) => (v ? v : def);
  const policy: SessionPolicyRecord = {
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
  if (policy.latencyHighMs < 0) {
    failures.push({ property: "policy.latency_high_ms", reason: "must be positive" });
  }
  if (policy.intervalMs < 100) {
    failures.push({ property: "policy.interval_ms", reason: "must be at least 100" });
  }
  const json = p?.policy_json ?? "";
  if (json !== "") policy.policyJson = json;
  if (failures.length === 0) failures.push(...enginePolicyFailures(policy));
  return policy;
}

/** The engine policy a compact record means; fields the compact form lacks keep the engine's defaults.
 *  `overrides` (e.g. a Migration resource's full policy) is merged over it, section by section. */
export function policyFromCompact(w: SessionPolicyRecord, overrides: PolicyInput = {}): PolicyInput {
  const exit = (enter: number) => Math.round(enter * (1 - w.hysteresis) * 1000) / 1000;
  const lossPct = w.lossMedium * 100;
  const base: PolicyInput = {
    probeIntervalMs: w.intervalMs,
    detectionWindowMs: Math.max(10000, w.intervalMs),
    maxDurationMs: w.maxDurationSeconds * 1000,
    failureLimit: w.failureLimit,
    thresholds: {
      latencyHighMs: { enter: w.latencyHighMs, exit: exit(w.latencyHighMs) },
      lossMediumPct: { enter: lossPct, exit: exit(lossPct) },
    },
    dwell: { enterIntervals: w.dwellIntervals },
    schedule: { steps: [...w.weightSteps] },
    convergence: { quietIntervals: w.convergeIntervals },
  };
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const b = out[k];
    const mergeable = b && v && typeof b === "object" && typeof v === "object" && !Array.isArray(v);
    out[k] = mergeable ? { ...b, ...v } : v;
  }
  return out as PolicyInput;
}

function parseOverrides(json: string): { value?: PolicyInput; failure?: Failure } {
  if (json === "") return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return {
      failure: { property: "policy.policy_json", reason: `is not valid JSON: ${(err as Error).message}` },
    };
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
function enginePolicyFailures(p: SessionPolicyRecord): Failure[] {
  const o = parseOverrides(p.policyJson ?? "");
  if (o.failure) return [o.failure];
  const alone = parsePolicy(o.value, ["policy", "policy_json"]);
  if (!alone.ok) return alone.failures;
  const merged = parsePolicy(policyFromCompact(p, o.value), ["policy"]);
  return merged.ok ? [] : merged.failures;
}

/** The engine policy a stored record means: the compact fields, with policy_json merged over them. */
export function enginePolicyOf(p: SessionPolicyRecord): PolicyInput {
  const o = parseOverrides(p.policyJson ?? "");
  if (o.failure) throw new Error(`${o.failure.property}: ${o.failure.reason}`);
  return policyFromCompact(p, o.value);
}

const STATES: Record<Phase, SessionStateName> = {
  blending: "SESSION_STATE_RUNNING",
  paused: "SESSION_STATE_PAUSED",
  converged: "SESSION_STATE_CONVERGED",
  "rolled-back": "SESSION_STATE_ROLLED_BACK",
  "gave-up": "SESSION_STATE_ROLLED_BACK",
};

/** The SessionState of an engine phase. Giving up rolls back, so it reads ROLLED_BACK. */
export function sessionStateOf(phase: Phase): SessionStateName {
  return STATES[phase];
}
