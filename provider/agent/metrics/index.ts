// The metrics library of the agent: echo probes (RTT, loss, jitter), path MTU, TCP flow statistics and
// interface rates, combined by MetricsSampler and mapped onto the MetricsSample message by wire.ts.
export { DEFAULT_ECHO_PORT, startEchoResponder, encodeProbe, decodeProbe, type EchoResponder } from "./echo";
export { EchoProber, type EchoPeer, type ProberOptions, type PeerProbeStats } from "./prober";
export {
  summarizeWindow,
  summarizeRtt,
  percentile,
  meanAbsDelta,
  rfc3550Jitter,
  ProbeWindow,
  type ProbeRecord,
  type RttSummary,
  type WindowStats,
} from "./window";
export {
  probePathMtu,
  searchPathMtu,
  parsePing,
  type PmtuResult,
  type PmtuSearch,
  type PingResult,
} from "./pmtu";
export { parseSsTcpInfo, aggregateFlows, parseRate, type TcpFlow, type TcpAggregate } from "../../util/ss";
export { readTcpFlows, tcpTowards } from "./tcp";
export {
  InterfaceMeter,
  readCounters,
  ifRates,
  listInterfaces,
  type IfCounters,
  type IfRates,
} from "./ifstats";
export {
  MetricsSampler,
  type SamplerOptions,
  type SamplerPeer,
  type PeerSample,
  type MetricsSampleData,
} from "./sampler";
export {
  sampleToWire,
  peerToWire,
  interfaceToWire,
  createMetricsSource,
  type MetricsSourceOptions,
} from "./wire";
