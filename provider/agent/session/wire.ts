// Sessions between their stored shape (sessions.ts) and the wire messages (session.proto); the policy's
// conversions are provider/proto/session-policy.ts.
import { personaToWire } from "../../proto/persona";
import { recordToWire } from "../../proto/session-policy";
import type { Session } from "../../proto/gen/netpersona/agent/v1/Session";
import type { SessionEvent } from "../../proto/gen/netpersona/agent/v1/SessionEvent";
import type { SessionEventRecord, SessionRecord } from "./store";

export function sessionToWire(s: SessionRecord): Session {
  return {
    id: s.id,
    state: s.state,
    weight: s.weight,
    converged: s.converged,
    policy: recordToWire(s.policy),
    source_persona: personaToWire(s.sourcePersona),
    shadow_persona: personaToWire(s.shadowPersona),
    target_persona: s.targetPersona ? personaToWire(s.targetPersona) : null,
    blended_persona: s.blendedPersona ? personaToWire(s.blendedPersona) : null,
    source_agent: s.sourceAgent,
    peer_address: s.peerAddress,
    peer_port: s.peerPort ?? 0,
    started_unix_ms: s.startedUnixMs,
    updated_unix_ms: s.updatedUnixMs,
    reason: s.reason,
    event_count: s.eventCount ?? s.events.length,
  };
}

export function eventToWire(e: SessionEventRecord): SessionEvent {
  const m = e.metrics;
  return {
    session_id: e.sessionId,
    seq: e.seq,
    time_unix_ms: e.timeUnixMs,
    kind: e.kind,
    metrics: m
      ? {
          rtt_p50_ms: m.rttP50Ms,
          rtt_p90_ms: m.rttP90Ms,
          loss_ratio: m.lossRatio,
          jitter_ms: m.jitterMs,
          throughput_bps: m.throughputBps,
          path_mtu: m.pathMtu,
        }
      : null,
    rule: e.rule,
    changes: e.changes,
    reason: e.reason,
    weight: e.weight,
    converged: e.converged,
    state: e.state,
  };
}
