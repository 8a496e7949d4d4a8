// Feedback from the source agent, fetched by the destination's session runner: a StreamMetrics call to the
// source agent (mutual TLS with this agent's own certificate) that measures from the source towards us. Each
// sample becomes a FeedbackReport (the source's RTT p90, loss, TCP retransmissions and delivery), `degraded`
// when one crosses the policy's thresholds. A broken stream or a silence of 3 sample periods cuts the link;
// it reconnects with a bounded backoff and reports each attempt.
import dgram from "node:dgram";
import { isIP } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import type { Policy } from "../../engine";
import type { MetricsSample__Output } from "../../proto/gen/netpersona/agent/v1/MetricsSample";
import type { StreamMetricsRequest } from "../../proto/gen/netpersona/agent/v1/StreamMetricsRequest";
import type { FeedbackReport, SessionContext } from "./store";
import { trackSignal } from "../runtime";
import { FEEDBACK_PROBES } from "../rpc/limits";

/** What the runner needs of a connection to another agent (AgentConnection has it). */
export interface PeerAgent {
  streamMetrics(req: StreamMetricsRequest): AsyncIterable<MetricsSample__Output>;
  close(): void;
}
export type ConnectPeerAgent = (endpoint: string) => PeerAgent;

/** The local address this host uses towards `peer` (the address the peer sees and probes). */
export async function localAddressTowards(peer: string): Promise<string> {
  const sock = dgram.createSocket(isIP(peer) === 6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.connect(9, peer, () => resolve());
    });
    return sock.address().address;
  } finally {
    sock.close();
  }
}

interface Counters {
  atMs: number;
  retransmits: number;
  segmentsOut: number;
  bytesAcked: number;
}

/** One sample of the source's StreamMetrics as a feedback report; `prev` gives the TCP growth. */
export function reportFromSample(
  sample: MetricsSample__Output,
  prev: Counters | undefined,
  policy: Policy,
  seq: number,
): { report: FeedbackReport; counters: Counters } {
  const p = sample.peers[0];
  const tcp = p?.tcp;
  const counters: Counters = {
    atMs: Number(sample.time_unix_ms),
    retransmits: Number(tcp?.retransmits ?? 0),
    segmentsOut: Number(tcp?.segments_out ?? 0),
    bytesAcked: Number(tcp?.bytes_acked ?? 0),
  };
  const grow = (k: keyof Counters) => (prev ? Math.max(0, counters[k] - prev[k]) : 0);
  const seconds = prev ? Math.max(0.001, (counters.atMs - prev.atMs) / 1000) : 0;
  const retrans = grow("retransmits");
  const segments = grow("segmentsOut");
  const rtt = p?.rtt?.p90_ms ?? 0;
  const lossPct = (p?.loss_ratio ?? 1) * 100;
  const retransPct = segments > 0 ? (100 * retrans) / segments : 0;
  const t = policy.thresholds;
  const crossed = [
    ...(rtt > t.latencyHighMs.enter ? [`rttP90Ms ${rtt} > ${t.latencyHighMs.enter}`] : []),
    ...(lossPct > t.lossMediumPct.enter ? [`lossPct ${lossPct.toFixed(1)} > ${t.lossMediumPct.enter}`] : []),
    ...(retransPct > t.lossMediumPct.enter
      ? [
          `retransmitted ${retrans}/${segments} segments (${retransPct.toFixed(1)}%) > ${t.lossMediumPct.enter}%`,
        ]
      : []),
  ];
  const report: FeedbackReport = {
    seq,
    rttMs: Math.round(rtt * 1000) / 1000,
    retransmissions: retrans,
    throughputBps: seconds > 0 ? Math.round((grow("bytesAcked") * 8) / seconds) : 0,
    degraded: crossed.length > 0,
    note:
      crossed.length > 0 ? `source sees ${crossed.join("; ")}` : "source sees the path inside the thresholds",
  };
  return { report, counters };
}

export interface FeedbackLinkOptions {
  endpoint: string;
  connect: ConnectPeerAgent;
  /** Our address as the source reaches it (its probes go there). */
  ourAddress: string;
  intervalMs: number;
  policy: Policy;
  onReport: (r: FeedbackReport) => void;
  log: (line: string) => void;
}

/** The stream to the source agent, kept open (reconnecting) until stop(). */
export class FeedbackLink {
  private readonly stopped = new AbortController();
  private lastAt = Date.now();
  private broken = false;
  private seq = 0;
  private conn: PeerAgent | undefined;
  private gotFirst!: () => void;
  private readonly first = new Promise<void>((resolve) => (this.gotFirst = resolve));
  /** Silence after which the link counts as cut: 3 sample periods (interval + a burst + the probe timeout). */
  readonly staleMs: number;

  constructor(private readonly o: FeedbackLinkOptions) {
    this.staleMs = 3 * (o.intervalMs + FEEDBACK_PROBES * 20 + 1000);
  }

  start(): void {
    const untrack = trackSignal(this.stopped.signal);
    void this.loop().finally(untrack);
  }

  /** Resolves at the first report, or after `maxMs`. */
  async firstReport(maxMs: number, signal: AbortSignal): Promise<void> {
    await Promise.race([this.first, sleep(maxMs, undefined, { signal }).catch(() => undefined)]);
  }

  /** Up while reports arrive; down after a stream error or a silence of `staleMs`. */
  up(now = Date.now()): boolean {
    return !this.broken && now - this.lastAt <= this.staleMs;
  }

  private async loop(): Promise<void> {
    const signal = this.stopped.signal;
    let failures = 0;
    while (!signal.aborted) {
      const conn = this.o.connect(this.o.endpoint);
      this.conn = conn;
      let prev: Counters | undefined;
      try {
        const req = {
          peers: [{ name: "destination", address: this.o.ourAddress }],
          interval_ms: this.o.intervalMs,
          probes_per_sample: FEEDBACK_PROBES,
        };
        for await (const sample of conn.streamMetrics(req)) {
          if (signal.aborted) break;
          const r = reportFromSample(sample, prev, this.o.policy, ++this.seq);
          prev = r.counters;
          if (failures > 0)
            this.o.log(`feedback link to ${this.o.endpoint}: back after ${failures} failed attempt(s)`);
          failures = 0;
          this.broken = false;
          this.lastAt = Date.now();
          this.o.onReport(r.report);
          this.gotFirst();
        }
        if (!signal.aborted) throw new Error("the source ended the stream");
      } catch (err) {
        if (signal.aborted) break;
        this.broken = true;
        failures++;
        const wait = Math.min(5000, 500 * failures);
        this.o.log(
          `feedback link to ${this.o.endpoint}: attempt ${failures} failed (${(err as Error).message}): retrying in ${wait} ms`,
        );
        await sleep(wait, undefined, { signal }).catch(() => undefined);
      } finally {
        conn.close();
      }
    }
  }

  stop(): void {
    this.stopped.abort();
    this.conn?.close(); // ends a call waiting for its next sample
  }
}

/** The source's feedback as the engine sees it: from our own stream to the source agent when there is one,
 *  else from reports the source pushes through the Feedback RPC. */
export class FeedbackView {
  link: FeedbackLink | undefined;
  private seenSeq = -1;
  private seenAt = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly intervalMs: number,
  ) {}

  private note(): FeedbackReport | undefined {
    const fb = this.ctx.latestFeedback();
    if (fb && fb.seq !== this.seenSeq) {
      this.seenSeq = fb.seq;
      this.seenAt = Date.now();
    }
    return fb;
  }

  private staleMs(): number {
    return this.link?.staleMs ?? 3 * (this.intervalMs + 1200);
  }

  up(): boolean {
    this.note();
    if (this.link) return this.link.up();
    return this.seenAt === 0 || Date.now() - this.seenAt <= this.staleMs();
  }

  /** The latest report if it arrived within the staleness bound. */
  fresh(): FeedbackReport | undefined {
    const fb = this.note();
    return fb && Date.now() - this.seenAt <= this.staleMs() ? fb : undefined;
  }
}
