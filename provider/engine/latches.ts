// Hysteresis and dwell: a rule fires only after its enter condition held for `enterIntervals` consecutive
// intervals, and recovers only after its exit condition held for `exitIntervals` (and only when the policy
// lets it recover). Values in the band between enter and exit break both streaks and change nothing.
import { MTU_MIN } from "../persona/schema";
import type { Policy } from "./policy";
import type { Evidence, MetricView, RuleDef } from "./rules";
import type { Latch } from "./types";

export interface LatchEvent {
  rule: string;
  kind: "fired" | "recovered";
  evidence: Evidence;
}

export interface LatchUpdate {
  latches: Record<string, Latch>;
  events: LatchEvent[];
  /** True when no enabled rule's enter condition holds now (the metrics are inside the thresholds). */
  inside: boolean;
}

const fresh = (): Latch => ({ active: false, enterCount: 0, exitCount: 0 });

export function updateLatches(
  rules: readonly RuleDef[],
  previous: Readonly<Record<string, Latch>>,
  view: MetricView,
  mtu: { current: number; baseline: number },
  policy: Policy,
  nowMs: number,
): LatchUpdate {
  const latches: Record<string, Latch> = {};
  const events: LatchEvent[] = [];
  let inside = true;
  for (const rule of rules) {
    const l: Latch = { ...(previous[rule.id] ?? fresh()) };
    latches[rule.id] = l;
    if (!rule.enabled) continue;
    const s = rule.status(view, mtu);
    if (s.kind === "unknown") continue;
    if (s.kind === "band") {
      l.enterCount = 0;
      l.exitCount = 0;
      continue;
    }
    if (s.kind === "enter") {
      inside = false;
      l.exitCount = 0;
      l.enterCount += 1;
      // An active rule fires again only when it carries a measured cap that can go lower (PMTU).
      if (l.enterCount >= policy.dwell.enterIntervals && (!l.active || rule.dynamicCap)) {
        const text = `${s.evidence.text} for ${l.enterCount} intervals`;
        if (rule.dynamicCap) {
          const cap = Math.max(MTU_MIN, (s.evidence.value ?? 0) - policy.mtu.pmtuHeadroom);
          l.capMtu = Math.min(l.capMtu ?? cap, cap);
        }
        l.active = true;
        l.enterCount = 0;
        l.changedAtMs = nowMs;
        l.evidence = { ...s.evidence, text };
        events.push({ rule: rule.id, kind: "fired", evidence: l.evidence });
      }
      continue;
    }
    l.enterCount = 0;
    l.exitCount += 1;
    if (l.active && rule.recover && l.exitCount >= policy.dwell.exitIntervals) {
      const text = `${s.evidence.text} for ${l.exitCount} intervals`;
      l.active = false;
      l.exitCount = 0;
      delete l.capMtu;
      l.changedAtMs = nowMs;
      l.evidence = { ...s.evidence, text };
      events.push({ rule: rule.id, kind: "recovered", evidence: l.evidence });
    }
  }
  return { latches, events, inside };
}
