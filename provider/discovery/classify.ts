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
  return {
    "bulk-transfer":
      ramp(f.dutyCycle, 0.5, 0.8) *
      ramp(f.asymmetry, 0.85, 0.97) *
      ramp(f.meanRateBps, 2e5, 1e6) *
      ramp(bigSeg, 500, 1000),
    "video-streaming":
      periodic * ramp(f.asymmetry, 0.85, 0.97) * ramp(f.requestsPerBurst, 4, 2) * ramp(f.dutyCycle, 0.9, 0.6),
    // Machine-driven request streams are steady: hardly an interval without a query.
    "database-access":
      ramp(f.requestResponseRatio, 0.3, 0.6) *
      ramp(f.dutyCycle, 0.6, 0.85) *
      ramp(smallSeg, 600, 300) *
      ramp(f.meanRateBps, 1e3, 4e3) *
      ramp(f.asymmetry, 0.97, 0.85),
    "web-browsing":
      ramp(f.requestResponseRatio, 0.2, 0.5) *
      ramp(f.asymmetry, 0.7, 0.9) *
      ramp(f.dutyCycle, 0.9, 0.6) *
      (1 - periodic) *
      ramp(bigSeg, 200, 600),
    // A person typing pauses between words and lines: many intervals stay idle.
    interactive:
      ramp(f.requestResponseRatio, 0.3, 0.6) *
      ramp(f.dutyCycle, 0.9, 0.8) *
      ramp(smallSeg, 160, 80) *
      ramp(f.meanRateBps, 4e4, 1.5e4) *
      ramp(f.asymmetry, 0.9, 0.75),
  };
}

export function classifyFlow(key: FlowKey, f: FlowFeatures, opts: HintOptions = {}): ClassifiedFlow {
  const total = f.bytesSent + f.bytesReceived;
  if (total < MIN_FLOW_BYTES) {
    const why = `only ${total} bytes in the window: too little to tell`;
    return { key, features: f, applicationClass: "other", confidence: 0.5, why };
  }
  const s: Record<AppClass, number> = { ...scores(f), other: OTHER_BASELINE };
  const hints = hintsFor(f, opts);
  for (const h of hints) s[h.cls] += HINT_WEIGHT;
  const ranked = (Object.entries(s) as [AppClass, number][]).sort((a, b) => b[1] - a[1]);
  const [best, bestScore] = ranked[0];
  const all = ranked.reduce((acc, [, v]) => acc + v, 0);
  const confidence = Math.round((bestScore / all) * Math.min(1, bestScore / 0.6) * 100) / 100;
  const from = hints.filter((h) => h.cls === best).map((h) => h.from);
  const why =
    best === "other"
      ? "no class's pattern fits"
      : `${describe(best, f)}${from.length ? `; ${from.join(", ")}` : ""}`;
  return { key, features: f, applicationClass: best, confidence, why };
}

function describe(c: AppClass, f: FlowFeatures): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
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
