// Rules that turn flow features into an application class with a confidence. Each class has a score in
// 0..1 built from soft thresholds (ramps), hints add a little, the best score wins; the confidence is the
// winner's share of all scores, damped when even the winner scores low.
import { HINT_WEIGHT, hintsFor, type HintOptions } from "./hints";
import type { AppClass, ClassifiedFlow, FlowFeatures, FlowKey } from "./types";

/** 0 at or below `lo`, 1 at or above `hi`, linear between (reversed when lo > hi). */
export function ramp(x: number, lo: number, hi: number): number {
  if (lo > hi) return 1 - ramp(x, hi, lo);
  if (x <= lo) return 0;
  if (x >= hi) return 1;
  return (x - lo) / (hi - lo);
}

/** Fewer bytes than this in the window: too little to tell. */
export const MIN_FLOW_BYTES = 256;
const OTHER_BASELINE = 0.2;

/** Feature score of every class but "other". */
export function scores(f: FlowFeatures): Record<Exclude<AppClass, "other">, number> {
  const bigSeg = Math.max(f.meanSegmentSent, f.meanSegmentReceived);
  const smallSeg = Math.max(
    f.bytesSent > 0 ? f.meanSegmentSent : 0,
    f.bytesReceived > 0 ? f.meanSegmentReceived : 0,
  );
  const periodic = f.bursts >= 3 ? ramp(f.burstPeriodCv, 0.45, 0.2) * ramp(f.burstSizeCv, 0.6, 0.3) : 0;
  const total = f.bytesSent + f.bytesReceived;
  const requestSeg = f.bytesSent <= f.bytesReceived ? f.meanSegmentSent : f.meanSegmentReceived;
  // A download the receiver paces (curl --limit-rate, a slow disk): one request, then a long one-way
  // stream that comes in bursts whenever the receiver drains its buffer.
  const pacedDownload =
    ramp(f.asymmetry, 0.97, 0.99) *
    ramp(total, 4e6, 1.6e7) *
    ramp(f.requestsPerBurst, 0.8, 0.4) *
    ramp(bigSeg, 500, 1000);
  return {
    "bulk-transfer": Math.max(
      ramp(f.dutyCycle, 0.5, 0.8) *
        ramp(f.asymmetry, 0.85, 0.97) *
        ramp(f.meanRateBps, 2e5, 1e6) *
        ramp(bigSeg, 500, 1000),
      pacedDownload,
    ),
    // Segments asked for one by one: every burst starts with a request.
    "video-streaming":
      periodic *
      ramp(f.asymmetry, 0.85, 0.97) *
      ramp(f.requestsPerBurst, 4, 2) *
      ramp(f.requestsPerBurst, 0.4, 0.8) *
      ramp(f.dutyCycle, 0.9, 0.6),
    // Machine-driven request streams are steady: hardly an interval without a query.
    "database-access":
      ramp(f.requestResponseRatio, 0.3, 0.6) *
      ramp(f.dutyCycle, 0.6, 0.85) *
      ramp(smallSeg, 600, 300) *
      ramp(f.meanRateBps, 1e3, 4e3) *
      ramp(f.asymmetry, 0.97, 0.85),
    // Pages are tens of kB per burst; a shell command's output is a few hundred bytes.
    "web-browsing":
      ramp(f.requestResponseRatio, 0.2, 0.5) *
      ramp(f.asymmetry, 0.7, 0.9) *
      ramp(f.dutyCycle, 0.9, 0.6) *
      (1 - periodic) *
      ramp(bigSeg, 200, 600) *
      ramp(f.meanBurstBytes, 1500, 4000),
    // A person pauses between words and lines: many intervals stay idle. Character mode echoes every key
    // (small both ways); line mode sends a short line and reads its output (small requests, modest replies).
    interactive:
      ramp(f.bursts, 2, 4) *
      ramp(f.meanRateBps, 4e4, 1.5e4) *
      Math.max(
        ramp(f.requestResponseRatio, 0.3, 0.6) *
          ramp(f.dutyCycle, 0.9, 0.8) *
          ramp(smallSeg, 160, 80) *
          ramp(f.asymmetry, 0.9, 0.75),
        ramp(f.dutyCycle, 0.6, 0.4) *
          ramp(requestSeg, 160, 80) *
          ramp(f.requestsPerBurst, 4, 2) *
          ramp(f.meanBurstBytes, 3000, 1500),
      ),
  };
}

/** What the other short connections of the same session look like (a train of connections to one service). */
export interface TrainFeatures {
  connections: number;
  /** Regularity of the connections' start times and of their response sizes (coefficients of variation). */
  startCv: number;
  responseCv: number;
  medianResponse: number;
}

/** Scores of a short connection, judged on its whole-life totals and on its session's train. */
export function shortScores(
  f: FlowFeatures,
  train?: TrainFeatures,
): Record<Exclude<AppClass, "other">, number> {
  const c = f.connection;
  if (!c)
    return {
      "bulk-transfer": 0,
      "video-streaming": 0,
      "database-access": 0,
      "web-browsing": 0,
      interactive: 0,
    };
  const [q, a] = [c.requestBytes, c.responseBytes];
  const ratio = a / Math.max(q, 1);
  const periodic =
    train && train.connections >= 3 ? ramp(train.startCv, 0.45, 0.2) * ramp(train.responseCv, 0.5, 0.25) : 0;
  const bigSegments = ramp(a, 32_768, 131_072);
  return {
    "bulk-transfer": ramp(q + a, 2e6, 8e6) * ramp(f.asymmetry, 0.9, 0.97) * (1 - periodic),
    "video-streaming": bigSegments * ramp(ratio, 10, 50) * periodic,
    // A connection per query: a small request answered by a small result, both ways.
    "database-access": (q >= 8 && a >= 4 ? 1 : 0) * ramp(a, 16_384, 4_096) * ramp(ratio, 8, 3),
    // A connection per object: a short request answered by a larger object.
    "web-browsing":
      ramp(a, 800, 2_500) * ramp(ratio, 3, 6) * ramp(q, 4_096, 2_048) * (1 - bigSegments * periodic),
    interactive: 0,
  };
}

/** Scores of a UDP flow from conntrack's once-a-second rhythm (no request/response payloads to read). */
export function udpScores(f: FlowFeatures): Record<Exclude<AppClass, "other">, number> {
  const bigSeg = Math.max(f.meanSegmentSent, f.meanSegmentReceived);
  return {
    // A steady one-way stream of near-full datagrams at media rates: RTP/MPEG-TS streaming.
    "video-streaming":
      ramp(f.asymmetry, 0.8, 0.95) *
      ramp(f.dutyCycle, 0.5, 0.8) *
      ramp(bigSeg, 300, 800) *
      ramp(f.meanRateBps, 5e4, 2e5) *
      ramp(f.meanRateBps, 2e8, 5e7),
    "bulk-transfer": ramp(f.asymmetry, 0.9, 0.97) * ramp(f.meanRateBps, 5e7, 2e8),
    "database-access": 0,
    "web-browsing": 0,
    // Small datagrams both ways at a low rate: a remote terminal (mosh) or a voice call.
    interactive: ramp(bigSeg, 300, 150) * ramp(f.meanRateBps, 1e5, 3e4) * ramp(f.asymmetry, 0.95, 0.8),
  };
}

/**
 * Confidence from the best score, its margin over the runner-up and whether the flow's rhythm was seen (or
 * only its whole-life totals), through a logistic curve whose coefficients were fitted on the development
 * runs (scripts/fit-calibration.ts, docs/discovery.md "Calibration"): a narrow win, a weak best score or
 * thin evidence gives a low confidence.
 */
export const CALIBRATION = { bias: 0.93, best: 2.05, margin: 4.02, rhythm: 0.05 };

export function calibratedConfidence(best: number, margin: number, rhythm: boolean): number {
  const c = CALIBRATION;
  const z = c.bias + c.best * best + c.margin * margin + (rhythm ? c.rhythm : 0);
  return Math.round((1 / (1 + Math.exp(-z))) * 100) / 100;
}

export function classifyFlow(
  key: FlowKey,
  f: FlowFeatures,
  opts: HintOptions = {},
  train?: TrainFeatures,
): ClassifiedFlow {
  const total = f.bytesSent + f.bytesReceived;
  // One or two exchanges on a mostly idle connection have no rhythm to read: judge them on their totals.
  const fewExchanges = !f.shortLived && f.connection !== undefined && f.bursts < 3 && f.dutyCycle < 0.5;
  const onTotals = key.protocol === "tcp" && (f.shortLived || fewExchanges);
  const exchange =
    onTotals && f.connection && f.connection.requestBytes >= 8 && f.connection.responseBytes >= 4;
  // A few hundred bytes tell nothing, unless they came as several separate exchanges (a slow typist).
  if (total < MIN_FLOW_BYTES && !exchange && (onTotals || f.bursts < 3)) {
    const why = `only ${total} bytes in the window: too little to tell`;
    return { key, features: f, applicationClass: "other", confidence: 0.5, why };
  }
  const model = key.protocol === "udp" ? udpScores(f) : onTotals ? shortScores(f, train) : scores(f);
  const s: Record<AppClass, number> = { ...model, other: OTHER_BASELINE };
  const hints = hintsFor(f, opts);
  for (const h of hints) s[h.cls] += HINT_WEIGHT;
  const ranked = (Object.entries(s) as [AppClass, number][]).sort((a, b) => b[1] - a[1]);
  const [best, bestScore] = ranked[0];
  const confidence = calibratedConfidence(Math.min(1, bestScore), bestScore - ranked[1][1], !onTotals);
  const from = hints.filter((h) => h.cls === best).map((h) => h.from);
  const why =
    best === "other"
      ? "no class's pattern fits"
      : `${describe(best, f, key)}${from.length ? `; ${from.join(", ")}` : ""}`;
  const evidence = { best: Math.min(1, bestScore), margin: bestScore - ranked[1][1], rhythm: !onTotals };
  return { key, features: f, applicationClass: best, confidence, why, evidence };
}

function describe(c: AppClass, f: FlowFeatures, key: FlowKey): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const conn = f.connection;
  if (key.protocol === "udp")
    return `udp stream: ${pct(f.asymmetry)} one way at ${(f.meanRateBps / 1e6).toFixed(2)} Mbit/s, active ${pct(f.dutyCycle)} of seconds`;
  if (f.shortLived && conn)
    return `short connection (${conn.lifetimeSeconds.toFixed(3)} s, seen whole by conntrack): request ${conn.requestBytes} B, response ${conn.responseBytes} B`;
  switch (c) {
    case "bulk-transfer":
      return `steady one-way transfer: active ${pct(f.dutyCycle)} of the time, ${pct(f.asymmetry)} one way, ${(f.meanRateBps / 1e6).toFixed(1)} Mbit/s`;
    case "video-streaming":
      return `periodic bursts: ${f.bursts} every ${f.burstPeriodSeconds.toFixed(1)} s (cv ${f.burstPeriodCv.toFixed(2)}), one request per burst`;
    case "database-access":
      return `steady small requests and responses: both ways in ${pct(f.requestResponseRatio)} of active intervals`;
    case "web-browsing":
      return `irregular request/response bursts with larger responses (${f.bursts} bursts, ${pct(f.asymmetry)} one way)`;
    default:
      return `small keystroke-sized messages both ways at ${(f.meanRateBps / 1e3).toFixed(1)} kbit/s`;
  }
}
