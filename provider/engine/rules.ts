// The rule table: the built-in rules of the specification and the policy's extra rules, all in one shape.
// A rule looks at one metric and says, for this interval, whether its enter condition holds, its exit
// (recovery) condition holds, the metric sits in the hysteresis band between them, or it is unknown.
import { MTU_MIN } from "../persona/schema";
import type { Effect, Policy } from "./policy";
import { BUILTIN_RULE_IDS, recoveredId, type BuiltinRuleId } from "./rule-ids";
import type { EngineInput, Metric, Op, Reason } from "./types";

export type MetricView = Record<Metric, number | undefined>;
export type Evidence = Omit<Reason, "field" | "from" | "to">;
export type Status =
  | { kind: "enter"; evidence: Evidence }
  | { kind: "exit"; evidence: Evidence }
  | { kind: "band" }
  | { kind: "unknown" };

export interface RuleDef {
  id: string;
  enabled: boolean;
  recover: boolean;
  effects: Effect[];
  /** The PMTU rule caps the MTU at the value its latch remembers instead of a fixed one. */
  dynamicCap?: boolean;
  status(view: MetricView, mtu: { current: number; baseline: number }): Status;
}

/** What the rules and gates can test, from one input. Source metrics are unknown while the link is down. */
export function metricView(input: EngineInput): MetricView {
  const m = input.metrics;
  const f = input.feedbackLinkUp ? input.feedback : undefined;
  return {
    rttP50Ms: m.rttP50Ms,
    rttP90Ms: m.rttP90Ms,
    rttP99Ms: m.rttP99Ms,
    lossPct: m.lossRatio * 100,
    jitterMs: m.jitterMs,
    throughputBps: m.throughputBps,
    pathMtu: m.pathMtu > 0 ? m.pathMtu : undefined,
    targetRttP90Ms: m.targetRttP90Ms,
    targetLossPct: m.targetLossRatio === undefined ? undefined : m.targetLossRatio * 100,
    dnsLossPct: m.dnsLossRatio === undefined ? undefined : m.dnsLossRatio * 100,
    sourceRttMs: f?.rttMs,
    sourceRetransmissions: f?.retransmissions,
    sourceThroughputBps: f?.throughputBps,
    sourceDegraded: f === undefined ? undefined : f.degraded ? 1 : 0,
  };
}

export function test(op: Op, v: number, threshold: number): boolean {
  if (op === ">") return v > threshold;
  if (op === ">=") return v >= threshold;
  if (op === "<") return v < threshold;
  return v <= threshold;
}

const band = (name: string): [string, string] => [`thresholds.${name}.enter`, `thresholds.${name}.exit`];

const NEGATE: Record<Op, Op> = { ">": "<=", ">=": "<", "<": ">=", "<=": ">" };

export const fmt = (v: number): string => String(Math.round(v * 100) / 100);

function evidence(
  id: string,
  metric: Metric,
  value: number,
  op: Op,
  threshold: number,
  name: string,
): Evidence {
  const text = `${id}: ${metric} ${fmt(value)} ${op} ${fmt(threshold)} (${name})`;
  return { rule: id, metric, value, op, threshold, text };
}

/** A rule on `metric` with enter test `op enter` and exit when `op exit` no longer holds. */
function banded(id: string, metric: Metric, op: Op, enter: number, exit: number, names: [string, string]) {
  return (view: MetricView): Status => {
    const v = view[metric];
    if (v === undefined) return { kind: "unknown" };
    if (test(op, v, enter)) return { kind: "enter", evidence: evidence(id, metric, v, op, enter, names[0]) };
    const back = NEGATE[op];
    if (test(back, v, exit))
      return { kind: "exit", evidence: evidence(recoveredId(id), metric, v, back, exit, names[1]) };
    return { kind: "band" };
  };
}

function pmtuStatus(headroom: number) {
  return (view: MetricView, mtu: { current: number; baseline: number }): Status => {
    const p = view.pathMtu;
    if (p === undefined) return { kind: "unknown" };
    const cap = Math.max(MTU_MIN, p - headroom);
    const base = { rule: "pmtuBlackHole", metric: "pathMtu" as const, value: p };
    if (cap < mtu.current) {
      const text = `pmtuBlackHole: pathMtu ${p} minus headroom ${headroom} = ${cap} < mtu ${mtu.current}`;
      return { kind: "enter", evidence: { ...base, op: "<", threshold: mtu.current, text } };
    }
    if (cap >= mtu.baseline) {
      const text = `pmtuBlackHole.recovered: pathMtu ${p} minus headroom ${headroom} = ${cap} >= configured mtu ${mtu.baseline}`;
      const back = { ...base, rule: "pmtuBlackHole.recovered", op: ">=" as const, threshold: mtu.baseline };
      return { kind: "exit", evidence: { ...back, text } };
    }
    return { kind: "band" };
  };
}

function degradedStatus(view: MetricView): Status {
  const v = view.sourceDegraded;
  if (v === undefined) return { kind: "unknown" };
  const base = { rule: "sourceDegraded", metric: "sourceDegraded" as const, value: v, threshold: 1 };
  return v === 1
    ? {
        kind: "enter",
        evidence: { ...base, op: ">=", text: "sourceDegraded: the source reports degraded performance" },
      }
    : {
        kind: "exit",
        evidence: {
          ...base,
          rule: "sourceDegraded.recovered",
          op: "<",
          text: "sourceDegraded.recovered: the source no longer reports degradation",
        },
      };
}

/** Every rule of the policy, built-ins first (in BUILTIN_RULE_IDS order), then the extra rules. */
export function ruleTable(policy: Policy): RuleDef[] {
  const t = policy.thresholds;
  const raise: Effect = { field: "qos.class", action: "raise", value: policy.qos.raiseSteps };
  const bbr: Effect = { field: "congestionControl", action: "set", value: "bbr" };
  const builtins: Record<BuiltinRuleId, Omit<RuleDef, "id" | "enabled" | "recover">> = {
    latencyHigh: {
      effects: [bbr, { field: "mtu", action: "cap", value: policy.mtu.latencyCap }],
      status: banded(
        "latencyHigh",
        "rttP90Ms",
        ">",
        t.latencyHighMs.enter,
        t.latencyHighMs.exit,
        band("latencyHighMs"),
      ),
    },
    lossMedium: {
      effects: [raise],
      status: banded(
        "lossMedium",
        "lossPct",
        ">",
        t.lossMediumPct.enter,
        t.lossMediumPct.exit,
        band("lossMediumPct"),
      ),
    },
    sourceDegraded: {
      effects: [{ field: "mtu", action: "cap", value: policy.mtu.degradedCap }],
      status: degradedStatus,
    },
    pmtuBlackHole: {
      effects: [{ field: "mtu", action: "cap", value: MTU_MIN }],
      dynamicCap: true,
      status: pmtuStatus(policy.mtu.pmtuHeadroom),
    },
    jitterHigh: {
      effects: [raise],
      status: banded(
        "jitterHigh",
        "jitterMs",
        ">",
        t.jitterHighMs.enter,
        t.jitterHighMs.exit,
        band("jitterHighMs"),
      ),
    },
    throughputLow: {
      effects: [bbr],
      status: banded(
        "throughputLow",
        "throughputBps",
        "<",
        t.throughputFloorBps.enter,
        t.throughputFloorBps.exit,
        band("throughputFloorBps"),
      ),
    },
  };
  const table: RuleDef[] = BUILTIN_RULE_IDS.map((id) => ({ id, ...policy.rules[id], ...builtins[id] }));
  for (const r of policy.extraRules) {
    const w = r.when;
    table.push({
      id: r.id,
      enabled: true,
      recover: r.recover,
      effects: Array.isArray(r.then) ? r.then : [r.then],
      status: banded(r.id, w.metric, w.op, w.value, r.exitValue ?? w.value, [
        `extraRules.${r.id}.when.value`,
        `extraRules.${r.id}.${r.exitValue === undefined ? "when.value" : "exitValue"}`,
      ]),
    });
  }
  return table;
}
