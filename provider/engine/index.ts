// The persona adjustment engine (pure): policy, decide, blend, simulate. See docs/engine.md.
export { blend, checkWeight, routeKeys, type BlendOptions, type BlendPlan } from "./blend";
export { dnsBlend, ecmpBlend, type EcmpNexthopPlan } from "./blend-parts";
export { decide, planFor, startEngine, type StartOptions } from "./decide";
export { raiseQos } from "./derive";
export {
  DEFAULT_POLICY,
  parsePolicy,
  policyOrThrow,
  policySchema,
  type Condition,
  type Effect,
  type ExtraRule,
  type Policy,
  type PolicyInput,
} from "./policy";
export { BUILTIN_RULE_IDS, recoveredId, type BuiltinRuleId } from "./rule-ids";
export { simulate, type HistoryEntry, type Scenario, type ScenarioStep, type Simulation } from "./simulate";
export * from "./types";
