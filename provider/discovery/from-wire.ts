// An agent's Discover answer (discover.proto) in the library's shape, for the sdk's `discover(agent)`.
import { personaFromWire } from "../proto/persona";
import type { DiscoverResponse__Output } from "../proto/gen/netpersona/agent/v1/DiscoverResponse";
import type { Recommendations } from "./from-discovery";
import type { AppClass, ClassSummary, Recommendation } from "./types";

export interface AgentDiscovery extends Recommendations {
  flows: {
    localAddress: string;
    localPort: number;
    remoteAddress: string;
    remotePort: number;
    process: string;
    applicationClass: AppClass;
    confidence: number;
    bytesSent: number;
    bytesReceived: number;
  }[];
  summary: { classes: ClassSummary[]; dominantClass?: AppClass; coverage: string[] };
  recommendations: Recommendation[];
  note?: string;
}

export function fromDiscoverResponse(r: DiscoverResponse__Output): AgentDiscovery {
  return {
    flows: r.flows.map((f) => ({
      localAddress: f.key?.local_address ?? "",
      localPort: f.key?.local_port ?? 0,
      remoteAddress: f.key?.remote_address ?? "",
      remotePort: f.key?.remote_port ?? 0,
      process: f.features?.process ?? "",
      applicationClass: f.application_class as AppClass,
      confidence: f.confidence,
      bytesSent: Number(f.features?.bytes_sent ?? 0),
      bytesReceived: Number(f.features?.bytes_received ?? 0),
    })),
    summary: {
      classes: r.classes.map((c) => ({
        applicationClass: c.application_class as AppClass,
        flows: c.flows,
        bytes: Number(c.bytes),
        byteShare: c.byte_share,
      })),
      ...(r.dominant_class && { dominantClass: r.dominant_class as AppClass }),
      coverage: r.coverage,
    },
    recommendations: r.recommendations.flatMap((x) => {
      const p = personaFromWire(x.persona, "recommendation");
      return p.ok
        ? [
            {
              applicationClass: x.application_class as AppClass,
              persona: p.value,
              flowCount: x.flow_count,
              reason: x.reason,
              scope: x.scope.map((e) => ({
                direction: e.direction === "inbound" ? ("inbound" as const) : ("outbound" as const),
                protocol: e.protocol === "udp" ? ("udp" as const) : ("tcp" as const),
                ...(e.address && { address: e.address }),
                port: e.port,
                flows: e.flows,
                bytes: Number(e.bytes),
              })),
              covers: x.covers,
            },
          ]
        : [];
    }),
    ...(r.note && { note: r.note }),
  };
}
