// Per-source rate limiting of the echo responder: a token bucket per source address, kept in a bounded map
// (least recently seen dropped first; a bucket idle long enough to be full again is forgotten, which loses
// nothing). Pure: the clock is injected, so the tests drive it without waiting.
import { LIMITS } from "../rpc/limits";

export interface BucketConfig {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size (and the tokens a new bucket starts with). */
  burst: number;
}

/** A token bucket: `take()` spends one token when there is one. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly cfg: BucketConfig,
    now: number,
  ) {
    this.tokens = cfg.burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.cfg.burst, this.tokens + ((now - this.at) / 1000) * this.cfg.ratePerSecond);
    }
    this.at = Math.max(this.at, now);
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket would be full at `now` (nothing to remember). */
  fullAt(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.cfg.burst;
  }
}

export interface SourceLimiterOptions extends BucketConfig {
  /** Buckets kept at once. */
  maxSources: number;
  /** A bucket not used for this long is dropped (it is full by then when idleMs ≥ burst / rate). */
  idleMs: number;
}

export const ECHO_RATE: SourceLimiterOptions = {
  ratePerSecond: LIMITS.echoPerSourcePerSecond,
  burst: LIMITS.echoBurst,
  maxSources: LIMITS.echoSources,
  idleMs: LIMITS.echoSourceIdleMs,
};

/** Token buckets per source, bounded in number. */
export class SourceLimiter {
  /** Insertion order is recency order: a used bucket is moved to the end. */
  private readonly buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();
  private sweptAt = 0;
  /** Buckets dropped because the map was full (not because they were idle). */
  evicted = 0;

  constructor(private readonly o: SourceLimiterOptions = ECHO_RATE) {}

  /** Spends one of `source`'s tokens: true when the datagram may be answered. */
  allow(source: string, now: number): boolean {
    this.sweep(now);
    let e = this.buckets.get(source);
    if (e) this.buckets.delete(source);
    else {
      e = { bucket: new TokenBucket(this.o, now), usedAt: now };
      while (this.buckets.size >= this.o.maxSources) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evicted++;
      }
    }
    e.usedAt = now;
    this.buckets.set(source, e);
    return e.bucket.take(now);
  }

  /** Drops buckets idle for idleMs (at most once per idleMs: the map is in recency order, so it stops at
   *  the first recent one). */
  private sweep(now: number): void {
    if (now - this.sweptAt < this.o.idleMs) return;
    this.sweptAt = now;
    for (const [source, e] of this.buckets) {
      if (now - e.usedAt < this.o.idleMs) break;
      this.buckets.delete(source);
    }
  }

  size(): number {
    return this.buckets.size;
  }
}
