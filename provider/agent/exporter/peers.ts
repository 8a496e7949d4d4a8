// The latest measurement of each peer the agent measured (a StreamMetrics sample, or a session's decision
// window), kept for the metrics exporter: bounded (PEERS_KEPT, least recently measured dropped first) and
// forgotten PEER_TTL_MS after its last measurement, so a peer no one measures any more leaves the scrape.
import type { MetricsSample } from "../../proto/gen/netpersona/agent/v1/MetricsSample";
import type { MetricsSummary } from "../session/records";

export const PEERS_KEPT = 64;
export const PEER_TTL_MS = 5 * 60_000;

export interface PeerMeasurement {
  /** The peer's address (the label); `name` is the label the caller gave it, or the session id. */
  address: string;
  name: string;
  /** Where it was measured: "stream" (StreamMetrics) or "session" (a migration session's window). */
  source: "stream" | "session";
  rttP50Ms: number;
  rttP90Ms: number;
  /** Absent for a session window (the engine keeps p50 and p90 only). */
  rttP99Ms?: number;
  lossRatio: number;
  jitterMs: number;
  /** 0: not measured yet. */
  pathMtu: number;
  atUnixMs: number;
}

export class PeerBook {
  private readonly peers = new Map<string, PeerMeasurement>();

  constructor(private readonly now: () => number = Date.now) {}

  note(m: PeerMeasurement): void {
    const key = `${m.source} ${m.address}`;
    this.peers.delete(key); // re-inserted last: the Map's order is least recently measured first
    this.peers.set(key, m);
    while (this.peers.size > PEERS_KEPT) this.peers.delete(this.peers.keys().next().value as string);
  }

  /** Every peer of a StreamMetrics sample that carried an RTT or a loss figure. */
  noteSample(sample: MetricsSample): void {
    for (const p of sample.peers ?? []) {
      if (!p.address) continue;
      this.note({
        address: p.address,
        name: p.name ?? "",
        source: "stream",
        rttP50Ms: Number(p.rtt?.p50_ms ?? 0),
        rttP90Ms: Number(p.rtt?.p90_ms ?? 0),
        rttP99Ms: Number(p.rtt?.p99_ms ?? 0),
        lossRatio: Number(p.loss_ratio ?? 0),
        jitterMs: Number(p.jitter_ms ?? 0),
        pathMtu: Number(p.path_mtu ?? 0),
        atUnixMs: this.now(),
      });
    }
  }

  /** A session's decision window towards its peer. */
  noteSession(sessionId: string, peer: string, m: MetricsSummary): void {
    this.note({
      address: peer,
      name: sessionId,
      source: "session",
      rttP50Ms: m.rttP50Ms,
      rttP90Ms: m.rttP90Ms,
      lossRatio: m.lossRatio,
      jitterMs: m.jitterMs,
      pathMtu: m.pathMtu,
      atUnixMs: this.now(),
    });
  }

  /** The measurements younger than PEER_TTL_MS (older ones are dropped). */
  current(): PeerMeasurement[] {
    const cut = this.now() - PEER_TTL_MS;
    for (const [k, m] of this.peers) if (m.atUnixMs < cut) this.peers.delete(k);
    return [...this.peers.values()];
  }
}
