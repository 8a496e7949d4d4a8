// Figures of the blast-radius benchmark: per run, from its traffic (failed requests, flow-seconds below half
// the flow's own baseline, share of flows ever below it, time until the host is healthy again); per case and
// mode, medians with their range; per bad case, blended over all at once.
import type { BlastTraffic, StreamSample } from "./blast-traffic";
import { figure, median, type Figure } from "./stats";

export type Mode = "all-at-once" | "blended";

export interface BlastRun {
  case: string;
  control: boolean;
  mode: Mode;
  repeat: number;
  /** Seconds from the traffic's start: the change, and the end of the observed window. */
  changeS: number;
  endS: number;
  requests: number;
  failed: number;
  flows: number;
  affectedFlows: number;
  impairedFlowS: number;
  /** Seconds from the change to the end of the last bad moment (0: none). */
  healthyS: number;
  /** Still bad in the last 1.5 s of the window: healthyS is the window's length, a lower bound. */
  censored: boolean;
  baselineMbps: number;
  /** What the change did: the apply's outcome or the session's end. */
  outcome: string;
  load1: number;
}

/** Each sample averaged with its neighbours (3 × 0.2 s): a paced stream's intervals alternate full and short. */
function smooth(xs: StreamSample[]): StreamSample[] {
  return xs.map((s, i) => {
    const w = xs.slice(Math.max(0, i - 1), i + 2);
    return { ...s, mbps: w.reduce((a, x) => a + x.mbps, 0) / w.length };
  });
}

export function analyse(
  tr: BlastTraffic,
  changeUnixMs: number,
  endUnixMs: number,
): Omit<BlastRun, "case" | "control" | "mode" | "repeat" | "outcome" | "load1"> {
  const c0 = (changeUnixMs - tr.startUnixMs) / 1000;
  const end = (endUnixMs - tr.startUnixMs) / 1000;
  let lastBad = -Infinity;
  let impairedFlowS = 0;
  let affectedFlows = 0;
  const bases: number[] = [];
  for (const raw of tr.streams) {
    const s = smooth(raw);
    const before = s.filter((x) => x.t > 1 && x.t <= c0 - 0.2);
    const base = before.reduce((a, x) => a + x.mbps, 0) / Math.max(1, before.length);
    bases.push(base);
    const bad = s.filter((x) => x.t > c0 && x.t <= end && x.mbps < 0.5 * base);
    impairedFlowS += bad.reduce((a, x) => a + x.seconds, 0);
    if (bad.length) affectedFlows++;
    for (const x of bad) lastBad = Math.max(lastBad, x.t);
  }
  const rrOffsetS = (tr.requestsStartUnixMs - tr.startUnixMs) / 1000;
  const reqs = tr.requests.filter(([off]) => off / 1000 + rrOffsetS >= c0 && off / 1000 + rrOffsetS <= end);
  const failed = reqs.filter(([, lat]) => lat < 0);
  for (const [off] of failed) lastBad = Math.max(lastBad, off / 1000 + rrOffsetS);
  const censored = lastBad > end - 1.5;
  return {
    changeS: c0,
    endS: end,
    requests: reqs.length,
    failed: failed.length,
    flows: tr.streams.length,
    affectedFlows,
    impairedFlowS,
    healthyS: censored ? end - c0 : Number.isFinite(lastBad) ? Math.max(0, lastBad - c0) : 0,
    censored,
    baselineMbps: median(bases),
  };
}

const FIVE = { op: "<=" as const, value: 0.2, text: "≤ 0.2 (one fifth)" };

const cell = (runs: BlastRun[], id: string, mode: Mode) =>
  runs.filter((r) => r.case === id && r.mode === mode);
const col = (rs: BlastRun[], f: (r: BlastRun) => number) => rs.map(f);
const affectedPct = (r: BlastRun) => (100 * r.affectedFlows) / Math.max(1, r.flows);

/** Blended over all at once, of the medians; undefined (NaN) when all at once's median is 0. */
export function ratioOfMedians(b: number[], a: number[]): number {
  const ma = median(a);
  return ma > 0 ? median(b) / ma : NaN;
}

export function blastFigures(runs: BlastRun[], cases: { id: string; control: boolean }[]): Figure[] {
  const out: Figure[] = [];
  for (const c of cases) {
    for (const mode of ["all-at-once", "blended"] as Mode[]) {
      const rs = cell(runs, c.id, mode);
      const tag = `${c.id}.${mode === "blended" ? "b" : "a"}`;
      out.push(
        figure(
          `${tag}.failed`,
          `${c.id}, ${mode}: failed requests`,
          "requests",
          col(rs, (r) => r.failed),
        ),
        figure(
          `${tag}.impaired`,
          `${c.id}, ${mode}: flow-seconds below ½ baseline`,
          "flow·s",
          col(rs, (r) => r.impairedFlowS),
        ),
        figure(
          `${tag}.affected`,
          `${c.id}, ${mode}: flows ever below ½ baseline`,
          "% of flows",
          col(rs, affectedPct),
        ),
        figure(
          `${tag}.healthy`,
          `${c.id}, ${mode}: healthy again after`,
          "s",
          col(rs, (r) => r.healthyS),
        ),
      );
    }
    const [a, b] = [cell(runs, c.id, "all-at-once"), cell(runs, c.id, "blended")];
    const target = c.control ? undefined : FIVE;
    for (const [k, f] of [
      ["failed", (r: BlastRun) => r.failed],
      ["impaired", (r: BlastRun) => r.impairedFlowS],
    ] as [string, (r: BlastRun) => number][]) {
      const v = ratioOfMedians(col(b, f), col(a, f));
      out.push(
        figure(
          `${c.id}.ratio.${k}`,
          `${c.id}: ${k} ratio blended / all at once (medians)`,
          "ratio",
          [v],
          target,
        ),
      );
    }
  }
  return out;
}

function cellText(xs: number[], digits: number, censored = 0): string {
  if (!xs.length) return "n/a";
  const f = (v: number) => v.toFixed(digits);
  const s = `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  return censored ? `${s}, ${censored}/${xs.length} ≥ window` : s;
}

/** An outcome without its times, apply ids and detail after the first clause, so equal ones merge. */
const brief = (outcome: string) =>
  outcome
    .replace(/ at (w = )?[\d.]+( s)?/g, "")
    .replace(/apply [a-z0-9]+-[a-z0-9]+ /, "apply ")
    .replace(/^(rolled back: )rollback: /, "$1")
    .replace(/^converged: converged: /, "converged: ")
    .split(/[;(]/)[0]
    .trim();

/** The table RESULTS.md shows: median (min–max) per case and mode, the ratio beside each bad case. */
export function blastTable(
  runs: BlastRun[],
  cases: { id: string; what: string; control: boolean }[],
): string[] {
  const rows = [
    "| case | mode | failed requests | flow-s below ½ baseline | flows affected % | healthy after s | ratio failed / flow-s (b/a) | how it ended |",
    "| ---- | ---- | --------------: | ----------------------: | ---------------: | --------------: | --------------------------: | ------------ |",
  ];
  for (const c of cases) {
    for (const mode of ["all-at-once", "blended"] as Mode[]) {
      const rs = cell(runs, c.id, mode);
      const [a, b] = [cell(runs, c.id, "all-at-once"), cell(runs, c.id, "blended")];
      const r = (f: (x: BlastRun) => number) => {
        const v = ratioOfMedians(col(b, f), col(a, f));
        return Number.isFinite(v) ? v.toFixed(2) : "n/a";
      };
      const ratio = mode === "blended" ? `${r((x) => x.failed)} / ${r((x) => x.impairedFlowS)}` : "";
      const outcomes = [...new Set(rs.map((x) => brief(x.outcome)))].join("; ");
      rows.push(
        `| ${c.id}${c.control ? " (control)" : ""} | ${mode} | ${cellText(
          col(rs, (x) => x.failed),
          0,
        )} | ${cellText(
          col(rs, (x) => x.impairedFlowS),
          1,
        )} | ${cellText(col(rs, affectedPct), 0)} | ${cellText(
          col(rs, (x) => x.healthyS),
          1,
          rs.filter((x) => x.censored).length,
        )} | ${ratio} | ${outcomes} |`,
      );
    }
  }
  return rows;
}
