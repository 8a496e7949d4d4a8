// What the adjustment engine reads (one measurement interval), what it remembers between intervals and what
// it answers. Everything here is plain JSON: the session loop can persist the state and replay decisions.
import { z } from "zod";

import type { Persona } from "../persona/schema";
import type { BlendPlan } from "./blend";
import type { Metric, Op } from "./conditions";
import type { Policy } from "./policy";

export { METRICS, OPS, type Metric, type Op } from "./conditions";

const nonNegative = (what: string) =>
  z.number(`must be a finite number (${what})`).min(0, `must be ≥ 0 (${what})`);

const ratio = (what: string) => nonNegative(what).max(1, "must be a ratio between 0 and 1, e.g. 0.02 for 2%");

/** Summary of the destination's measurements over the detection window. */
export const metricsSchema = z.strictObject({
  rttP50Ms: nonNegative("median RTT in ms"),
  rttP90Ms: nonNegative("90th percentile RTT in ms"),
  rttP99Ms: nonNegative("99th percentile RTT in ms").optional(),
  lossRatio: ratio("lost/sent probes"),
  jitterMs: nonNegative("mean RTT variation in ms"),
  throughputBps: nonNegative("bits per second"),
  pathMtu: z
    .int("must be a whole number of bytes; 0 when not measured")
    .min(0, "must be ≥ 0; 0 when not measured")
    .max(65535, "must be at most 65535"),
  /** The target's own path, before traffic takes it: echo probes routed only through the target persona's
   *  preferred gateway (absent when the target changes no gateway). */
  targetRttP90Ms: nonNegative("90th percentile RTT through the target's gateway in ms").optional(),
  targetLossRatio: ratio("lost/sent probes through the target's gateway").optional(),
  /** Queries to the DNS servers the target adds, unanswered / sent, the worst server (absent: none added). */
  dnsLossRatio: ratio("unanswered/sent queries to the target's new DNS servers").optional(),
});
export type MetricsWindow = z.output<typeof metricsSchema>;

/** The latest report of the source agent (how the source perceives the connection). */
export const feedbackSchema = z.strictObject({
  rttMs: nonNegative("source's RTT in ms"),
  retransmissions: nonNegative("source's retransmitted segments"),
  throughputBps: nonNegative("source's bits per second"),
  degraded: z.boolean("must be true or false"),
});
export type SourceFeedback = z.output<typeof feedbackSchema>;

export const inputSchema = z.strictObject({
  /** Time of this decision, ms (any monotonic clock; the engine never reads one). */
  timeMs: z.number("must be a finite number of milliseconds"),
  metrics: metricsSchema,
  /** False when the feedback stream to the source is cut: the engine then uses the destination's metrics only. */
  feedbackLinkUp: z.boolean("must be true or false"),
  feedback: feedbackSchema.optional(),
});
export type EngineInput = z.input<typeof inputSchema>;

/** The persona fields the engine tunes. */
export type Field = "congestionControl" | "mtu" | "qos.class";
export const FIELDS: readonly Field[] = ["congestionControl", "mtu", "qos.class"];

export interface FieldChange {
  field: Field;
  from: string;
  to: string;
}

/** Why something happened: the rule, the evidence (metric, value, threshold) and a sentence saying it all. */
export interface Reason {
  rule: string;
  text: string;
  field?: Field;
  from?: string;
  to?: string;
  metric?: Metric;
  value?: number;
  op?: Op;
  threshold?: number;
}

/** Hysteresis and dwell memory of one rule. */
export interface Latch {
  active: boolean;
  /** Consecutive intervals the enter condition held / the exit condition held. */
  enterCount: number;
  exitCount: number;
  /** The MTU cap a PMTU rule set (the lowest measured path MTU minus headroom). */
  capMtu?: number;
  /** The evidence of the latest firing or recovery, for the reason of a change applied later. */
  evidence?: Omit<Reason, "field" | "from" | "to">;
  /** Time of the latest firing or recovery: a field change is attributed to the latest rule that moved. */
  changedAtMs?: number;
}

export type Phase = "blending" | "paused" | "converged" | "rolled-back" | "gave-up";
export const TERMINAL: ReadonlySet<Phase> = new Set(["converged", "rolled-back", "gave-up"]);

export interface EngineState {
  version: 1;
  policy: Policy;
  phase: Phase;
  startedAtMs: number;
  lastTimeMs: number;
  /** The source's live persona (what a rollback restores), the shadow as configured, the shadow as tuned. */
  source: Persona;
  baseline: Persona;
  shadow: Persona;
  /** -1 before the first schedule step (weight 0). */
  stepIndex: number;
  weight: number;
  /** When the current step began (or the shadow last changed): its dwell counts from here. */
  stepSinceMs: number;
  /** Failed gate evaluations since the last advance. */
  failures: number;
  /** Consecutive intervals without a change of the applied plan. */
  quietIntervals: number;
  intervals: number;
  latches: Record<string, Latch>;
  /** Time of the latest change per field (minimum gap between two changes of the same field). */
  lastChangeMs: Partial<Record<Field, number>>;
  feedbackLinkUp: boolean;
  /** JSON of the plan last handed out for applying. */
  appliedPlanKey: string;
}

/** The kinds match SessionEvent.kind on the wire, plus the feedback link transitions. */
export type EventKind =
  | "probe"
  | "adjust"
  | "deferred"
  | "advance"
  | "pause"
  | "rollback"
  | "converged"
  | "failed"
  | "feedback-lost"
  | "feedback-restored";

export interface EngineEvent {
  timeMs: number;
  kind: EventKind;
  rule: string;
  changes: FieldChange[];
  reason: string;
  weight: number;
  phase: Phase;
}

export type EngineAction =
  | { type: "apply"; plan: BlendPlan }
  | { type: "adjust"; changes: FieldChange[] }
  | { type: "advance"; from: number; to: number }
  | { type: "pause"; failedGates: string[]; failures: number }
  | { type: "rollback" }
  | { type: "give-up" }
  | { type: "converged" };

export interface Decision {
  state: EngineState;
  /** The shadow persona as tuned (validatePersona ok). */
  persona: Persona;
  /** What to put on the host now: the blend of source and shadow at the current weight. */
  plan: BlendPlan;
  actions: EngineAction[];
  reasons: Reason[];
  events: EngineEvent[];
}

export class EngineInputError extends Error {
  constructor(readonly failures: { property: string; reason: string }[]) {
    super(`engine input: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.name = "EngineInputError";
  }
}
