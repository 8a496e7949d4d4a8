// Evaluates discovery on a labelled traffic mix in a throwaway lab and prints the confusion matrix and
// per-class precision/recall, with and without process/port hints. The general mixes (three or more real
// tools per class, all concurrent) also print per tool, per session and calibration figures.
// Usage: node dist/scripts/eval-discovery.js [--mix general-dev|general-frozen|general-short|holdout|eval|tuning]
//        [--window SECONDS] [--interval MS] [--json] [--out FILE]
import { writeFile } from "node:fs/promises";

import { labDown, labUp } from "../provider/lab";
import { evaluateMix, formatScore } from "../bench/discovery/evaluate";
import { evaluateGeneral, formatGeneralScore } from "../bench/discovery/evaluate-general";
import { EVAL, HOLDOUT, TUNING } from "../bench/discovery/traffic/mixes";
import { GENERAL_DEV, GENERAL_FROZEN, GENERAL_SHORT } from "../bench/discovery/traffic/general-mixes";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const mixName = option("mix", "general-dev");
  const general = {
    "general-dev": GENERAL_DEV,
    "general-frozen": GENERAL_FROZEN,
    "general-short": GENERAL_SHORT,
  }[mixName];
  const spec = { tuning: TUNING, eval: EVAL, holdout: HOLDOUT }[mixName];
  if (!spec && !general)
    throw new Error(
      `--mix must be general-dev, general-frozen, general-short, holdout, eval or tuning, got '${mixName}'`,
    );
  const windowS = Number(option("window", "30"));
  const interval = Number(option("interval", "200"));
  if (!Number.isFinite(windowS) || windowS < 5 || windowS > 600) throw new Error("--window: 5..600 seconds");
  if (!Number.isInteger(interval) || interval < 50 || interval > 2000)
    throw new Error("--interval: 50..2000 ms");
  const lab = option("lab", "dsxeval");
  const opts = { observe: "h1", warmupMs: 4000, windowMs: windowS * 1000, sampleEveryMs: interval };
  try {
    const inv = await labUp({ name: lab, hosts: 3, dns: false });
    const head = `mix ${mixName}, window ${windowS} s, sample every ${interval} ms, observed h1\n`;
    if (general) {
      const run = await evaluateGeneral(inv, general, opts);
      const out = option("out", "");
      if (out)
        await writeFile(
          out,
          JSON.stringify(
            { mix: mixName, withHints: run.withHints, withoutHints: run.withoutHints, result: run.result },
            null,
            1,
          ),
        );
      if (process.argv.includes("--json"))
        process.stdout.write(
          `${JSON.stringify({ mix: mixName, withHints: run.withHints, withoutHints: run.withoutHints }, null, 2)}\n`,
        );
      else
        process.stdout.write(
          `${head}${run.result.summary.coverage.map((c) => `  ${c}`).join("\n")}\n${formatGeneralScore(run.withHints)}\n${formatGeneralScore(run.withoutHints)}\n`,
        );
      return;
    }
    if (!spec) return;
    const run = await evaluateMix(inv, spec, opts);
    if (process.argv.includes("--json")) {
      const { withHints, withoutHints, result } = run;
      process.stdout.write(
        `${JSON.stringify({ mix: spec.name, withHints, withoutHints, result }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(head);
      process.stdout.write(`${formatScore(run.withHints)}\n${formatScore(run.withoutHints)}\n`);
    }
  } finally {
    await labDown(lab);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`eval-discovery: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
