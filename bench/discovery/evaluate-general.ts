// Scores discovery on a general mix (traffic/general.ts): per flow, per byte, per class (precision, recall,
// confusion matrix), per tool, per application session (each generator instance), and the calibration of
// the confidence (expected calibration error, mean confidence of right and of wrong answers).
import { truncate, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { LabInventory } from "../../provider/lab";
import { analyse } from "../../provider/discovery/analyse";
import { sampleFlows, type SampleWindow } from "../../provider/discovery/sampler";
import { sleep } from "./traffic/common";
import { classRates, emptyConfusion } from "./confusion";
import { startGeneralMix, toolLabelOf, type GeneralMix, type Tool, type ToolLabel } from "./traffic/general";
import {
  APP_CLASSES,
  type AppClass,
  type ClassifiedFlow,
  type DiscoveryResult,
} from "../../provider/discovery/types";

export interface Rate {
  right: number;
  total: number;
  rightBytes: number;
  bytes: number;
}

export interface GeneralScore {
  hints: boolean;
  flows: number;
  unlabelled: number;
  flowAccuracy: number;
  byteAccuracy: number;
  /** matrix[truth][predicted] = flows. */
  matrix: Record<AppClass, Record<AppClass, number>>;
  perClass: {
    applicationClass: AppClass;
    precision: number;
    recall: number;
    byteRecall: number;
    support: number;
  }[];
  perTool: ({ tool: Tool; applicationClass: AppClass } & Rate)[];
  /** Generator instances (true application sessions): right when most of their bytes got their class. */
  sessions: {
    session: string;
    tool: Tool;
    truth: AppClass;
    predicted: AppClass;
    flows: number;
    bytes: number;
  }[];
  sessionAccuracy: number;
  /** Expected calibration error over flows (10 equal-width confidence bins), and the bins. */
  ece: number;
  /** The same with every tool weighing the same (a client opening hundreds of connections counts once). */
  eceToolBalanced: number;
  bins: { lo: number; hi: number; flows: number; meanConfidence: number; accuracy: number }[];
  meanConfidenceRight: number;
  meanConfidenceWrong: number;
  mistakes: {
    truth: AppClass;
    predicted: AppClass;
    tool: Tool;
    bytes: number;
    confidence: number;
    why: string;
  }[];
  /** Per labelled flow: evidence and outcome (for fitting the calibration on development runs). */
  outcomes: {
    tool: Tool;
    best: number;
    margin: number;
    rhythm: boolean;
    confidence: number;
    right: boolean;
    inherited: boolean;
  }[];
}

const bytesOf = (c: ClassifiedFlow) => c.features.bytesSent + c.features.bytesReceived;

export function scoreGeneral(
  result: DiscoveryResult,
  labels: readonly ToolLabel[],
  hints: boolean,
): GeneralScore {
  const matrix = emptyConfusion();
  const byteMatrix = structuredClone(matrix);
  const tools = new Map<Tool, { applicationClass: AppClass } & Rate>();
  const sessions = new Map<
    string,
    { tool: Tool; truth: AppClass; flows: number; bytes: Map<AppClass, number> }
  >();
  const outcomes: GeneralScore["outcomes"] = [];
  const mistakes: GeneralScore["mistakes"] = [];
  let [flows, unlabelled, right, bytes, rightBytes] = [0, 0, 0, 0, 0];
  for (const c of result.flows) {
    const label = toolLabelOf(labels, c.key, c.features.pid);
    if (!label) {
      unlabelled++;
      continue;
    }
    const truth = label.applicationClass;
    const b = bytesOf(c);
    const ok = truth === c.applicationClass;
    flows++;
    bytes += b;
    matrix[truth][c.applicationClass]++;
    byteMatrix[truth][c.applicationClass] += b;
    const t = tools.get(label.tool) ?? {
      applicationClass: truth,
      right: 0,
      total: 0,
      rightBytes: 0,
      bytes: 0,
    };
    t.total++;
    t.bytes += b;
    const s = sessions.get(label.session) ?? { tool: label.tool, truth, flows: 0, bytes: new Map() };
    s.flows++;
    s.bytes.set(c.applicationClass, (s.bytes.get(c.applicationClass) ?? 0) + b + 1);
    sessions.set(label.session, s);
    if (ok) {
      right++;
      rightBytes += b;
      t.right++;
      t.rightBytes += b;
    } else
      mistakes.push({
        truth,
        predicted: c.applicationClass,
        tool: label.tool,
        bytes: b,
        confidence: c.confidence,
        why: c.why,
      });
    tools.set(label.tool, t);
    outcomes.push({
      tool: label.tool,
      rhythm: c.evidence?.rhythm ?? false,
      best: c.evidence?.best ?? 0,
      margin: c.evidence?.margin ?? 0,
      confidence: c.confidence,
      right: ok,
      inherited: c.why.startsWith("its own evidence is weak"),
    });
  }
  const perClass = classRates(matrix).map(({ applicationClass: cls, support, ...rates }) => {
    const supportBytes = APP_CLASSES.reduce((a, p) => a + byteMatrix[cls][p], 0);
    return {
      applicationClass: cls,
      ...rates,
      byteRecall: supportBytes ? byteMatrix[cls][cls] / supportBytes : 1,
      support,
    };
  });
  const sessionList = [...sessions.entries()].map(([session, s]) => {
    const [predicted] = [...s.bytes.entries()].sort((x, y) => y[1] - x[1])[0];
    const total = [...s.bytes.values()].reduce((a, x) => a + x, 0);
    return { session, tool: s.tool, truth: s.truth, predicted, flows: s.flows, bytes: total };
  });
  const bins = Array.from({ length: 10 }, (_, i) => {
    const lo = i / 10;
    const hi = (i + 1) / 10;
    const inBin = outcomes.filter(
      (o) => o.confidence >= lo && (o.confidence < hi || (i === 9 && o.confidence <= 1)),
    );
    const n = inBin.length;
    return {
      lo,
      hi,
      flows: n,
      meanConfidence: n ? inBin.reduce((a, o) => a + o.confidence, 0) / n : 0,
      accuracy: n ? inBin.filter((o) => o.right).length / n : 0,
    };
  });
  const n = outcomes.length;
  const perTool = new Map<Tool, number>();
  for (const o of outcomes) perTool.set(o.tool, (perTool.get(o.tool) ?? 0) + 1);
  const weighted = (ws: (o: (typeof outcomes)[number]) => number) => {
    const total = outcomes.reduce((a, o) => a + ws(o), 0);
    let e = 0;
    for (let i = 0; i < 10; i++) {
      const inBin = outcomes.filter((o) => Math.min(9, Math.floor(o.confidence * 10)) === i);
      const w = inBin.reduce((a, o) => a + ws(o), 0);
      if (!w) continue;
      const conf = inBin.reduce((a, o) => a + ws(o) * o.confidence, 0) / w;
      const acc = inBin.reduce((a, o) => a + ws(o) * (o.right ? 1 : 0), 0) / w;
      e += (w / total) * Math.abs(acc - conf);
    }
    return e;
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  return {
    hints,
    flows,
    unlabelled,
    flowAccuracy: flows ? right / flows : 0,
    byteAccuracy: bytes ? rightBytes / bytes : 0,
    matrix,
    perClass,
    perTool: [...tools.entries()]
      .map(([tool, r]) => ({ tool, ...r }))
      .sort((a, b) => a.applicationClass.localeCompare(b.applicationClass)),
    sessions: sessionList,
    sessionAccuracy: sessionList.length
      ? sessionList.filter((s) => s.truth === s.predicted).length / sessionList.length
      : 0,
    ece: n ? bins.reduce((a, b) => a + (b.flows / n) * Math.abs(b.accuracy - b.meanConfidence), 0) : 0,
    eceToolBalanced: n ? weighted((o) => 1 / (perTool.get(o.tool) ?? 1)) : 0,
    bins,
    meanConfidenceRight: mean(outcomes.filter((o) => o.right).map((o) => o.confidence)),
    meanConfidenceWrong: mean(outcomes.filter((o) => !o.right).map((o) => o.confidence)),
    mistakes,
    outcomes,
  };
}

export interface GeneralEvalOptions {
  observe: string;
  warmupMs: number;
  windowMs: number;
  sampleEveryMs: number;
}

export interface GeneralEvalRun {
  window: SampleWindow;
  labels: ToolLabel[];
  result: DiscoveryResult;
  withHints: GeneralScore;
  withoutHints: GeneralScore;
}

/** Runs `mix` in the lab, samples the observed host once, scores that window with and without hints. */
export async function evaluateGeneral(
  inv: LabInventory,
  mix: GeneralMix,
  o: GeneralEvalOptions,
): Promise<GeneralEvalRun> {
  const host = inv.hosts.find((h) => h.name === o.observe);
  if (!host) throw new Error(`lab ${inv.name} has no host ${o.observe}`);
  const seconds = Math.ceil((o.warmupMs + o.windowMs) / 1000) + 5;
  // The file scp, rsync copy: sparse, so it costs no disk.
  const bigFile = join(tmpdir(), `np-discovery-big-${process.pid}`);
  await writeFile(bigFile, "");
  await truncate(bigFile, 512 * 1024 * 1024);
  const running = await startGeneralMix(inv, mix, seconds, bigFile);
  try {
    await sleep(o.warmupMs);
    const tracker = setInterval(() => void running.trackPids(), 500);
    let window: SampleWindow;
    try {
      window = await sampleFlows({ netns: host.netns, windowMs: o.windowMs, sampleEveryMs: o.sampleEveryMs });
    } finally {
      clearInterval(tracker);
    }
    await running.trackPids();
    const common = { netns: host.netns, windowMs: o.windowMs, sampleEveryMs: o.sampleEveryMs };
    const result = analyse(window, { ...common, hints: true });
    const bare = analyse(window, { ...common, hints: false });
    return {
      window,
      labels: running.labels,
      result,
      withHints: scoreGeneral(result, running.labels, true),
      withoutHints: scoreGeneral(bare, running.labels, false),
    };
  } finally {
    await running.stop();
    await rm(bigFile, { force: true });
    for (let k = 0; k < mix.generators.length; k++)
      await rm(join(tmpdir(), `np-discovery-rsync-${k}`), { force: true }).catch(() => undefined);
  }
}

/** The figures as text: accuracy, confusion matrix, per class, per tool, per session, calibration. */
export function formatGeneralScore(s: GeneralScore): string {
  const short = (c: string) => c.split("-")[0].slice(0, 8);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${s.hints ? "with" : "without"} process/port hints: ${s.flows} labelled flows (${s.unlabelled} unlabelled), ${s.sessions.length} sessions`,
    `  flows right ${pct(s.flowAccuracy)}, bytes right ${pct(s.byteAccuracy)}, sessions right ${pct(s.sessionAccuracy)}`,
    `  calibration: ECE ${s.ece.toFixed(3)} (tool-balanced ${s.eceToolBalanced.toFixed(3)}), mean confidence right ${s.meanConfidenceRight.toFixed(2)}, wrong ${s.meanConfidenceWrong.toFixed(2)}`,
    `  truth \\ predicted ${APP_CLASSES.map((c) => short(c).padStart(9)).join("")}`,
  ];
  for (const t of APP_CLASSES) {
    if (!APP_CLASSES.some((p) => s.matrix[t][p] > 0)) continue;
    lines.push(`  ${t.padEnd(18)}${APP_CLASSES.map((p) => String(s.matrix[t][p]).padStart(9)).join("")}`);
  }
  for (const p of s.perClass)
    lines.push(
      `  ${p.applicationClass.padEnd(16)} precision ${pct(p.precision).padStart(6)}  recall ${pct(p.recall).padStart(6)}  byte recall ${pct(p.byteRecall).padStart(6)}  (${p.support} flows)`,
    );
  for (const t of s.perTool)
    lines.push(
      `  tool ${t.tool.padEnd(20)} ${t.applicationClass.padEnd(16)} flows ${t.right}/${t.total}  bytes ${pct(t.bytes ? t.rightBytes / t.bytes : 1)}`,
    );
  for (const x of s.sessions.filter((x) => x.truth !== x.predicted))
    lines.push(`  session wrong: ${x.session} (${x.flows} flows) ${x.truth} -> ${x.predicted}`);
  lines.push(
    `  confidence bins: ${s.bins
      .filter((b) => b.flows)
      .map(
        (b) =>
          `[${b.lo.toFixed(1)},${b.hi.toFixed(1)}) n=${b.flows} conf ${b.meanConfidence.toFixed(2)} acc ${b.accuracy.toFixed(2)}`,
      )
      .join("; ")}`,
  );
  const grouped = new Map<string, { n: number; bytes: number; conf: number; why: string }>();
  for (const m of s.mistakes) {
    const k = `${m.tool}: ${m.truth} -> ${m.predicted}`;
    const g = grouped.get(k) ?? { n: 0, bytes: 0, conf: 0, why: m.why };
    g.n++;
    g.bytes += m.bytes;
    g.conf += m.confidence;
    grouped.set(k, g);
  }
  for (const [k, g] of grouped)
    lines.push(
      `  miss ${k}: ${g.n} flows, ${g.bytes} B, mean confidence ${(g.conf / g.n).toFixed(2)}; e.g. ${g.why}`,
    );
  return lines.join("\n");
}
