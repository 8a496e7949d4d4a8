// MetricsSampler: echo probes to named peers, interface rates, TCP flow statistics and the path MTU,
// combined into one sample every interval. It measures from the network namespace the process runs in
// (the agent is started inside its host's namespace), so nothing here names a namespace.
import { EventEmitter, on } from "node:events";

import { DEFAULT_ECHO_PORT } from "./echo";
import { InterfaceMeter, type IfRates } from "./ifstats";
import { probePathMtu, type PmtuResult } from "./pmtu";
import { pmtuLimiter } from "./pmtu-limit";
import { EchoProber, type EchoPeer, type PeerProbeStats } from "./prober";
import type { TcpAggregate } from "../../util/ss";
import { readTcpFlows, tcpTowards } from "./tcp";

export interface SamplerPeer {
  name: string;
  address: string;
  /** The peer's echo responder port (default DEFAULT_ECHO_PORT). */
  port?: number;
}

export interface SamplerOptions {
  peers: SamplerPeer[];
  /** Time between samples, ms (default 1000). */
  intervalMs?: number;
  /** Time between probes to each peer, ms (default 100: 10 Hz). */
  probeIntervalMs?: number;
  /** Probes per peer in the sliding window (default 100). */
  window?: number;
  /** A probe unanswered this long is lost, ms (default 1000). */
  timeoutMs?: number;
  payloadBytes?: number;
  /** Interfaces whose counters become rates (default: all but lo). */
  interfaces?: string[];
  /** Read TCP flow statistics with `ss -tin` (default true). */
  tcp?: boolean;
  /** Path MTU probing per peer: at start, then every `everyMs` (default 600000); false turns it off. */
  pmtu?: false | { everyMs?: number; tries?: number; waitSeconds?: number };
}

export interface PeerSample extends PeerProbeStats {
  /** The latest path MTU measurement; undefined until the first one finished. */
  pmtu?: PmtuResult;
  tcp: TcpAggregate;
}

export interface MetricsSampleData {
  timeUnixMs: number;
  seq: number;
  peers: PeerSample[];
  interfaces: IfRates[];
  /** Parts that failed this time (e.g. ss missing), each with its step. */
  errors: string[];
}

const EMPTY_TCP: TcpAggregate = tcpTowards([], "0.0.0.0");

/** Emits "sample" (MetricsSampleData) every intervalMs after start(); also an async iterable of samples.
 *  It never emits "error": what fails is named in the next sample's `errors`. */
export class MetricsSampler extends EventEmitter {
  private readonly prober: EchoProber;
  private readonly meter: InterfaceMeter;
  private readonly pmtu = new Map<string, PmtuResult>();
  private readonly stopped = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private seq = 0;
  private busy = false;
  private started = false;
  /** Failures between samples (path MTU probes), reported with the next sample. */
  private notes: string[] = [];

  constructor(readonly opts: SamplerOptions) {
    super();
    const peers: EchoPeer[] = opts.peers.map((p) => ({ ...p, port: p.port ?? DEFAULT_ECHO_PORT }));
    this.prober = new EchoProber(peers, {
      intervalMs: opts.probeIntervalMs ?? 100,
      timeoutMs: opts.timeoutMs ?? 1000,
      window: opts.window ?? 100,
      payloadBytes: opts.payloadBytes,
    });
    this.meter = new InterfaceMeter(opts.interfaces);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.prober.open();
    await this.meter.sample(); // the baseline of the first rates
    this.prober.start();
    this.timers.push(setInterval(() => void this.tick(), this.opts.intervalMs ?? 1000));
    if (this.opts.pmtu !== false) {
      const pmtu = this.opts.pmtu ?? {};
      void this.measurePmtu();
      this.timers.push(setInterval(() => void this.measurePmtu(), pmtu.everyMs ?? 600_000));
    }
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    this.timers = [];
    this.stopped.abort();
    await this.prober.close();
  }

  /** Collects one sample now (rates cover the time since the previous one). */
  async collect(): Promise<MetricsSampleData> {
    const errors = this.notes;
    this.notes = [];
    const [interfaces, flows] = await Promise.all([
      this.meter.sample().catch((e: Error) => (errors.push(`interfaces: ${e.message}`), [])),
      this.opts.tcp === false
        ? Promise.resolve(undefined)
        : readTcpFlows().catch((e: Error) => (errors.push(`tcp: ${e.message}`), undefined)),
    ]);
    const peers = this.prober.stats().map((s) => ({
      ...s,
      pmtu: this.pmtu.get(s.name),
      tcp: flows ? tcpTowards(flows, s.address) : EMPTY_TCP,
    }));
    return { timeUnixMs: Date.now(), seq: ++this.seq, peers, interfaces, errors };
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // the previous collection is still running: skip rather than pile up
    this.busy = true;
    try {
      const sample = await this.collect();
      if (!this.stopped.signal.aborted) this.emit("sample", sample);
    } catch (e) {
      this.notes.push(`sample: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private async measurePmtu(): Promise<void> {
    const pmtu = this.opts.pmtu || {};
    for (const p of this.opts.peers) {
      if (this.stopped.signal.aborted) return;
      try {
        // Through the process's limiter (LIMITS.pmtuConcurrent at once); the map holds one entry per peer.
        const probe = () => probePathMtu(p.address, { tries: pmtu.tries, waitSeconds: pmtu.waitSeconds });
        this.pmtu.set(p.name, await pmtuLimiter.run(probe));
      } catch (e) {
        this.notes.push(`path MTU towards ${p.name} (${p.address}): ${(e as Error).message}`);
      }
    }
  }

  /** Samples as they come, until stop(). Starts the sampler when it was not started. */
  async *[Symbol.asyncIterator](): AsyncGenerator<MetricsSampleData> {
    await this.start();
    try {
      for await (const [sample] of on(this, "sample", { signal: this.stopped.signal })) {
        yield sample as MetricsSampleData;
      }
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
    }
  }
}
