// Migration sessions on the agent: the store that records them (records.ts, store.ts), the runner that
// drives the engine on this host (runner.ts with probes, feedback, apply, persist), their RPC handlers
// (handlers.ts, wire.ts), the feedback grants a source holds (grants.ts) and the echo responder's rule
// (echo-allow.ts). parts.ts starts them all for the daemon.
export { FeedbackGrants } from "./grants";
export { sessionHandlers, type DiscoverySource, type MetricsSource } from "./handlers";
export { listenHostOf, startSessionParts, type SessionParts, type SessionPartsOptions } from "./parts";
export type { FeedbackGrantRecord, MetricsSummary, SessionEventRecord, SessionRecord } from "./records";
export { createSessionRunner, type SessionRunnerOptions } from "./runner";
export { SESSION_ID_RE, SessionStore, type SessionContext, type SessionRunner } from "./store";
