// Maps a discovery result onto proto/netpersona/agent/v1/discover.proto (DiscoverResponse), for the agent's
// Discover RPC. Byte counts go out as decimal strings (uint64, loaded with longs: String).
import type { DiscoverResponse } from "../proto/gen/netpersona/agent/v1/DiscoverResponse";
import { personaToWire } from "../proto/persona";
import type { DiscoveryResult } from "./types";

export function toDiscoverResponse(r: DiscoveryResult): DiscoverResponse {
  return {
    flows: r.flows.map((c) => ({
      key: {
        protocol: c.key.protocol,
        local_address: c.key.localAddress,
        local_port: c.key.localPort,
        remote_address: c.key.remoteAddress,
        remote_port: c.key.remotePort,
      },
      features: {
        duration_seconds: c.features.durationSeconds,
        bytes_sent: String(c.features.bytesSent),
        bytes_received: String(c.features.bytesReceived),
        mean_rate_bps: c.features.meanRateBps,
        rate_variance: c.features.rateVariance,
        request_response_ratio: c.features.requestResponseRatio,
        process: c.features.process ?? "",
      },
      application_class: c.applicationClass,
      confidence: c.confidence,
      session: c.session ?? "",
      observed_by: c.features.observedBy,
      short_lived: c.features.shortLived,
    })),
    recommendations: r.recommendations.map((x) => ({
      application_class: x.applicationClass,
      persona: personaToWire(x.persona),
      flow_count: x.flowCount,
      reason: x.reason,
      scope: x.scope.map((e) => ({
        direction: e.direction,
        protocol: e.protocol,
        address: e.address ?? "",
        port: e.port,
        flows: e.flows,
        bytes: String(e.bytes),
      })),
      covers: x.covers,
    })),
    note: r.note ?? "",
    classes: r.summary.classes.map((c) => ({
      application_class: c.applicationClass,
      flows: c.flows,
      bytes: String(c.bytes),
      byte_share: c.byteShare,
    })),
    dominant_class: r.summary.dominantClass ?? "",
    sessions: r.sessions.map((x) => ({
      id: x.id,
      tie: x.tie,
      pid: x.pid ?? 0,
      process: x.process ?? "",
      flows: x.flows,
      bytes: String(x.bytes),
      application_class: x.applicationClass,
      confidence: x.confidence,
    })),
    coverage: r.summary.coverage,
  };
}
