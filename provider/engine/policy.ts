// The adjustment policy: thresholds with hysteresis, dwell, MTU/QoS knobs, the blend schedule, gates,
// convergence and the rules. One zod schema holds the shape and the defaults; cross-field rules are in
// `policyRefinements` with messages that name the field and say the fix.
import { z } from "zod";

import { MTU_MAX, MTU_MIN, QOS_CLASS_NAMES, type QosClass } from "../persona/schema";
import { issuesToFailures, parseWith, type Validated } from "../persona/validate";
import { checkPolicy } from "./policy-check";
import { METRICS, OPS } from "./conditions";

const qosClass = z.enum(QOS_CLASS_NAMES as [QosClass, ...QosClass[]], {
  error: `must be one of the RFC 4594 classes: ${QOS_CLASS_NAMES.join(", ")}`,
});
const ms = (what: string) => z.int(`must be a whole number of milliseconds (${what})`).min(0, "must be ≥ 0");
const count = (what: string) => z.int(`must be a whole number (${what})`).min(1, "must be at least 1");
const mtuBytes = z
  .int("must be a whole number of bytes")
  .min(MTU_MIN, `must be at least ${MTU_MIN}`)
  .max(MTU_MAX, `must be at most ${MTU_MAX}`);

/** A threshold with hysteresis: the condition starts past `enter` and ends past `exit`. */
const band = (enter: number, exit: number) =>
  z
    .strictObject({
      enter: z.number("must be a finite number").min(0, "must be ≥ 0"),
      exit: z.number("must be a finite number").min(0, "must be ≥ 0"),
    })
    .default({ enter, exit });

export const conditionSchema = z.strictObject({
  metric: z.enum(METRICS, { error: `must be one of: ${METRICS.join(", ")}` }),
  op: z.enum(OPS, { error: `must be one of: ${OPS.join(" ")}` }),
  value: z.number("must be a finite number"),
});
export type Condition = z.output<typeof conditionSchema>;

export const effectSchema = z.union(
  [
    z.strictObject({
      field: z.literal("congestionControl"),
      action: z.literal("set"),
      value: z.enum(["cubic", "bbr", "reno"]),
    }),
    z.strictObject({ field: z.literal("mtu"), action: z.literal("cap"), value: mtuBytes }),
    z.strictObject({
      field: z.literal("qos.class"),
      action: z.literal("raise"),
      value: z.int().min(1).max(11),
    }),
    z.strictObject({ field: z.literal("qos.class"), action: z.literal("set"), value: qosClass }),
  ],
  {
    error:
      "must be {field: congestionControl, action: set, value: cubic|bbr|reno}, {field: mtu, action: cap, value: bytes}, " +
      "{field: qos.class, action: raise, value: classes to move up} or {field: qos.class, action: set, value: class}",
  },
);
export type Effect = z.output<typeof effectSchema>;

export const extraRuleSchema = z.strictObject({
  id: z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_-]{0,39}$/,
      "must be 1-40 letters, digits, '_' or '-', starting with a letter",
    ),
  when: conditionSchema,
  /** Hysteresis: the rule recovers once the metric is past this value (on the good side); default `when.value`. */
  exitValue: z.number("must be a finite number").optional(),
  then: z.union([effectSchema, z.array(effectSchema).min(1, "give at least one effect")]),
  recover: z.boolean().default(true),
});
export type ExtraRule = z.output<typeof extraRuleSchema>;

const rule = (enabled: boolean, recover: boolean) =>
  z
    .strictObject({ enabled: z.boolean().default(enabled), recover: z.boolean().default(recover) })
    .prefault({});

const stepSchema = z.union(
  [
    z.number(),
    z.strictObject({ weight: z.number("must be a number in (0, 1]"), dwellMs: ms("dwell at this weight") }),
  ],
  { error: "must be a weight in (0, 1] or {weight, dwellMs}" },
);

export const policySchema = z
  .strictObject({
    probeIntervalMs: ms("time between two decisions").min(100, "must be at least 100").default(2000),
    detectionWindowMs: ms("the window one metrics summary covers").default(10000),
    maxDurationMs: ms("give up and roll back after this").default(600000),
    failureLimit: count("failed gate checks at one step before rolling back").default(3),
    thresholds: z
      .strictObject({
        latencyHighMs: band(100, 80),
        lossMediumPct: band(2, 1),
        jitterHighMs: band(30, 20),
        throughputFloorBps: band(1_000_000, 2_000_000),
      })
      .prefault({}),
    dwell: z
      .strictObject({
        enterIntervals: count("intervals a condition must hold before a rule fires").default(2),
        exitIntervals: count("intervals a condition must stay clear before a rule recovers").default(5),
        minChangeGapMs: ms("minimum time between two changes of the same field").default(30000),
      })
      .prefault({}),
    mtu: z
      .strictObject({
        latencyCap: mtuBytes.default(1400),
        degradedCap: mtuBytes.default(1200),
        pmtuHeadroom: z.int("must be a whole number of bytes").min(0).max(1000).default(0),
        assumedLinkMtu: mtuBytes.default(1500),
      })
      .prefault({}),
    qos: z
      .strictObject({
        raiseSteps: z.int("must be a whole number of classes").min(1).max(11).default(1),
        ceiling: qosClass.default("low-latency-data"),
      })
      .prefault({}),
    schedule: z
      .strictObject({
        steps: z
          .array(stepSchema)
          .min(1, "give at least one step, ending at 1")
          .default([0.1, 0.25, 0.5, 0.75, 1]),
        stepDwellMs: ms("dwell at each step that gives none").default(10000),
      })
      .prefault({})
      .transform((s) => ({
        stepDwellMs: s.stepDwellMs,
        steps: s.steps.map((x) => (typeof x === "number" ? { weight: x, dwellMs: s.stepDwellMs } : x)),
      })),
    // The target-path and DNS gates hold from weight 0: they measure what the target changes before any
    // traffic takes it, so a bad gateway or a silent DNS server rolls back before flows move.
    gates: z.array(conditionSchema).default([
      { metric: "rttP90Ms", op: "<", value: 250 },
      { metric: "lossPct", op: "<", value: 5 },
      { metric: "targetRttP90Ms", op: "<", value: 250 },
      { metric: "targetLossPct", op: "<", value: 5 },
      { metric: "dnsLossPct", op: "<", value: 50 },
    ]),
    convergence: z
      .strictObject({ quietIntervals: count("intervals without adjustment at weight 1").default(3) })
      .prefault({}),
    rules: z
      .strictObject({
        latencyHigh: rule(true, false),
        lossMedium: rule(true, true),
        sourceDegraded: rule(true, false),
        pmtuBlackHole: rule(true, false),
        jitterHigh: rule(false, true),
        throughputLow: rule(false, false),
      })
      .prefault({}),
    extraRules: z.array(extraRuleSchema).max(32, "at most 32 extra rules").default([]),
  })
  .superRefine(checkPolicy);

export type PolicyInput = z.input<typeof policySchema>;
export type Policy = z.output<typeof policySchema>;

/** The policy over the defaults, or every problem as {property, reason}. */
export function parsePolicy(input: unknown, prefix: readonly (string | number)[] = []): Validated<Policy> {
  const r = parseWith(policySchema, input ?? {});
  if (!r.success) return { ok: false, failures: issuesToFailures(r.error.issues, input ?? {}, prefix) };
  return { ok: true, value: r.data };
}

/** The policy over the defaults; throws with every problem when it is not valid. */
export function policyOrThrow(input: unknown = {}): Policy {
  const r = parsePolicy(input);
  if (!r.ok) throw new Error(`policy: ${r.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  return r.value;
}

export const DEFAULT_POLICY: Policy = policyOrThrow({});
