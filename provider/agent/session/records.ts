// What the agent stores of its sessions (in state.json, see ../state.ts): the session records with their
// latest events, and the feedback grants this agent holds as a source. Types only, importing nothing of the
// agent, so the state file's shape and the session store that changes it do not depend on each other.
import type { Persona } from "../../persona/schema";
import type { SessionPolicyRecord, SessionStateName } from "../../proto/session-policy";

/** The metrics one decision was based on. */
export interface MetricsSummary {
  rttP50Ms: number;
  rttP90Ms: number;
  lossRatio: number;
  jitterMs: number;
  throughputBps: number;
  pathMtu: number;
  /** Through the target's gateway alone (absent: the target changes no gateway). */
  targetRttP90Ms?: number;
  targetLossRatio?: number;
  /** Unanswered queries to the target's new DNS servers, the worst server (absent: none added). */
  dnsLossRatio?: number;
}

export interface SessionEventRecord {
  sessionId: string;
  seq: number;
  timeUnixMs: number;
  kind: string;
  metrics?: MetricsSummary;
  rule: string;
  changes: { field: string; from: string; to: string }[];
  reason: string;
  weight: number;
  converged: boolean;
  state: SessionStateName;
}

export interface SessionRecord {
  id: string;
  state: SessionStateName;
  weight: number;
  converged: boolean;
  policy: SessionPolicyRecord;
  sourcePersona: Persona;
  /** The persona the blend moves towards (StartSession's target_persona); absent: the source's mirror. */
  targetPersona?: Persona;
  shadowPersona: Persona;
  blendedPersona?: Persona;
  sourceAgent: string;
  peerAddress: string;
  /** UDP port of the peer's echo responder (0 or absent: the default, 7047). */
  peerPort?: number;
  startedUnixMs: number;
  updatedUnixMs: number;
  reason: string;
  /** The latest events (at most EVENTS_KEPT while running, FINAL_EVENTS_KEPT once final), oldest first. */
  events: SessionEventRecord[];
  /** Events recorded in all (the seq of the latest); absent in records written before events were trimmed. */
  eventCount?: number;
}

/** A feedback grant (see grants.ts): no secret, only who may stream and until when. */
export interface FeedbackGrantRecord {
  sessionId: string;
  /** SHA-256 of the destination agent's certificate (DER), lower-case hex. */
  peerFingerprint: string;
  expiresUnixMs: number;
  grantedUnixMs: number;
}
