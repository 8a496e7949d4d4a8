// `make bench` must not rot: a smoke run (`node dist/bench/run.js --smoke`: N = 2 hosts, 1 repeat, short flows)
// of every part into a temp dir, then the results file must hold every part with real numbers, and
// RESULTS.md every part's table. Benchmarks are not tests: nothing here asserts a time or a target.
// NETPERSONA_BENCH_SMOKE_ONLY=blast,... runs and checks only those parts (one part's smoke on a shared machine).
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import type { BenchResults } from "../../bench/stats";
import { run } from "../../provider/util/exec";

const ALL_PARTS = ["apply", "disruption", "blast", "convergence", "fleet", "footprint", "soak", "peers"];
const ONLY = process.env.NETPERSONA_BENCH_SMOKE_ONLY?.split(",").filter(Boolean);
const PARTS = ONLY ?? ALL_PARTS;

describe("make bench, smoke run (tiny sizes)", function () {
  let dir: string;
  let results: BenchResults;
  let markdown: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "np-bench-smoke-"));
    const runJs = path.join(__dirname, "..", "..", "bench", "run.js");
    const only = ONLY ? ["--only", ONLY.join(",")] : [];
    await run([process.execPath, runJs, "--smoke", ...only, "--out", dir], { timeoutMs: 800_000 });
    results = JSON.parse(readFileSync(path.join(dir, "results.json"), "utf8")) as BenchResults;
    markdown = readFileSync(path.join(dir, "RESULTS.md"), "utf8");
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("records the run: smoke, 1 repeat, date, commit and machine", () => {
    assert.equal(results.smoke, true);
    assert.equal(results.repeat, 1);
    assert.ok(!Number.isNaN(Date.parse(results.date)), results.date);
    assert.match(results.commit, /^[0-9a-f]{40}$/);
    assert.equal(results.machine.cpus, os.cpus().length);
  });

  it("has every part, each with measured figures", () => {
    assert.deepEqual(Object.keys(results.parts).sort(), [...PARTS].sort());
    for (const name of PARTS) {
      const part = results.parts[name];
      const measured = part.figures.filter((f) => f.n >= 1 && Number.isFinite(f.mean));
      assert.ok(measured.length >= 3, `${name}: only ${measured.length} measured figures`);
      for (const f of part.figures) {
        assert.equal(f.n, f.values.length, `${name}.${f.id}`);
        for (const v of f.values) assert.equal(typeof v, "number", `${name}.${f.id}`);
        if (f.target && f.n > 0) assert.equal(typeof f.met, "boolean", `${name}.${f.id}`);
      }
    }
  });

  // A part left out by NETPERSONA_BENCH_SMOKE_ONLY has no test at all (not a skipped one).
  if (PARTS.includes("blast"))
    it("blast radius: both modes of each case, with real traffic", () => {
      const ids = results.parts.blast.figures.filter((f) => f.n >= 1).map((f) => f.id);
      for (const c of ["gw-control", "gw-loss30"])
        for (const m of ["a", "b"])
          for (const k of ["failed", "impaired", "affected", "healthy"])
            assert.ok(ids.includes(`${c}.${m}.${k}`));
      const ratios = results.parts.blast.figures.filter((f) => f.id.startsWith("gw-loss30.ratio."));
      assert.deepEqual(
        ratios.map((f) => [f.id, f.target?.value]),
        [
          ["gw-loss30.ratio.failed", 0.2],
          ["gw-loss30.ratio.impaired", 0.2],
        ],
      );
      // Every run saw real traffic: requests in the window and every long flow measured.
      const runs = results.parts.blast.runs as {
        case: string;
        mode: string;
        requests: number;
        flows: number;
      }[];
      assert.deepEqual(
        runs.map((r) => `${r.case} ${r.mode}`),
        ["gw-control all-at-once", "gw-control blended", "gw-loss30 all-at-once", "gw-loss30 blended"],
      );
      for (const r of runs) assert.ok(r.requests > 0 && r.flows === 4, JSON.stringify(r));
      assert.match(markdown, /\| case \| mode \| failed requests \| flow-s below ½ baseline \|/);
    });

  if (!ONLY)
    it("measured what each part is about", () => {
      const ids = (p: string) => results.parts[p].figures.filter((f) => f.n >= 1).map((f) => f.id);
      for (const id of ["dip.a", "dip.b", "retrans.a", "p99.b", "failed.b"])
        assert.ok(ids("disruption").includes(id), id);
      for (const id of ["loss.bound", "loss.adjust", "loss.intervals"])
        assert.ok(ids("convergence").includes(id), id);
      for (const id of ["full.2.wall", "agents.2.host", "base.2.host", "provider.2.peak"])
        assert.ok(ids("fleet").includes(id), id);
      for (const id of ["agent.idle.rss", "agent.idle.cpu", "agent.probe.cpu", "provider.peak"])
        assert.ok(ids("footprint").includes(id), id);
      for (const id of ["apply.verify", "apply.floor"]) assert.ok(ids("apply").includes(id), id);
      for (const id of [
        "destination.rss.idle",
        "destination.rss.slope",
        "destination.heap.end",
        "destination.state.end",
        "destination.listeners.end",
        "destination.warnings",
        "sessions.converged",
      ])
        assert.ok(ids("soak").includes(id), id);
      for (const id of ["pulumi.2", "ansible.2", "xargs.2", "script.2", "ratio.xargs.2", "ratio.ansible.2"])
        assert.ok(ids("peers").includes(id), id);
      // Sessions started as the Migration starts them (feedback granted on the source first) keep their feedback.
      const lost = results.parts.soak.figures.find((f) => f.id === "sessions.feedbackLost")!;
      assert.deepEqual(lost.values, [0], "soak: no feedback-lost event");
      const runs = results.parts.convergence.runs as { kind: string; feedbackLost: number }[];
      assert.deepEqual(
        runs.map((r) => [r.kind, r.feedbackLost]),
        [["loss", 0]],
        "convergence: no feedback-lost event",
      );
      const full = results.parts.fleet.figures.find((f) => f.id === "full.2.converged")!;
      assert.deepEqual(full.values, [1]); // the one migration of N = 2 converged
    });

  it("renders every part's table in RESULTS.md", () => {
    for (const name of PARTS) {
      assert.ok(markdown.includes(`## ${results.parts[name].title}`), name);
    }
    assert.match(markdown, /\| figure \| unit \| mean \| min \| max \| stddev \| n \| target \| met \|/);
    assert.ok(markdown.includes(results.commit));
  });
});
