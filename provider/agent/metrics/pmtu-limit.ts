// Bounds on path-MTU probing (each probe is `ip route get` and a series of pings as root): at most
// LIMITS.pmtuConcurrent probes run at once in the whole agent, at most LIMITS.pmtuQueued wait for a slot
// (more are skipped: the peer's path_mtu stays 0, "not measured yet", and the next sample asks again), and
// the results kept per peer are bounded in number and age (PmtuCache).
import { LIMITS } from "../rpc/limits";
import { probePathMtu, type PmtuResult } from "./pmtu";

/** A probe refused because LIMITS.pmtuQueued are already waiting. */
export class PmtuBusyError extends Error {
  constructor(running: number, queued: number) {
    super(
      `${running} path-MTU probes running and ${queued} waiting (the limits are ${LIMITS.pmtuConcurrent} and ${LIMITS.pmtuQueued}): skipped, asked again later`,
    );
    this.name = "PmtuBusyError";
  }
}

/** A concurrency limit with a bounded FIFO queue. */
export class PmtuLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most that ever ran at once, and the requests skipped because the queue was full (for tests). */
  peak = 0;
  skipped = 0;

  constructor(
    readonly concurrent: number = LIMITS.pmtuConcurrent,
    readonly queued: number = LIMITS.pmtuQueued,
  ) {}

  /** Runs `fn` when a slot is free; rejects with PmtuBusyError at once when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrent) {
      if (this.waiting.length >= this.queued) {
        this.skipped++;
        throw new PmtuBusyError(this.running, this.waiting.length);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  state(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}

/** The one limiter of the agent process: StreamMetrics, sessions and the sampler share it. */
export const pmtuLimiter = new PmtuLimiter();

export interface PmtuCacheOptions {
  /** Re-measure a peer after this long, ms (0: never measure). */
  everyMs: number;
  maxEntries?: number;
  ttlMs?: number;
  probe?: (address: string) => Promise<PmtuResult>;
  limiter?: PmtuLimiter;
  now?: () => number;
}

interface Entry {
  /** When the latest measurement started (-Infinity: it was skipped; ask again at the next refresh). */
  at: number;
  /** When `result` was measured. */
  measuredAt: number;
  result?: PmtuResult;
  running: boolean;
}

/** Path-MTU results per peer address, measured in the background through the limiter; at most maxEntries
 *  (least recently asked for dropped first), each dropped ttlMs after it was measured. */
export class PmtuCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** The latest failure or skip, for logs. */
  lastError = "";

  constructor(private readonly o: PmtuCacheOptions) {
    this.maxEntries = o.maxEntries ?? LIMITS.pmtuCacheEntries;
    this.ttlMs = o.ttlMs ?? LIMITS.pmtuCacheTtlMs;
    this.now = o.now ?? Date.now;
  }

  /** Starts a measurement towards `address` unless one runs or the latest is younger than everyMs. */
  refresh(address: string): void {
    if (this.o.everyMs === 0) return;
    const now = this.now();
    const e = this.touch(address);
    if (e?.running || (e && now - e.at < this.o.everyMs)) return;
    const entry: Entry = { at: now, measuredAt: e?.measuredAt ?? 0, result: e?.result, running: true };
    this.entries.set(address, entry);
    this.bound();
    const probe = this.o.probe ?? ((a: string) => probePathMtu(a));
    (this.o.limiter ?? pmtuLimiter)
      .run(() => probe(address))
      .then((r) => {
        entry.result = r;
        entry.measuredAt = this.now();
      })
      .catch((err: Error) => {
        if (err instanceof PmtuBusyError) {
          // Skipped: asked again at the next sample; an entry that holds nothing is not kept meanwhile.
          entry.at = Number.NEGATIVE_INFINITY;
          if (!entry.result && this.entries.get(address) === entry) this.entries.delete(address);
        }
        this.lastError = `path MTU towards ${address}: ${err.message}`;
      })
      .finally(() => (entry.running = false));
  }

  /** The latest result towards `address` (undefined: not measured yet, or too old). */
  get(address: string): PmtuResult | undefined {
    return this.touch(address)?.result;
  }

  size(): number {
    return this.entries.size;
  }

  /** The entry, moved to the recent end; an expired result is dropped first. */
  private touch(address: string): Entry | undefined {
    const e = this.entries.get(address);
    if (!e) return undefined;
    this.entries.delete(address);
    if (e.result && this.now() - e.measuredAt >= this.ttlMs) {
      e.result = undefined;
      if (!e.running) return undefined;
    }
    this.entries.set(address, e);
    return e;
  }

  /** Drops entries older than ttlMs that nothing measures now, then the least recently asked for. */
  private bound(): void {
    const now = this.now();
    for (const [address, e] of this.entries) {
      if (!e.running && !e.result && now - e.at >= this.ttlMs) this.entries.delete(address);
      else if (!e.running && e.result && now - e.measuredAt >= this.ttlMs) this.entries.delete(address);
    }
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }
}
