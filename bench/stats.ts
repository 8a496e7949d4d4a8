// The shape of benchmark results (bench/results.json) and the helpers that build it: every figure keeps its
// raw values over the repeated runs, their mean, min, max and standard deviation, and its target, if any.

export interface Target {
  op: "<=" | ">=" | "<" | ">";
  value: number;
  /** How the target reads in the table, e.g. "≤ 0.2 (one fifth)". */
  text: string;
}

export interface Figure {
  id: string;
  label: string;
  unit: string;
  values: number[];
  n: number;
  mean: number;
  min: number;
  max: number;
  stddev: number;
  target?: Target;
  /** Whether the mean meets the target; null without a target or without values. */
  met: boolean | null;
}

export interface PartResult {
  title: string;
  /** Sizes and settings the part ran with (durations, rates, N, repeats). */
  settings: Record<string, unknown>;
  figures: Figure[];
  /** Extra Markdown tables shown under the figures (e.g. medians with ranges per case). */
  tables?: string[];
  /** What the figures mean here and what a reader must know (method, limits, honest caveats). */
  notes: string[];
  /** Per-run details (for a reader who wants to check the figures). */
  runs: unknown[];
}

export interface BenchResults {
  schema: 1;
  smoke: boolean;
  repeat: number;
  date: string;
  commit: string;
  dirty: boolean;
  machine: Record<string, unknown>;
  durationSeconds: number;
  parts: Record<string, PartResult>;
}

const round = (v: number, digits = 3) => {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

function meets(mean: number, t: Target): boolean {
  switch (t.op) {
    case "<=":
      return mean <= t.value;
    case ">=":
      return mean >= t.value;
    case "<":
      return mean < t.value;
    case ">":
      return mean > t.value;
  }
}

/** A figure from its raw values (NaN values are dropped: a run that could not measure it). */
export function figure(
  id: string,
  label: string,
  unit: string,
  raw: readonly number[],
  target?: Target,
): Figure {
  const values = raw.filter((v) => Number.isFinite(v)).map((v) => round(v, 4));
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return {
    id,
    label,
    unit,
    values,
    n,
    mean: round(mean),
    min: n ? Math.min(...values) : NaN,
    max: n ? Math.max(...values) : NaN,
    stddev: round(Math.sqrt(variance)),
    ...(target && { target }),
    met: target && n ? meets(mean, target) : null,
  };
}

/** Median of a list (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a list (NaN when empty). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const elapsedMs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
