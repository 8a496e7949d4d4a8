// The tuned shadow persona as a function of the configured one and the active rules, and the field changes
// that brings, each with its reason. A field changes at most once per `dwell.minChangeGapMs`; a change that
// must wait is reported as deferred and applied at the first interval the gap allows (if still wanted).
import { MTU_MAX, MTU_MIN, QOS_PRIORITY_ORDER, type Persona, type QosClass } from "../persona/schema";
import type { Effect, Policy } from "./policy";
import type { RuleDef } from "./rules";
import { FIELDS, type Field, type FieldChange, type Latch, type Reason } from "./types";

export interface Derived {
  shadow: Persona;
  changes: FieldChange[];
  reasons: Reason[];
  deferred: Reason[];
  lastChangeMs: Partial<Record<Field, number>>;
}

type Active = { rule: RuleDef; latch: Latch };

/** Moves `from` up the RFC 4594 priority order by `steps`, never above `ceiling` (nor down to it). */
export function raiseQos(from: QosClass, steps: number, ceiling: QosClass): QosClass {
  const idx = QOS_PRIORITY_ORDER.indexOf(from);
  const top = QOS_PRIORITY_ORDER.indexOf(ceiling);
  return idx > top ? QOS_PRIORITY_ORDER[Math.max(idx - steps, top)] : from;
}

function effectOn(rule: RuleDef, field: Field): Effect | undefined {
  return rule.effects.find((e) => e.field === field);
}

/** The persona the active rules ask for (before the minimum gap between changes). */
export function target(policy: Policy, baseline: Persona, active: readonly Active[]): Persona {
  const out: Persona = { ...baseline };
  const cc = active.map((a) => effectOn(a.rule, "congestionControl")).find((e) => e !== undefined);
  if (cc?.field === "congestionControl") out.congestionControl = cc.value;

  const base = baseline.mtu ?? policy.mtu.assumedLinkMtu;
  const caps = active.flatMap(({ rule, latch }) => {
    const e = effectOn(rule, "mtu");
    if (e?.action !== "cap") return [];
    return [rule.dynamicCap ? (latch.capMtu ?? base) : e.value];
  });
  const cap = Math.min(...caps);
  if (cap < base) out.mtu = Math.min(MTU_MAX, Math.max(MTU_MIN, cap));

  const q = active.map((a) => effectOn(a.rule, "qos.class")).find((e) => e !== undefined);
  if (q) {
    const from = baseline.qos?.class ?? "standard";
    const cls =
      q.action === "set" ? (q.value as QosClass) : raiseQos(from, Number(q.value), policy.qos.ceiling);
    if (cls !== baseline.qos?.class) out.qos = { ...baseline.qos, class: cls };
  }
  return out;
}

export function fieldValue(p: Persona, field: Field): string {
  const v = field === "congestionControl" ? p.congestionControl : field === "mtu" ? p.mtu : p.qos?.class;
  return v === undefined ? "(unset)" : String(v);
}

function setField(to: Persona, from: Persona, field: Field): void {
  const key = field === "qos.class" ? "qos" : field;
  if (from[key] === undefined) delete to[key];
  else Object.assign(to, { [key]: from[key] });
}

/** The rule that moved last among those acting on `field`: the cause of a change of that field. */
function cause(rules: readonly RuleDef[], latches: Record<string, Latch>, field: Field): Latch | undefined {
  let best: Latch | undefined;
  for (const r of rules) {
    const l = latches[r.id];
    if (!r.enabled || !effectOn(r, field) || l?.changedAtMs === undefined || !l.evidence) continue;
    if (!best || (l.changedAtMs ?? 0) > (best.changedAtMs ?? 0)) best = l;
  }
  return best;
}

export function deriveShadow(
  policy: Policy,
  rules: readonly RuleDef[],
  latches: Record<string, Latch>,
  baseline: Persona,
  current: Persona,
  lastChangeMs: Partial<Record<Field, number>>,
  nowMs: number,
): Derived {
  const active = rules
    .filter((r) => r.enabled && latches[r.id]?.active)
    .map((rule) => ({ rule, latch: latches[rule.id] }));
  const want = target(policy, baseline, active);
  const shadow: Persona = { ...current };
  const out: Derived = { shadow, changes: [], reasons: [], deferred: [], lastChangeMs: { ...lastChangeMs } };
  for (const field of FIELDS) {
    const from = fieldValue(current, field);
    const to = fieldValue(want, field);
    if (from === to) continue;
    const l = cause(rules, latches, field);
    const ev = l?.evidence ?? { rule: "restore", text: `restore: no active rule acts on ${field}` };
    const last = lastChangeMs[field];
    if (last !== undefined && nowMs - last < policy.dwell.minChangeGapMs) {
      const text = `${field} ${from} → ${to} deferred: changed ${nowMs - last} ms ago, dwell.minChangeGapMs is ${policy.dwell.minChangeGapMs} (${ev.text})`;
      out.deferred.push({ ...ev, field, from, to, text });
      continue;
    }
    setField(shadow, want, field);
    out.lastChangeMs[field] = nowMs;
    out.changes.push({ field, from, to });
    out.reasons.push({ ...ev, field, from, to, text: `${ev.text}: ${field} ${from} → ${to}` });
  }
  return out;
}
