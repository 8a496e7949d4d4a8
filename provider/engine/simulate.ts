// Runs the adjustment loop over a scripted metrics timeline, without a host: for tests, the demo and
// benchmarks. Pure: the same policy and scenario always give the same history.
import type { Persona, PersonaInput } from "../persona/schema";
import type { BlendPlan } from "./blend";
import { decide, startEngine } from "./decide";
import type { Policy, PolicyInput } from "./policy";
import type { EngineEvent, EngineState, MetricsWindow, SourceFeedback } from "./types";

export interface ScenarioStep {
  metrics: MetricsWindow;
  feedback?: SourceFeedback;
  /** Default true. */
  feedbackLinkUp?: boolean;
  /** How many consecutive intervals see these metrics (default 1). */
  repeat?: number;
}

export interface Scenario {
  source: PersonaInput;
  target?: PersonaInput;
  /** Default 0. The first decision is one interval after the start. */
  startMs?: number;
  /** Default: the policy's probeIntervalMs. */
  intervalMs?: number;
  timeline: ScenarioStep[];
  /** Repeat the last step until the session ends, at most this many extra intervals (default 0). */
  holdLast?: number;
}

export interface HistoryEntry extends EngineEvent {
  /** 1 for the first decision. */
  interval: number;
  metrics: MetricsWindow;
}

export interface Simulation {
  history: HistoryEntry[];
  final: EngineState;
  persona: Persona;
  plan: BlendPlan;
  /** Decisions made (intervals), and how many of them handed out a plan to apply. */
  intervals: number;
  applies: number;
  /** Time of the decision that ended the session, if it ended. */
  endedAtMs?: number;
}

function* timeline(s: Scenario): Generator<ScenarioStep> {
  for (const step of s.timeline) for (let i = 0; i < (step.repeat ?? 1); i++) yield step;
  const last = s.timeline.at(-1);
  if (last) for (let i = 0; i < (s.holdLast ?? 0); i++) yield last;
}

export function simulate(policy: PolicyInput | Policy, scenario: Scenario): Simulation {
  const start = scenario.startMs ?? 0;
  let state = startEngine({ source: scenario.source, target: scenario.target, policy, timeMs: start });
  const every = scenario.intervalMs ?? state.policy.probeIntervalMs;
  const history: HistoryEntry[] = [];
  let intervals = 0;
  let applies = 0;
  let plan: BlendPlan | undefined;
  let endedAtMs: number | undefined;
  for (const step of timeline(scenario)) {
    intervals += 1;
    const d = decide(state, {
      timeMs: start + intervals * every,
      metrics: step.metrics,
      feedbackLinkUp: step.feedbackLinkUp ?? true,
      ...(step.feedback && { feedback: step.feedback }),
    });
    state = d.state;
    plan = d.plan;
    if (d.actions.some((a) => a.type === "apply")) applies += 1;
    for (const e of d.events) history.push({ ...e, interval: intervals, metrics: step.metrics });
    if (state.phase === "converged" || state.phase === "rolled-back" || state.phase === "gave-up") {
      endedAtMs = start + intervals * every;
      break;
    }
  }
  if (!plan) throw new Error("simulate: the scenario's timeline is empty: give at least one step");
  return { history, final: state, persona: state.shadow, plan, intervals, applies, endedAtMs };
}
