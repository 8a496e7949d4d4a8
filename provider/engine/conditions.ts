// The words of a condition (a rule's trigger, a gate): which metrics it may test and how it compares. Both
// the policy schema and the engine's types use them, so they live apart from either.
/** Metrics a condition (a rule, a gate) can test. Source metrics are unknown while the feedback link is down;
 *  target-path and DNS metrics are unknown when the session has no new gateway or no new DNS server to probe. */
export const METRICS = [
  "rttP50Ms",
  "rttP90Ms",
  "rttP99Ms",
  "lossPct",
  "jitterMs",
  "throughputBps",
  "pathMtu",
  "targetRttP90Ms",
  "targetLossPct",
  "dnsLossPct",
  "sourceRttMs",
  "sourceRetransmissions",
  "sourceThroughputBps",
  "sourceDegraded",
] as const;
export type Metric = (typeof METRICS)[number];
export const OPS = [">", ">=", "<", "<="] as const;
export type Op = (typeof OPS)[number];
