// The metrics library as the agent's StreamMetrics RPC sees it: samples mapped onto the MetricsSample
// message, and a MetricsSource (one burst of probes per sample) for server-sessions.ts.
import { setTimeout as sleep } from "node:timers/promises";

import type { InterfaceRates } from "../../proto/gen/netpersona/agent/v1/InterfaceRates";
import type { MetricsSample } from "../../proto/gen/netpersona/agent/v1/MetricsSample";
import type { Peer__Output } from "../../proto/gen/netpersona/agent/v1/Peer";
import type { PeerMetrics } from "../../proto/gen/netpersona/agent/v1/PeerMetrics";
import type { MetricsSource } from "../session/handlers";
import { DEFAULT_ECHO_PORT } from "./echo";
import { InterfaceMeter, type IfRates } from "./ifstats";
import type { PmtuResult } from "./pmtu";
import { PmtuCache, type PmtuLimiter } from "./pmtu-limit";
import { EchoProber } from "./prober";
import type { MetricsSampleData, PeerSample } from "./sampler";
import { readTcpFlows, tcpTowards } from "./tcp";

export function peerToWire(p: PeerSample): PeerMetrics {
  return {
    name: p.name,
    address: p.address,
    rtt: p.rtt && {
      min_ms: p.rtt.minMs,
      mean_ms: p.rtt.meanMs,
      p50_ms: p.rtt.p50Ms,
      p90_ms: p.rtt.p90Ms,
      p99_ms: p.rtt.p99Ms,
      max_ms: p.rtt.maxMs,
    },
    loss_ratio: p.lossRatio,
    jitter_ms: p.jitterMs,
    path_mtu: p.pmtu?.pathMtu ?? 0,
    tcp: {
      connections: p.tcp.connections,
      retransmits: p.tcp.retransmits,
      segments_out: p.tcp.segmentsOut,
      bytes_acked: p.tcp.bytesAcked,
      srtt_ms: p.tcp.srttMs,
      cwnd: p.tcp.cwnd,
      congestion_controls: p.tcp.congestionControls,
    },
  };
}

export function interfaceToWire(r: IfRates): InterfaceRates {
  return {
    name: r.name,
    rx_bytes_per_second: r.rxBytesPerSecond,
    tx_bytes_per_second: r.txBytesPerSecond,
    rx_packets_per_second: r.rxPacketsPerSecond,
    tx_packets_per_second: r.txPacketsPerSecond,
    rx_dropped: r.rxDropped,
    tx_dropped: r.txDropped,
  };
}

export function sampleToWire(s: MetricsSampleData): MetricsSample {
  return {
    time_unix_ms: s.timeUnixMs,
    seq: s.seq,
    peers: s.peers.map(peerToWire),
    interfaces: s.interfaces.map(interfaceToWire),
  };
}

export interface MetricsSourceOptions {
  /** Port of the peers' echo responders (the proto's Peer has none; default DEFAULT_ECHO_PORT). */
  port?: number;
  /** Time between the probes of one burst, ms (default 20). */
  spacingMs?: number;
  /** A probe unanswered this long is lost, ms (default 1000). */
  timeoutMs?: number;
  interfaces?: string[];
  /** Re-measure a peer's path MTU after this long, ms (default 600000); 0 turns path MTU probing off. */
  pmtuEveryMs?: number;
  /** The path-MTU probe (default probePathMtu) and its limiter (default the agent's pmtuLimiter): tests. */
  probePmtu?: (address: string) => Promise<PmtuResult>;
  pmtuLimiter?: PmtuLimiter;
}

/** A MetricsSource with its path-MTU cache in view (tests read its bound). */
export interface MetricsSourceWithCache extends MetricsSource {
  pmtu: PmtuCache;
}

/** A MetricsSource: each sample() sends probesPerSample probes to every peer and reports on exactly those. */
export function createMetricsSource(opts: MetricsSourceOptions = {}): MetricsSourceWithCache {
  const meter = new InterfaceMeter(opts.interfaces);
  const baseline = meter.sample().catch(() => []);
  // Path MTU per peer, measured in the background: bounded in entries and age, and through the agent's
  // limiter (at most LIMITS.pmtuConcurrent probes at once, LIMITS.pmtuQueued waiting; more are skipped).
  const pmtu = new PmtuCache({
    everyMs: opts.pmtuEveryMs ?? 600_000,
    probe: opts.probePmtu,
    limiter: opts.pmtuLimiter,
  });
  return {
    pmtu,
    async sample(
      peers: Peer__Output[],
      probesPerSample: number,
      signal: AbortSignal,
    ): Promise<MetricsSample> {
      await baseline;
      const timeoutMs = opts.timeoutMs ?? 1000;
      const prober = new EchoProber(
        peers.map((p) => ({ name: p.name, address: p.address, port: opts.port ?? DEFAULT_ECHO_PORT })),
        { intervalMs: opts.spacingMs ?? 20, timeoutMs, window: probesPerSample },
      );
      try {
        await prober.open();
        for (let i = 0; i < probesPerSample && !signal.aborted; i++) {
          if (i > 0) await sleep(opts.spacingMs ?? 20);
          prober.sendRound();
        }
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline && !signal.aborted && prober.stats().some((s) => s.pending > 0)) {
          await sleep(5);
        }
        const stats = prober.stats();
        const [interfaces, flows] = await Promise.all([
          meter.sample().catch(() => []),
          readTcpFlows().catch(() => []),
        ]);
        peers.forEach((p) => pmtu.refresh(p.address));
        const samples: PeerSample[] = stats.map((s) => ({
          ...s,
          pmtu: pmtu.get(s.address),
          tcp: tcpTowards(flows, s.address),
        }));
        return sampleToWire({ timeUnixMs: Date.now(), seq: 0, peers: samples, interfaces, errors: [] });
      } finally {
        await prober.close();
      }
    },
  };
}
