// Pure statistics over a sliding window of echo probes: RTT percentiles, loss, jitter and counts.
// No clocks or sockets here: every function takes its inputs explicitly, so the tests check exact values.

/** One probe of a peer's window. `rttMs` is set by the first reply; later replies count as duplicates. */
export interface ProbeRecord {
  seq: number;
  /** Monotonic send time in milliseconds (process.hrtime based). */
  sentAtMs: number;
  /** Round-trip time of the first reply, in milliseconds; undefined while unanswered. */
  rttMs?: number;
  /** Replies beyond the first one for this sequence number. */
  duplicates: number;
}

export interface RttSummary {
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WindowStats {
  /** Probes in the window. */
  sent: number;
  /** Answered within the timeout. */
  received: number;
  /** Answered, but after the timeout (they count as lost). */
  late: number;
  /** Unanswered (or answered late) once the timeout passed: late + never answered. */
  lost: number;
  /** Extra replies to a probe that was already answered. */
  duplicate: number;
  /** Sent less than the timeout ago and unanswered: not counted for loss yet. */
  pending: number;
  /** lost / (sent - pending), 0..1; 0 when nothing is decided yet. */
  lossRatio: number;
  /** RTT summary of the probes answered in time; null when none was. */
  rtt: RttSummary | null;
  /** Mean absolute difference of the RTTs of successive answered probes (in sequence order), ms. */
  jitterMs: number;
  /** RFC 3550 section 6.4.1 estimator over the same differences: J += (|D| - J) / 16, ms. */
  jitterRfc3550Ms: number;
}

/** Nearest-rank percentile (the smallest value with at least p% of the values at or below it). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of an empty list");
  if (!(p > 0 && p <= 100)) throw new Error(`percentile: p must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1];
}

export function summarizeRtt(rtts: readonly number[]): RttSummary | null {
  if (rtts.length === 0) return null;
  const sorted = [...rtts].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    minMs: sorted[0],
    meanMs: sum / sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1],
  };
}

/** Mean of |rtt[i] - rtt[i-1]| over RTTs listed in send order; 0 with fewer than two. */
export function meanAbsDelta(rtts: readonly number[]): number {
  if (rtts.length < 2) return 0;
  let sum = 0;
  for (let i = 1; i < rtts.length; i++) sum += Math.abs(rtts[i] - rtts[i - 1]);
  return sum / (rtts.length - 1);
}

/** RFC 3550 interarrival jitter fed with successive RTT differences: J starts at 0, J += (|D| - J) / 16. */
export function rfc3550Jitter(rtts: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < rtts.length; i++) j += (Math.abs(rtts[i] - rtts[i - 1]) - j) / 16;
  return j;
}

/** The statistics of a window at time `nowMs`; a probe is lost when unanswered `timeoutMs` after sending. */
export function summarizeWindow(
  records: readonly ProbeRecord[],
  nowMs: number,
  timeoutMs: number,
): WindowStats {
  const ordered = [...records].sort((a, b) => a.seq - b.seq);
  const inTime: number[] = [];
  let late = 0;
  let pending = 0;
  let duplicate = 0;
  let unanswered = 0;
  for (const r of ordered) {
    duplicate += r.duplicates;
    if (r.rttMs === undefined) {
      if (nowMs - r.sentAtMs < timeoutMs) pending++;
      else unanswered++;
    } else if (r.rttMs > timeoutMs) late++;
    else inTime.push(r.rttMs);
  }
  const decided = ordered.length - pending;
  const lost = late + unanswered;
  return {
    sent: ordered.length,
    received: inTime.length,
    late,
    lost,
    duplicate,
    pending,
    lossRatio: decided > 0 ? lost / decided : 0,
    rtt: summarizeRtt(inTime),
    jitterMs: meanAbsDelta(inTime),
    jitterRfc3550Ms: rfc3550Jitter(inTime),
  };
}

/** A fixed-size window of the most recent probes, indexed by sequence number. */
export class ProbeWindow {
  private readonly records = new Map<number, ProbeRecord>();

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`window must be a positive integer, got ${size}`);
  }

  add(seq: number, sentAtMs: number): void {
    this.records.set(seq, { seq, sentAtMs, duplicates: 0 });
    // Maps iterate in insertion order, and sequence numbers only grow: the first key is the oldest.
    while (this.records.size > this.size) this.records.delete(this.records.keys().next().value as number);
  }

  /** Records a reply; returns "first", "duplicate" or "unknown" (outside the window or never sent). */
  reply(seq: number, rttMs: number): "first" | "duplicate" | "unknown" {
    const r = this.records.get(seq);
    if (!r) return "unknown";
    if (r.rttMs !== undefined) {
      r.duplicates++;
      return "duplicate";
    }
    r.rttMs = rttMs;
    return "first";
  }

  list(): ProbeRecord[] {
    return [...this.records.values()];
  }

  clear(): void {
    this.records.clear();
  }
}
