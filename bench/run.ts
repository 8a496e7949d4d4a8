// `make bench`: runs the benchmark parts in the lab and writes results.json and RESULTS.md.
//   node dist/bench/run.js [--smoke] [--only part,...] [--repeat N] [--out DIR]
// --smoke: every part with tiny sizes (N = 2 hosts, 1 repeat, short flows), written to a temp dir unless --out.
// --soak: only the soak (20 minutes, --soak-minutes), written to bench/soak/ unless --out; the smoke run
// includes a one-minute soak, a full run (no --soak) leaves it out.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { Command, InvalidArgumentError } from "commander";

import { run } from "../provider/util/exec";
import { benchApplyLatency } from "./apply-latency";
import { benchBlastRadius } from "./blast-radius";
import { benchConvergence } from "./convergence";
import { benchDisruption } from "./disruption";
import { benchFleet } from "./fleet";
import { benchFootprint } from "./footprint";
import type { PartOptions } from "./part";
import { benchPeers } from "./peers-part";
import { benchSoak } from "./soak-part";
import { renderMarkdown } from "./report";
import { elapsedMs, type BenchResults, type PartResult } from "./stats";

const PARTS: Record<string, (o: PartOptions) => Promise<PartResult>> = {
  apply: benchApplyLatency,
  disruption: benchDisruption,
  blast: benchBlastRadius,
  convergence: benchConvergence,
  fleet: benchFleet,
  footprint: benchFootprint,
  soak: benchSoak,
  peers: benchPeers,
};
/** Parts a full run (no --smoke, no --only) leaves out: they have their own option. */
const OWN_OPTION = ["soak"];

async function git(args: string[]): Promise<string> {
  const r = await run(["git", "-C", path.join(__dirname, "..", ".."), ...args], { check: false });
  return r.stdout.trim();
}

async function machine(): Promise<Record<string, unknown>> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function parts(v: string): string[] {
  const names = v.split(",").map((s) => s.trim());
  const bad = names.filter((n) => !PARTS[n]);
  if (bad.length)
    throw new InvalidArgumentError(`unknown part ${bad.join(", ")}: give ${Object.keys(PARTS).join(", ")}`);
  return names;
}

function repeat(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 20)
    throw new InvalidArgumentError("give a whole number from 1 to 20");
  return n;
}

export interface BenchOptions {
  smoke: boolean;
  only?: string[];
  repeat?: number;
  out?: string;
  soak?: boolean;
  soakMinutes?: number;
}

function minutes(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 4 || n > 24 * 60)
    throw new InvalidArgumentError("give minutes from 4 to 1440");
  return n;
}

export async function runBench(opts: BenchOptions) {
  const t0 = process.hrtime.bigint();
  const rep = opts.repeat ?? (opts.smoke ? 1 : 3);
  const only = opts.soak ? ["soak"] : opts.only;
  const bench = path.join(__dirname, "..", "..", "bench");
  const out =
    opts.out ??
    (opts.smoke
      ? mkdtempSync(path.join(os.tmpdir(), "np-bench-"))
      : opts.soak
        ? path.join(bench, "soak")
        : bench);
  mkdirSync(out, { recursive: true });
  const results: BenchResults = {
    schema: 1,
    smoke: opts.smoke,
    repeat: rep,
    date: new Date().toISOString(),
    commit: (await git(["rev-parse", "HEAD"])) || "unknown",
    dirty: (await git(["status", "--porcelain"])) !== "",
    machine: await machine(),
    durationSeconds: 0,
    parts: {},
  };
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const wanted = (n: string) => (only ? only.includes(n) : opts.smoke || !OWN_OPTION.includes(n));
  for (const name of Object.keys(PARTS).filter(wanted)) {
    const p0 = process.hrtime.bigint();
    log(`${name}: start`);
    // A failed part is recorded (its error in the notes, no figures) and the others still run.
    results.parts[name] = await PARTS[name]({
      smoke: opts.smoke,
      repeat: rep,
      log,
      earlier: results.parts,
      soakMinutes: opts.soakMinutes,
    }).catch((e: Error): PartResult => {
      log(`${name}: FAILED: ${e.stack ?? e.message}`);
      return {
        title: `${name} (failed)`,
        settings: {},
        figures: [],
        notes: [`This part failed: ${e.message}`],
        runs: [],
      };
    });
    log(`${name}: done in ${(elapsedMs(p0) / 1000).toFixed(1)} s`);
  }
  results.durationSeconds = Math.round(elapsedMs(t0) / 100) / 10;
  const json = path.join(out, "results.json");
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(out, "RESULTS.md"), renderMarkdown(results));
  return { dir: out, results };
}

if (require.main === module) {
  const cmd = new Command("bench")
    .option("--smoke", "tiny sizes, written to a temp dir", false)
    .option("--only <parts>", `comma-separated subset of ${Object.keys(PARTS).join(",")}`, parts)
    .option("--repeat <n>", "repeats of every measurement (default 3; smoke 1)", repeat)
    .option(
      "--out <dir>",
      "where results.json and RESULTS.md go (default bench/; smoke: a temp dir; soak: bench/soak/)",
    )
    .option("--soak", "only the soak: two agents, 10 Hz probing, a session every 3 minutes", false)
    .option("--soak-minutes <n>", "length of the --soak run (default 20)", minutes)
    .parse();
  runBench(cmd.opts()).then(
    ({ dir }) => {
      process.stdout.write(`${path.join(dir, "results.json")}\n${path.join(dir, "RESULTS.md")}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
