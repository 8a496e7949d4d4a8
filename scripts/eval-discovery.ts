// Evaluates discovery on a labelled traffic mix in a throwaway lab and prints the confusion matrix and
// per-class precision/recall, with and without process/port hints.
// Usage: node dist/scripts/eval-discovery.js [--mix holdout|eval|tuning] [--window SECONDS] [--interval MS] [--json]
import { labDown, labUp } from "../provider/lab";
import { evaluateMix, formatScore } from "../provider/discovery/evaluate";
import { EVAL, HOLDOUT, TUNING } from "../provider/discovery/traffic/mixes";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const mixName = option("mix", "holdout");
  const spec = { tuning: TUNING, eval: EVAL, holdout: HOLDOUT }[mixName];
  if (!spec) throw new Error(`--mix must be holdout, eval or tuning, got '${mixName}'`);
  const windowS = Number(option("window", "30"));
  const interval = Number(option("interval", "200"));
  if (!Number.isFinite(windowS) || windowS < 5 || windowS > 600) throw new Error("--window: 5..600 seconds");
  if (!Number.isInteger(interval) || interval < 50 || interval > 2000)
    throw new Error("--interval: 50..2000 ms");
  const lab = "dsceval";
  try {
    const inv = await labUp({ name: lab, hosts: 3, dns: false });
    const run = await evaluateMix(inv, spec, {
      observe: "h1",
      warmupMs: 3000,
      windowMs: windowS * 1000,
      sampleEveryMs: interval,
    });
    if (process.argv.includes("--json")) {
      const { withHints, withoutHints, result } = run;
      process.stdout.write(
        `${JSON.stringify({ mix: spec.name, withHints, withoutHints, result }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(
        `mix ${spec.name}, window ${windowS} s, sample every ${interval} ms, observed h1\n`,
      );
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
