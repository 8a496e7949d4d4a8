// Fits the confidence calibration (provider/discovery/classify.ts CALIBRATION) on development runs: a
// logistic regression of "the flow's class was right" on the best score, its margin and whether the flow's
// rhythm was seen, each tool weighing the same (a client opening hundreds of connections counts once),
// with a Gaussian prior on the slopes. Never fit on the frozen mix.
// Usage: node dist/scripts/fit-calibration.js RUN.json... (files written by eval-discovery --out)
import { readFileSync } from "node:fs";

import type { GeneralScore } from "../bench/discovery/evaluate-general";

type Outcome = GeneralScore["outcomes"][number];

function main(): void {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error("give the development runs' JSON files (eval-discovery --out)");
  const rows: Outcome[] = [];
  for (const f of files) {
    const run = JSON.parse(readFileSync(f, "utf8")) as {
      mix: string;
      withHints: GeneralScore;
      withoutHints: GeneralScore;
    };
    if (run.mix.includes("frozen")) throw new Error(`${f}: the frozen mix is never used for fitting`);
    // Flows decided by a rule of their own (not inherited, not "too little to tell").
    const decided = (o: Outcome) => !o.inherited && o.best > 0;
    rows.push(...run.withHints.outcomes.filter(decided), ...run.withoutHints.outcomes.filter(decided));
  }
  const perTool = new Map<string, number>();
  for (const o of rows) perTool.set(o.tool, (perTool.get(o.tool) ?? 0) + 1);
  const x = rows.map((o) => [1, o.best, o.margin, o.rhythm ? 1 : 0]);
  const y = rows.map((o) => (o.right ? 1 : 0));
  const w = rows.map((o) => 1 / (perTool.get(o.tool) ?? 1));
  const wsum = w.reduce((a, b) => a + b, 0);
  // A Gaussian prior centred on the hand-set curve (a narrow win or a weak best score is uncertain): with
  // almost no wrong answers in the development runs, the data alone would say "always right" and make the
  // confidence flat; the prior keeps the slopes, the data moves the level.
  const prior = [-1, 2, 4, 0];
  let beta = [...prior];
  const lambda = 0.05;
  for (let it = 0; it < 20000; it++) {
    const grad = [0, 0, 0, 0];
    for (let i = 0; i < rows.length; i++) {
      const z = beta.reduce((a, b, j) => a + b * x[i][j], 0);
      const p = 1 / (1 + Math.exp(-z));
      for (let j = 0; j < 4; j++) grad[j] += (w[i] / wsum) * (p - y[i]) * x[i][j];
    }
    beta = beta.map((b, j) => b - 0.5 * (grad[j] + (j ? lambda * (b - prior[j]) : 0)));
  }
  const wrong = rows.filter((o) => !o.right).length;
  const round = (v: number) => Math.round(v * 100) / 100;
  process.stdout.write(
    `${rows.length} flows (${wrong} wrong) from ${files.length} runs, ${perTool.size} tools\n` +
      `CALIBRATION = { bias: ${round(beta[0])}, best: ${round(beta[1])}, margin: ${round(beta[2])}, rhythm: ${round(beta[3])} }\n`,
  );
}

main();
