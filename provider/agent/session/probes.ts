// What the destination measures towards the session's peer, once per decision: UDP echo probes (RTT
// percentiles, loss, jitter over the policy's detection window), the path MTU (measured in the background,
// re-measured now and then) and the interface throughput since the previous decision.
import { setTimeout as sleep } from "node:timers/promises";

import type { MetricsWindow } from "../../engine";
import { InterfaceMeter } from "../metrics/ifstats";
import { probePathMtu, type PmtuResult } from "../metrics/pmtu";
import { PmtuBusyError, pmtuLimiter } from "../metrics/pmtu-limit";
import { EchoProber } from "../metrics/prober";

export interface PathProbeOptions {
  peer: string;
  port: number;
  /** Time between two probes, ms. */
  spacingMs: number;
  /** The window the summary covers, ms (the policy's detectionWindowMs). */
  windowMs: number;
  /** A probe unanswered this long is lost, ms (default 1000). */
  timeoutMs?: number;
  /** Re-measure the path MTU after this long, ms (default 15000); 0: never measure it. */
  pmtuEveryMs?: number;
  /** Attempts of a silent size before it counts as refused (default 3: lossy paths are not black holes). */
  pmtuTries?: number;
}

/** Probe spacing for a decision interval: about ten probes per interval, 20-100 ms apart. */
export function probeSpacingMs(intervalMs: number): number {
  return Math.min(100, Math.max(20, Math.round(intervalMs / 10)));
}

/** Source ports the session's probes take in turn. A weighted multipath route (the blend of two gateways)
 *  hashes each 5-tuple to one gateway: with one socket the gates saw a bad target gateway only once the
 *  probe's own flow moved, at weight 0.5-1; with 8 they see it at the first weights, as the traffic does
 *  (bench/blast-radius.ts: gateway black hole, blended/all-at-once failed requests 0.44 -> 0.05). */
export const SESSION_PROBE_PORTS = 8;

export class PathProbes {
  private readonly prober: EchoProber;
  private readonly meter = new InterfaceMeter();
  private pmtu: PmtuResult | undefined;
  private pmtuAt = 0;
  private pmtuRunning = false;
  private stopped = false;
  private firstDone: Promise<void> = Promise.resolve();
  /** The latest path MTU failure, for the log. */
  lastError = "";

  constructor(readonly opts: PathProbeOptions) {
    this.prober = new EchoProber([{ name: "peer", address: opts.peer, port: opts.port }], {
      intervalMs: opts.spacingMs,
      timeoutMs: opts.timeoutMs ?? 1000,
      window: Math.max(10, Math.ceil(opts.windowMs / opts.spacingMs)),
      sourcePorts: SESSION_PROBE_PORTS,
    });
  }

  async start(): Promise<void> {
    await this.prober.open();
    await this.meter.sample().catch(() => []);
    this.prober.start();
    this.refreshPmtu();
  }

  private refreshPmtu(): void {
    const every = this.opts.pmtuEveryMs ?? 5_000;
    if (every === 0 || this.pmtuRunning || this.stopped) return;
    if (this.pmtuAt > 0 && Date.now() - this.pmtuAt < every) return;
    this.pmtuRunning = true;
    this.pmtuAt = Date.now();
    // Through the agent's limiter (LIMITS.pmtuConcurrent at once); skipped when its queue is full.
    const done = pmtuLimiter
      .run(() => probePathMtu(this.opts.peer, { tries: this.opts.pmtuTries ?? 3 }))
      .then((r) => void (this.pmtu = r))
      .catch((e: Error) => {
        if (e instanceof PmtuBusyError) this.pmtuAt = 0; // ask again at the next decision
        this.lastError = `path MTU towards ${this.opts.peer}: ${e.message}`;
      })
      .finally(() => (this.pmtuRunning = false));
    if (this.pmtu === undefined) this.firstDone = done;
  }

  /** Resolves when the first path MTU measurement finished (or failed), or after `maxMs`: the engine's
   *  first decisions then know the path MTU (a black hole found later would only lower it afterwards). */
  async firstPathMtu(maxMs: number, signal: AbortSignal): Promise<void> {
    const timer = sleep(maxMs, undefined, { signal }).catch(() => undefined);
    await Promise.race([this.firstDone, timer]);
  }

  /** Resolves once a probe was answered or timed out (at most the probe timeout after the first one was sent),
   *  or on abort: a decision taken before that saw only pending probes, so a peer that never answers read as
   *  0 % loss and the first step passed its gates without a single reply. */
  async firstDecided(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const s = this.prober.stats()[0];
      if (s.sent - s.pending > 0) return;
      await sleep(this.opts.spacingMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** The engine's metrics now. RTT figures are 0 while no probe was answered (the loss then says why). */
  async summary(): Promise<MetricsWindow> {
    this.refreshPmtu();
    const s = this.prober.stats()[0];
    const rates = await this.meter.sample().catch(() => []);
    const throughputBps = rates.reduce((sum, r) => sum + Math.max(r.rxBitsPerSecond, r.txBitsPerSecond), 0);
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      rttP50Ms: round(s.rtt?.p50Ms ?? 0),
      rttP90Ms: round(s.rtt?.p90Ms ?? 0),
      rttP99Ms: round(s.rtt?.p99Ms ?? 0),
      lossRatio: round(s.lossRatio),
      jitterMs: round(s.jitterMs),
      throughputBps: Math.round(throughputBps),
      pathMtu: this.pmtu?.pathMtu ?? 0,
    };
  }

  /** The latest path MTU measurement (for reasons and logs). */
  pathMtu(): PmtuResult | undefined {
    return this.pmtu;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.prober.close();
  }
}
