// The metrics exporter: the agent's measurements in the Prometheus exposition format, over HTTPS with client
// certificates (monitoring and provider roles). Started by the daemon with --metrics-listen.
export { PeerBook, PEERS_KEPT, PEER_TTL_MS, type PeerMeasurement } from "./peers";
export {
  createAgentRegistry,
  SESSION_STATES,
  FINAL_SESSION_SHOWN_MS,
  type AgentRegistry,
  type ExporterSources,
  type InterfaceReading,
} from "./registry";
export { startMetricsServer, scrapeRefusal, SCRAPE_ROLES, type MetricsServer } from "./server";
export { readInterfaces } from "./interfaces";
