// Shapes of automated persona discovery: sampled sockets, per-flow features, classes, recommendations.
// They map field for field onto proto/netpersona/agent/v1/discover.proto (see wire.ts).
import type { Persona } from "../persona/schema";

export const APP_CLASSES = [
  "video-streaming",
  "database-access",
  "web-browsing",
  "bulk-transfer",
  "interactive",
  "other",
] as const;
export type AppClass = (typeof APP_CLASSES)[number];

/** One TCP socket as `ss -tinpH` reports it at one instant. */
export interface SocketSample {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
  process?: string;
  pid?: number;
  bytesSent: number;
  bytesReceived: number;
  bytesRetrans: number;
  dataSegsOut: number;
  dataSegsIn: number;
  rttMs?: number;
  pmtu?: number;
}

export interface FlowKey {
  protocol: "tcp" | "udp";
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** A flow seen over the window: what each sample added, sample by sample. */
export interface FlowSeries {
  key: FlowKey;
  process?: string;
  pid?: number;
  /** True when the flow existed at the first sample (its earlier bytes are not counted). */
  preexisting: boolean;
  /** Sample index of the first and last sighting. */
  first: number;
  last: number;
  /** Bytes and data segments added in each interval, indexed by sample (0 where not seen). */
  sent: number[];
  received: number[];
  segsOut: number[];
  segsIn: number[];
  retransBytes: number;
  rttMs?: number;
  pmtu?: number;
}

export interface FlowFeatures {
  /** "inbound" when the local port is listening (this host serves), otherwise "outbound". */
  direction: "inbound" | "outbound";
  servicePort: number;
  durationSeconds: number;
  bytesSent: number;
  bytesReceived: number;
  meanRateBps: number;
  /** Variance of the per-interval rate (bits/s squared) and its coefficient of variation. */
  rateVariance: number;
  rateCv: number;
  /** Fraction of intervals in which the flow carried data. */
  dutyCycle: number;
  /** Fraction of active intervals in which both directions carried data (request/response rhythm). */
  requestResponseRatio: number;
  /** Bursts (runs of active intervals), the regularity of their start times and of their sizes. */
  bursts: number;
  burstPeriodSeconds: number;
  burstPeriodCv: number;
  burstSizeCv: number;
  /** Data segments the smaller (request) side sent per burst. */
  requestsPerBurst: number;
  /** Bytes per burst, both ways (a web page is tens of kB; a shell command's output a few hundred). */
  meanBurstBytes: number;
  /** Mean payload per data segment, each way. */
  meanSegmentSent: number;
  meanSegmentReceived: number;
  /** Bytes of the bigger direction over all bytes, 0.5..1. */
  asymmetry: number;
  retransRatio: number;
  rttMs?: number;
  pmtu?: number;
  process?: string;
  pid?: number;
  /** Where the flow was seen: ss samples (rhythm), conntrack (whole life), or both. */
  observedBy: "ss" | "conntrack" | "both";
  /** Seen by ss in fewer than SHORT_SIGHTINGS samples (or never): judged on its whole-life totals. */
  shortLived: boolean;
  /** Whole life from conntrack, oriented client (initiator) -> server; payload estimated from IP bytes. */
  connection?: ConnectionFeatures;
}

export interface ConnectionFeatures {
  initiatedHere: boolean;
  /** Seconds from the first to the last packet seen (or the window's end while open). */
  lifetimeSeconds: number;
  /** Opened and closed inside the window. */
  whole: boolean;
  /** Payload bytes and IP packets from the initiator (request) and to it (response). */
  requestBytes: number;
  responseBytes: number;
  requestPackets: number;
  responsePackets: number;
  /** Start in seconds since the window started. */
  start: number;
}

/** What ties flows into one application session: the owning process on this host (pid) and the peer service. */
export interface SessionSummary {
  id: string;
  /** How the flows were tied, in words: "pid 1234 (ssh) to 10.0.0.2:22", "client 10.0.0.3 of port 5432". */
  tie: string;
  pid?: number;
  process?: string;
  flows: number;
  bytes: number;
  applicationClass: AppClass;
  confidence: number;
}

export interface ClassifiedFlow {
  key: FlowKey;
  features: FlowFeatures;
  applicationClass: AppClass;
  confidence: number;
  /** The rule that decided, in words. */
  why: string;
  /** The application session the flow belongs to (SessionSummary.id). */
  session?: string;
  /** The winning score and its margin over the runner-up (what the confidence is calibrated from). */
  evidence?: { best: number; margin: number; rhythm: boolean };
}

export interface ClassSummary {
  applicationClass: AppClass;
  flows: number;
  bytes: number;
  byteShare: number;
}

export interface DiscoverySummary {
  netns?: string;
  windowMs: number;
  sampleEveryMs: number;
  samples: number;
  flowsSeen: number;
  flowsWithData: number;
  bytesInFlows: number;
  /** Bytes the host's interfaces moved in the window (rx + tx), to compare with bytesInFlows. */
  interfaceBytes: number;
  classes: ClassSummary[];
  dominantClass?: AppClass;
  /** Connections conntrack saw in the window (0 when it was not used) and why not, when not. */
  connectionsTracked: number;
  conntrackNote?: string;
  /** Which persona covers what, one line per class. */
  coverage: string[];
}

/** Where a class's flows go: the peer service (outbound) or the host's own service port (inbound). */
export interface ScopeEntry {
  direction: "inbound" | "outbound";
  protocol: "tcp" | "udp";
  /** The peer's address for outbound flows; absent for inbound ones (any client). */
  address?: string;
  port: number;
  flows: number;
  bytes: number;
}

export interface Recommendation {
  applicationClass: AppClass;
  persona: Persona;
  flowCount: number;
  reason: string;
  /** The flows this persona is for (ports / destinations), most bytes first. */
  scope: ScopeEntry[];
  /** The scope in words: "outbound tcp to 10.0.0.2:5432 (3 flows), inbound tcp port 22 (1 flow)". */
  covers: string;
}

export interface DiscoveryResult {
  flows: ClassifiedFlow[];
  /** Application sessions (flows tied by process and peer service), most bytes first. */
  sessions: SessionSummary[];
  summary: DiscoverySummary;
  recommendations: Recommendation[];
  /** Set when there is nothing to classify; says so instead of guessing. */
  note?: string;
}
