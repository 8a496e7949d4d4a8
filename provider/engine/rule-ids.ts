// Ids of the built-in rules, kept apart so the policy checks and the rule table share them without a cycle.

/** Order matters: when two active rules set the same field, the earlier one wins. */
export const BUILTIN_RULE_IDS = [
  "latencyHigh",
  "lossMedium",
  "sourceDegraded",
  "pmtuBlackHole",
  "jitterHigh",
  "throughputLow",
] as const;
export type BuiltinRuleId = (typeof BUILTIN_RULE_IDS)[number];

export const BUILTIN_IDS: ReadonlySet<string> = new Set(BUILTIN_RULE_IDS);

/** The id under which a rule's recovery is reported. */
export const recoveredId = (id: string): string => `${id}.recovered`;
