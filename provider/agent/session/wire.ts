// Sessions between their stored shape (sessions.ts) and the wire messages (session.proto); the policy's
// conversions are provider/proto/session-policy.ts.
import { personaToWire } from "../../proto/persona";
import { recordToWire } from "../../proto/session-policy";
import type { Session } from "../../proto/gen/netpersona/agent/v1/Session";
import type {
  MetricsSummary as WireMetrics,
  MetricsSummary__Output as WireMetricsOut,
} from "../../proto/gen/netpersona/agent/v1/MetricsSummary";
import type { SessionEvent } from "../../proto/gen/netpersona/agent/v1/SessionEvent";
import type { MetricsSummary } from "./records";
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

export function metricsToWire(m: MetricsSummary): WireMetrics {
  return {
    rtt_p50_ms: m.rttP50Ms,
    rtt_p90_ms: m.rttP90Ms,
    loss_ratio: m.lossRatio,
    jitter_ms: m.jitterMs,
    throughput_bps: m.throughputBps,
    path_mtu: m.pathMtu,
    ...(m.targetRttP90Ms !== undefined && { target_rtt_p90_ms: m.targetRttP90Ms }),
    ...(m.targetLossRatio !== undefined && { target_loss_ratio: m.targetLossRatio }),
    ...(m.dnsLossRatio !== undefined && { dns_loss_ratio: m.dnsLossRatio }),
  };
}

export function metricsFromWire(m: WireMetricsOut): MetricsSummary {
  return {
    rttP50Ms: m.rtt_p50_ms,
    rttP90Ms: m.rtt_p90_ms,
    lossRatio: m.loss_ratio,
    jitterMs: m.jitter_ms,
    throughputBps: m.throughput_bps,
    pathMtu: m.path_mtu,
    ...(m.target_rtt_p90_ms !== undefined && { targetRttP90Ms: m.target_rtt_p90_ms }),
    ...(m.target_loss_ratio !== undefined && { targetLossRatio: m.target_loss_ratio }),
    ...(m.dns_loss_ratio !== undefined && { dnsLossRatio: m.dns_loss_ratio }),
  };
}

export function eventToWire(e: SessionEventRecord): SessionEvent {
  const m = e.metrics;
  return {
    session_id: e.sessionId,
    seq: e.seq,
    time_unix_ms: e.timeUnixMs,
    kind: e.kind,
    metrics: m ? metricsToWire(m) : null,
    rule: e.rule,
    changes: e.changes,
    reason: e.reason,
    weight: e.weight,
    converged: e.converged,
    state: e.state,
  };
}
