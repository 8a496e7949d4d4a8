// Scores discovery against a labelled traffic mix run in a lab: a confusion matrix, per-class precision and
// recall, and the share of flows and of bytes classified right, with and without process/port hints.
import type { LabInventory } from "../../provider/lab";
import { analyse } from "../../provider/discovery/analyse";
import { sampleFlows, type SampleWindow } from "../../provider/discovery/sampler";
import { labelOf, startMix, type Label } from "./traffic/mix";
import type { MixSpec } from "./traffic/mixes";
import { sleep } from "./traffic/common";
import { classRates, emptyConfusion } from "./confusion";
import { APP_CLASSES, type AppClass, type DiscoveryResult } from "../../provider/discovery/types";

export interface Score {
  hints: boolean;
  flows: number;
  unlabelled: number;
  flowAccuracy: number;
  byteAccuracy: number;
  /** matrix[truth][predicted] = flows. */
  matrix: Record<AppClass, Record<AppClass, number>>;
  perClass: { applicationClass: AppClass; precision: number; recall: number; support: number }[];
  mistakes: { truth: AppClass; predicted: AppClass; bytes: number; why: string }[];
}

export function score(result: DiscoveryResult, labels: readonly Label[], hints: boolean): Score {
  const matrix = emptyConfusion();
  let [flows, unlabelled, right, bytes, rightBytes] = [0, 0, 0, 0, 0];
  const mistakes: Score["mistakes"] = [];
  for (const c of result.flows) {
    const truth = labelOf(labels, c.key);
    if (!truth) {
      unlabelled++;
      continue;
    }
    const b = c.features.bytesSent + c.features.bytesReceived;
    flows++;
    bytes += b;
    matrix[truth][c.applicationClass]++;
    if (truth === c.applicationClass) {
      right++;
      rightBytes += b;
    } else mistakes.push({ truth, predicted: c.applicationClass, bytes: b, why: c.why });
  }
  const perClass = classRates(matrix);
  return {
    hints,
    flows,
    unlabelled,
    flowAccuracy: flows ? right / flows : 0,
    byteAccuracy: bytes ? rightBytes / bytes : 0,
    matrix,
    perClass,
    mistakes,
  };
}

export interface EvalOptions {
  /** The lab host whose flows are sampled. */
  observe: string;
  warmupMs: number;
  windowMs: number;
  sampleEveryMs: number;
}

export interface EvalRun {
  window: SampleWindow;
  labels: Label[];
  withHints: Score;
  withoutHints: Score;
  result: DiscoveryResult;
}

/** Runs `spec` in the lab, samples the observed host once, scores the same window with and without hints. */
export async function evaluateMix(inv: LabInventory, spec: MixSpec, o: EvalOptions): Promise<EvalRun> {
  const host = inv.hosts.find((h) => h.name === o.observe);
  if (!host) throw new Error(`lab ${inv.name} has no host ${o.observe}`);
  const seconds = Math.ceil((o.warmupMs + o.windowMs) / 1000) + 5;
  const mix = await startMix(inv, spec, seconds);
  try {
    await sleep(o.warmupMs);
    const window = await sampleFlows({
      netns: host.netns,
      windowMs: o.windowMs,
      sampleEveryMs: o.sampleEveryMs,
    });
    const common = { netns: host.netns, windowMs: o.windowMs, sampleEveryMs: o.sampleEveryMs };
    const result = analyse(window, { ...common, hints: true });
    const bare = analyse(window, { ...common, hints: false });
    return {
      window,
      labels: mix.labels,
      result,
      withHints: score(result, mix.labels, true),
      withoutHints: score(bare, mix.labels, false),
    };
  } finally {
    await mix.stop();
  }
}

/** The confusion matrix and per-class figures as text. */
export function formatScore(s: Score): string {
  const short = (c: string) => c.split("-")[0].slice(0, 8);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${s.hints ? "with" : "without"} process/port hints: ${s.flows} labelled flows (${s.unlabelled} unlabelled)`,
    `  flows right ${pct(s.flowAccuracy)}, bytes right ${pct(s.byteAccuracy)}`,
    `  truth \\ predicted ${APP_CLASSES.map((c) => short(c).padStart(9)).join("")}`,
  ];
  for (const t of APP_CLASSES) {
    if (!APP_CLASSES.some((p) => s.matrix[t][p] > 0)) continue;
    lines.push(`  ${t.padEnd(18)}${APP_CLASSES.map((p) => String(s.matrix[t][p]).padStart(9)).join("")}`);
  }
  for (const p of s.perClass)
    lines.push(
      `  ${p.applicationClass.padEnd(16)} precision ${pct(p.precision).padStart(6)}  recall ${pct(p.recall).padStart(6)}  (${p.support} flows)`,
    );
  for (const m of s.mistakes) lines.push(`  miss: ${m.truth} -> ${m.predicted} (${m.bytes} B): ${m.why}`);
  return lines.join("\n");
}
