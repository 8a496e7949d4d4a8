// Per-flow features from a sampled series: volume, rate and its variance, duty cycle, burst rhythm,
// request/response pattern, segment sizes, direction, path hints (RTT, retransmissions, path MTU).
import type { FlowFeatures, FlowSeries } from "./types";

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: 0, std: 0 };
  const mean = sum(xs) / xs.length;
  const v = sum(xs.map((x) => (x - mean) ** 2)) / xs.length;
  return { mean, std: Math.sqrt(v) };
}

const cv = (xs: readonly number[]) => {
  const { mean, std } = meanStd(xs);
  return mean > 0 ? std / mean : 0;
};

/** The interval indices a flow covers: from its first counted interval to its last sighting. */
export function coveredIntervals(f: FlowSeries): number[] {
  const start = f.preexisting ? Math.max(1, f.first) : f.first;
  const out: number[] = [];
  for (let i = start; i <= f.last; i++) out.push(i);
  return out;
}

/** Features of one flow. `times` are the sample instants (s); `listening` the host's listening ports. */
export function flowFeatures(
  f: FlowSeries,
  times: readonly number[],
  listening: ReadonlySet<number>,
): FlowFeatures {
  const idx = coveredIntervals(f);
  const dt = (i: number) => (i > 0 ? times[i] - times[i - 1] : times.length > 1 ? times[1] - times[0] : 1);
  const durationSeconds = sum(idx.map(dt));
  const bytesSent = sum(idx.map((i) => f.sent[i]));
  const bytesReceived = sum(idx.map((i) => f.received[i]));
  const total = bytesSent + bytesReceived;
  const rates = idx.map((i) => (8 * (f.sent[i] + f.received[i])) / Math.max(dt(i), 1e-3));
  const { mean: meanRate, std: rateStd } = meanStd(rates);
  const active = idx.filter((i) => f.sent[i] + f.received[i] > 0);
  const both = active.filter((i) => f.sent[i] > 0 && f.received[i] > 0);

  // Bursts: runs of consecutive active intervals.
  const bursts: { start: number; bytes: number; requests: number }[] = [];
  const requestSide = bytesSent <= bytesReceived ? f.segsOut : f.segsIn;
  let prev = -2;
  for (const i of active) {
    if (i !== prev + 1) bursts.push({ start: times[i], bytes: 0, requests: 0 });
    const b = bursts[bursts.length - 1];
    b.bytes += f.sent[i] + f.received[i];
    b.requests += requestSide[i];
    prev = i;
  }
  const gaps = bursts.slice(1).map((b, k) => b.start - bursts[k].start);
  const segsOut = sum(idx.map((i) => f.segsOut[i]));
  const segsIn = sum(idx.map((i) => f.segsIn[i]));
  const localListens = listening.has(f.key.localPort);

  return {
    direction: localListens ? "inbound" : "outbound",
    servicePort: localListens ? f.key.localPort : f.key.remotePort,
    durationSeconds,
    bytesSent,
    bytesReceived,
    meanRateBps: durationSeconds > 0 ? (8 * total) / durationSeconds : 0,
    rateVariance: rateStd ** 2,
    rateCv: meanRate > 0 ? rateStd / meanRate : 0,
    dutyCycle: idx.length ? active.length / idx.length : 0,
    requestResponseRatio: active.length ? both.length / active.length : 0,
    bursts: bursts.length,
    burstPeriodSeconds: gaps.length ? sum(gaps) / gaps.length : 0,
    burstPeriodCv: gaps.length >= 2 ? cv(gaps) : 1,
    burstSizeCv: bursts.length >= 2 ? cv(bursts.map((b) => b.bytes)) : 1,
    requestsPerBurst: bursts.length ? sum(bursts.map((b) => b.requests)) / bursts.length : 0,
    meanBurstBytes: bursts.length ? total / bursts.length : 0,
    meanSegmentSent: segsOut ? bytesSent / segsOut : 0,
    meanSegmentReceived: segsIn ? bytesReceived / segsIn : 0,
    asymmetry: total > 0 ? Math.max(bytesSent, bytesReceived) / total : 0.5,
    retransRatio: bytesSent > 0 ? f.retransBytes / bytesSent : 0,
    observedBy: "ss",
    shortLived: false,
    ...(f.rttMs !== undefined && { rttMs: f.rttMs }),
    ...(f.pmtu !== undefined && { pmtu: f.pmtu }),
    ...(f.process !== undefined && { process: f.process }),
  };
}
