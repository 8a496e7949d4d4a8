// Between the engine and the agent's session API (session.proto): the wire's compact SessionPolicy as an
// engine policy, and the engine's phase as a SessionState.
import type { PolicyInput } from "./policy";
import type { Phase } from "./types";

/** The compact session policy of session.proto, as the agent keeps it (provider/agent/sessions.ts extends it). */
export interface WireSessionPolicy {
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
}

/** The engine policy a wire SessionPolicy means; fields the wire lacks keep the engine's defaults.
 *  `overrides` (e.g. a Migration resource's full policy) is merged over it, section by section. */
export function policyFromSession(w: WireSessionPolicy, overrides: PolicyInput = {}): PolicyInput {
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

const STATES: Record<Phase, string> = {
  blending: "SESSION_STATE_RUNNING",
  paused: "SESSION_STATE_PAUSED",
  converged: "SESSION_STATE_CONVERGED",
  "rolled-back": "SESSION_STATE_ROLLED_BACK",
  "gave-up": "SESSION_STATE_ROLLED_BACK",
};

/** The SessionState (session.proto) of an engine phase. Giving up rolls back, so it reads ROLLED_BACK. */
export function sessionStateOf(phase: Phase): string {
  return STATES[phase];
}
