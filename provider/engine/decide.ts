// The Persona Adjustment Engine: `decide(state, input)` → next state, tuned shadow persona, the blend plan
// to apply, actions and reasons. Pure and deterministic: no I/O, no clock (time is an input), no randomness.
import type { Persona, PersonaInput } from "../persona/schema";
import { issuesToFailures, validatePersona } from "../persona/validate";
import { blend, type BlendPlan } from "./blend";
import { deriveShadow } from "./derive";
import { updateLatches } from "./latches";
import { parsePolicy, type Policy, type PolicyInput } from "./policy";
import { metricView, ruleTable } from "./rules";
import { stepSchedule } from "./schedule";
import {
  EngineInputError,
  inputSchema,
  TERMINAL,
  type Decision,
  type EngineAction,
  type EngineEvent,
  type EngineInput,
  type EngineState,
  type Reason,
} from "./types";

export interface StartOptions {
  /** The source host's live persona: what blending starts from and a rollback restores. */
  source: PersonaInput;
  /** The shadow persona as configured for the destination; default: a mirror of `source`. */
  target?: PersonaInput;
  policy?: PolicyInput | Policy;
  /** Start of the session (ms); the dwell, gates and maxDurationMs count from here. */
  timeMs: number;
}

function persona(input: unknown, field: string): Persona {
  const r = validatePersona(input, [field]);
  if (!r.ok) throw new EngineInputError(r.failures);
  return r.value;
}

/** The engine's state at the start of a session: weight 0 (the source persona), nothing applied yet. */
export function startEngine(opts: StartOptions): EngineState {
  const p = parsePolicy(opts.policy ?? {}, ["policy"]);
  if (!p.ok) throw new EngineInputError(p.failures);
  if (!Number.isFinite(opts.timeMs))
    throw new EngineInputError([{ property: "timeMs", reason: "must be a finite number" }]);
  const source = persona(opts.source, "source");
  const baseline = opts.target === undefined ? source : persona(opts.target, "target");
  return {
    version: 1,
    policy: p.value,
    phase: "blending",
    startedAtMs: opts.timeMs,
    lastTimeMs: opts.timeMs,
    source,
    baseline,
    shadow: baseline,
    stepIndex: -1,
    weight: 0,
    stepSinceMs: opts.timeMs,
    failures: 0,
    quietIntervals: 0,
    intervals: 0,
    latches: {},
    lastChangeMs: {},
    feedbackLinkUp: true,
    appliedPlanKey: "",
  };
}

function checked(p: Persona, what: string): Persona {
  const r = validatePersona(p);
  if (!r.ok) throw new Error(`engine produced an invalid ${what}: ${JSON.stringify(r.failures)}`);
  return r.value;
}

/** The blend at the state's weight; a measured path MTU (minus the policy's headroom) caps its MTU. */
export function planFor(state: EngineState, pathMtu: number): BlendPlan {
  const m = state.policy.mtu;
  const cap = pathMtu > 0 ? Math.max(1, pathMtu - m.pmtuHeadroom) : 0;
  const plan = blend(state.source, state.shadow, state.weight, {
    pathMtu: cap,
    assumedLinkMtu: m.assumedLinkMtu,
  });
  checked(plan.persona, "blended persona");
  return plan;
}

export function decide(state: EngineState, raw: EngineInput): Decision {
  const parsed = inputSchema.safeParse(raw);
  if (!parsed.success) throw new EngineInputError(issuesToFailures(parsed.error.issues, raw));
  const input = parsed.data;
  const now = input.timeMs;
  if (TERMINAL.has(state.phase)) {
    return {
      state,
      persona: state.shadow,
      plan: planFor(state, input.metrics.pathMtu),
      actions: [],
      reasons: [],
      events: [],
    };
  }
  if (now < state.lastTimeMs) {
    throw new EngineInputError([
      { property: "timeMs", reason: `must not go back: the last decision was at ${state.lastTimeMs}` },
    ]);
  }
  const policy = state.policy;
  const view = metricView(input);
  const next: EngineState = { ...state, lastTimeMs: now, intervals: state.intervals + 1 };
  const reasons: Reason[] = [];
  const events: EngineEvent[] = [];
  const actions: EngineAction[] = [];
  const event = (kind: EngineEvent["kind"], r: Reason, changes: EngineEvent["changes"] = []) => {
    reasons.push(r);
    events.push({
      timeMs: now,
      kind,
      rule: r.rule,
      changes,
      reason: r.text,
      weight: next.weight,
      phase: next.phase,
    });
  };

  if (input.feedbackLinkUp !== state.feedbackLinkUp) {
    next.feedbackLinkUp = input.feedbackLinkUp;
    const text = input.feedbackLinkUp
      ? "feedback link restored: source feedback is used again"
      : "feedback link cut: continuing on the destination's metrics alone";
    event(input.feedbackLinkUp ? "feedback-restored" : "feedback-lost", { rule: "feedbackLink", text });
  }

  if (now - state.startedAtMs > policy.maxDurationMs) {
    Object.assign(next, { phase: "gave-up", weight: 0, stepIndex: -1 });
    const text = `give up: ${now - state.startedAtMs} ms elapsed without convergence (maxDurationMs ${policy.maxDurationMs}): back to the source persona`;
    event("rollback", { rule: "maxDuration", text });
    actions.push({ type: "give-up" });
  } else {
    const rules = ruleTable(policy);
    const assumed = policy.mtu.assumedLinkMtu;
    const mtu = { current: state.shadow.mtu ?? assumed, baseline: state.baseline.mtu ?? assumed };
    const lu = updateLatches(rules, state.latches, view, mtu, policy, now);
    const d = deriveShadow(policy, rules, lu.latches, state.baseline, state.shadow, state.lastChangeMs, now);
    Object.assign(next, {
      latches: lu.latches,
      shadow: checked(d.shadow, "shadow persona"),
      lastChangeMs: d.lastChangeMs,
    });
    d.reasons.forEach((r, i) => event("adjust", r, [d.changes[i]]));
    d.deferred.forEach((r) => event("deferred", r));
    const explained = new Set([...d.reasons, ...d.deferred].map((r) => r.rule));
    for (const e of lu.events) {
      if (!explained.has(e.evidence.rule))
        event("probe", { ...e.evidence, text: `${e.evidence.text}: no field to change` });
    }
    if (d.changes.length > 0) actions.push({ type: "adjust", changes: d.changes });

    const s = stepSchedule(policy, next, now, d.changes.length > 0, view, lu.inside);
    const from = next.weight;
    Object.assign(next, {
      stepIndex: s.stepIndex,
      weight: s.weight,
      stepSinceMs: s.stepSinceMs,
      failures: s.failures,
      quietIntervals: s.quietIntervals,
      phase: s.phase,
    });
    if (s.kind !== "none" && s.reason) event(s.kind, s.reason);
    if (s.kind === "advance") actions.push({ type: "advance", from, to: s.weight });
    if (s.kind === "pause") actions.push({ type: "pause", failedGates: s.failedGates, failures: s.failures });
    if (s.kind === "rollback") actions.push({ type: "rollback" });
    if (s.kind === "converged") actions.push({ type: "converged" });
  }

  const plan = planFor(next, input.metrics.pathMtu);
  const key = JSON.stringify(plan);
  if (key !== state.appliedPlanKey) {
    next.appliedPlanKey = key;
    actions.unshift({ type: "apply", plan });
  }
  if (events.length === 0) {
    events.push({
      timeMs: now,
      kind: "probe",
      rule: "",
      changes: [],
      reason: "",
      weight: next.weight,
      phase: next.phase,
    });
  }
  return { state: next, persona: next.shadow, plan, actions, reasons, events };
}
