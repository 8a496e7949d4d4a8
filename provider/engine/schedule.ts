// The blend schedule as a state machine (the Flagger model): the weight advances to the next step only when
// every gate passes and the step's dwell elapsed; a failed gate pauses; `failureLimit` failures at one step
// roll back to the source persona; converged = weight 1, `quietIntervals` intervals without a change of the
// applied persona, and the metrics inside the thresholds.
import type { Condition, Policy } from "./policy";
import { fmt, test, type MetricView } from "./rules";
import type { EngineState, Phase, Reason } from "./types";

export type ScheduleFields = Pick<
  EngineState,
  "stepIndex" | "weight" | "stepSinceMs" | "failures" | "quietIntervals"
>;

export interface ScheduleOutcome extends ScheduleFields {
  phase: Phase;
  kind: "advance" | "pause" | "rollback" | "converged" | "none";
  reason?: Reason;
  failedGates: string[];
}

/** The gates that fail on these metrics, as text; a gate on an unknown metric is not evaluated. */
export function failedGates(
  gates: readonly Condition[],
  view: MetricView,
): { text: string[]; first?: Reason } {
  const text: string[] = [];
  let first: Reason | undefined;
  for (const g of gates) {
    const v = view[g.metric];
    if (v === undefined || test(g.op, v, g.value)) continue;
    const t = `${g.metric} ${fmt(v)} fails ${g.op} ${fmt(g.value)}`;
    text.push(t);
    first ??= { rule: "gate", text: t, metric: g.metric, value: v, op: g.op, threshold: g.value };
  }
  return { text, first };
}

export function stepSchedule(
  policy: Policy,
  s: ScheduleFields,
  nowMs: number,
  adjusted: boolean,
  view: MetricView,
  inside: boolean,
): ScheduleOutcome {
  const steps = policy.schedule.steps;
  const last = steps.length - 1;
  const next: ScheduleFields = { ...s };
  if (adjusted) {
    next.stepSinceMs = nowMs;
    next.quietIntervals = 0;
  }
  const gates = failedGates(policy.gates, view);
  if (gates.text.length > 0) {
    next.failures += 1;
    const at = `at weight ${s.weight}`;
    if (next.failures >= policy.failureLimit) {
      const text = `rollback: gates failed ${next.failures} times ${at} (failureLimit ${policy.failureLimit}): ${gates.text.join("; ")}`;
      const reason = { ...gates.first!, rule: "failureLimit", text };
      return {
        ...next,
        stepIndex: -1,
        weight: 0,
        phase: "rolled-back",
        kind: "rollback",
        reason,
        failedGates: gates.text,
      };
    }
    const text = `pause ${at}: gate failed (${next.failures}/${policy.failureLimit}): ${gates.text.join("; ")}`;
    return {
      ...next,
      phase: "paused",
      kind: "pause",
      reason: { ...gates.first!, text },
      failedGates: gates.text,
    };
  }
  const dwell = s.stepIndex < 0 ? 0 : steps[s.stepIndex].dwellMs;
  if (s.stepIndex < last && !adjusted && nowMs - next.stepSinceMs >= dwell) {
    const to = steps[s.stepIndex + 1].weight;
    const text = `advance: weight ${s.weight} → ${to}: gates pass and the dwell of ${dwell} ms elapsed`;
    return {
      ...next,
      stepIndex: s.stepIndex + 1,
      weight: to,
      stepSinceMs: nowMs,
      failures: 0,
      quietIntervals: 0,
      phase: "blending",
      kind: "advance",
      reason: { rule: "schedule", text },
      failedGates: [],
    };
  }
  if (!adjusted) next.quietIntervals += 1;
  const n = policy.convergence.quietIntervals;
  if (next.stepIndex === last && next.quietIntervals >= n && inside) {
    const text = `converged: weight 1, ${next.quietIntervals} intervals without adjustment (convergence.quietIntervals ${n}), metrics inside the thresholds`;
    return {
      ...next,
      phase: "converged",
      kind: "converged",
      reason: { rule: "convergence", text },
      failedGates: [],
    };
  }
  return { ...next, phase: "blending", kind: "none", failedGates: [] };
}
