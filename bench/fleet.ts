// Part 3, fleet: one `pulumi up` (the real engine, local backend) that bootstraps agents on N lab hosts and
// runs N/2 migrations (h1 → h2, h3 → h4, ...), for N = 10, 30, 50; the same with agents only (the work the
// baseline does); and the baseline: a sequential ssh/scp script doing the same bootstrap. Wall time, per-host
// cost, growth with N, and the memory of the provider process during the run.
import { PulumiProject } from "../provider/automation/project";
import { policyOrThrow, type PolicyInput } from "../provider/engine";
import { Agent, Migration, StackCa, labAgentArgs, labInventory } from "../sdk";
import { baselineBootstrap } from "./fleet-baseline";
import { withLab } from "./lab";
import type { PartOptions } from "./part";
import { watchPeakRss } from "./proc";
import { elapsedMs, figure, type Figure, type PartResult } from "./stats";

/** A quick session: it converges on a clean path in a few seconds. */
const MIGRATION_POLICY: PolicyInput = {
  probeIntervalMs: 300,
  detectionWindowMs: 1200,
  dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 1200 },
  schedule: { steps: [0.5, 1], stepDwellMs: 600 },
  convergence: { quietIntervals: 2 },
  maxDurationMs: 240_000,
};
policyOrThrow(MIGRATION_POLICY);

type Mode = "pulumi-full" | "pulumi-agents" | "ssh-baseline";

export interface FleetRun {
  mode: Mode;
  hosts: number;
  migrations: number;
  repeat: number;
  wallS: number;
  perHostS: number;
  destroyS: number;
  providerPeakMB: number;
  enginePeakMB: number;
  converged: number;
}

function program(lab: string, migrations: boolean) {
  return async () => {
    const inv = labInventory(lab);
    const ca = new StackCa("ca");
    const agents = inv.hosts.map((h) => new Agent(h.name, { ...labAgentArgs(inv, h), ca }));
    if (!migrations) return { agents: agents.length };
    const migs = [];
    for (let k = 0; k + 1 < agents.length; k += 2) {
      migs.push(
        new Migration(`m${k / 2 + 1}`, {
          source: agents[k],
          destination: agents[k + 1],
          peer: inv.hosts[k].address,
          persona: { congestionControl: "cubic", mtu: 1500, qos: { class: "standard" } },
          policy: MIGRATION_POLICY,
        }),
      );
    }
    return { converged: migs.map((m) => m.converged) };
  };
}

export async function pulumiRun(n: number, mode: Mode, repeat: number, o: PartOptions): Promise<FleetRun> {
  const lab = `bf${mode === "pulumi-full" ? "m" : "a"}${n}`;
  return withLab(lab, n, async () => {
    const project = await PulumiProject.create({
      name: `bench-${lab}`,
      program: program(lab, mode === "pulumi-full"),
    });
    try {
      const provider = watchPeakRss(/dynamic-provider/);
      const engine = watchPeakRss(/pulumi(\s|$)|bin\/pulumi /);
      const t0 = process.hrtime.bigint();
      const up = await project.up();
      const wallS = elapsedMs(t0) / 1000;
      const mem = provider.stop();
      const eng = engine.stop();
      if (up.summary.result !== "succeeded")
        throw new Error(`fleet ${lab}: pulumi up ${up.summary.result}\n${up.stdout.slice(-2000)}`);
      const out = await project.outputs();
      const converged = ((out.converged as boolean[] | undefined) ?? []).filter(Boolean).length;
      const t1 = process.hrtime.bigint();
      // Destroy is not a figure; a failure is reported, and the lab's removal cleans the hosts anyway.
      const destroyS = await project.destroy().then(
        () => elapsedMs(t1) / 1000,
        (e: Error) => (
          o.log(
            `fleet ${lab}: destroy failed: ${/error: (.*)/.exec(e.message)?.[1] ?? e.message.slice(0, 200)}`,
          ),
          NaN
        ),
      );
      const migrations = mode === "pulumi-full" ? Math.floor(n / 2) : 0;
      const r = {
        mode,
        hosts: n,
        migrations,
        repeat,
        wallS,
        perHostS: wallS / n,
        destroyS,
        providerPeakMB: mem.peakMB,
        enginePeakMB: eng.peakMB,
        converged,
      };
      o.log(
        `fleet ${mode} N=${n} #${repeat}: up ${wallS.toFixed(1)} s (${(wallS / n).toFixed(2)} s/host), ${converged}/${migrations} converged, provider peak ${mem.peakMB} MB, destroy ${destroyS.toFixed(1)} s`,
      );
      return r;
    } finally {
      await project.dispose();
    }
  });
}

export async function baselineRun(n: number, repeat: number, o: PartOptions): Promise<FleetRun> {
  return withLab(`bfb${n}`, n, async (inv) => {
    const wallS = (await baselineBootstrap(inv)) / 1000;
    o.log(`fleet ssh-baseline N=${n} #${repeat}: ${wallS.toFixed(1)} s (${(wallS / n).toFixed(2)} s/host)`);
    return {
      mode: "ssh-baseline",
      hosts: n,
      migrations: 0,
      repeat,
      wallS,
      perHostS: wallS / n,
      destroyS: NaN,
      providerPeakMB: NaN,
      enginePeakMB: NaN,
      converged: 0,
    };
  });
}

/** Repeats per size: all of them for the smallest N, 2 for the largest, 1 in between (the ~30 min budget). */
export function repeatsFor(n: number, sizes: number[], repeat: number): number {
  if (n === sizes[0]) return repeat;
  return n === sizes[sizes.length - 1] ? Math.min(repeat, 2) : 1;
}

/** One retry: another job rebuilding dist/ during a run makes the installed and the program's bundle differ. */
async function retried(
  what: string,
  o: PartOptions,
  failures: string[],
  f: () => Promise<FleetRun>,
): Promise<FleetRun[]> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return [await f()];
    } catch (e) {
      const msg = `${what} attempt ${attempt} failed: ${
        (e as Error).message
          .split("\n")
          .find((l) => /error:/.test(l))
          ?.trim() ?? (e as Error).message.slice(0, 200)
      }`;
      o.log(`fleet ${msg}`);
      failures.push(msg);
    }
  }
  return [];
}

export async function benchFleet(o: PartOptions): Promise<PartResult> {
  const sizes = o.smoke ? [2] : [10, 30, 50];
  const runs: FleetRun[] = [];
  const failures: string[] = [];
  for (const n of sizes) {
    for (let r = 1; r <= repeatsFor(n, sizes, o.repeat); r++) {
      runs.push(
        ...(await retried(`pulumi-full N=${n} #${r}`, o, failures, () => pulumiRun(n, "pulumi-full", r, o))),
      );
      runs.push(
        ...(await retried(`pulumi-agents N=${n} #${r}`, o, failures, () =>
          pulumiRun(n, "pulumi-agents", r, o),
        )),
      );
      runs.push(...(await retried(`ssh-baseline N=${n} #${r}`, o, failures, () => baselineRun(n, r, o))));
    }
  }
  const result = summarise(runs, sizes, o.repeat);
  result.notes.push(
    failures.length
      ? `Failed attempts (retried once, then left out): ${failures.join("; ")}.`
      : "No run failed.",
  );
  return result;
}

function summarise(runs: FleetRun[], sizes: number[], repeat: number): PartResult {
  const col = (m: Mode, n: number, k: keyof FleetRun) =>
    runs.filter((r) => r.mode === m && r.hosts === n).map((r) => r[k] as number);
  const figures: Figure[] = [];
  for (const n of sizes) {
    figures.push(
      figure(
        `full.${n}.wall`,
        `N=${n}: pulumi up, agents + ${Math.floor(n / 2)} migrations`,
        "s",
        col("pulumi-full", n, "wallS"),
      ),
      figure(
        `full.${n}.host`,
        `N=${n}: per host, agents + migrations`,
        "s/host",
        col("pulumi-full", n, "perHostS"),
      ),
      figure(
        `full.${n}.converged`,
        `N=${n}: migrations converged`,
        "migrations",
        col("pulumi-full", n, "converged"),
      ),
      figure(`agents.${n}.wall`, `N=${n}: pulumi up, agents only`, "s", col("pulumi-agents", n, "wallS")),
      figure(
        `agents.${n}.host`,
        `N=${n}: per host, agents only`,
        "s/host",
        col("pulumi-agents", n, "perHostS"),
      ),
      figure(
        `base.${n}.wall`,
        `N=${n}: sequential ssh script, agents only`,
        "s",
        col("ssh-baseline", n, "wallS"),
      ),
      figure(`base.${n}.host`, `N=${n}: per host, ssh script`, "s/host", col("ssh-baseline", n, "perHostS")),
      figure(
        `speed.${n}`,
        `N=${n}: ssh script / pulumi (agents only), per host`,
        "ratio",
        col("ssh-baseline", n, "perHostS").map((b, i) => b / col("pulumi-agents", n, "perHostS")[i]),
        { op: ">=", value: 1, text: "≥ 1 (pulumi at least as fast)" },
      ),
      figure(
        `provider.${n}.peak`,
        `N=${n}: provider process peak RSS (agents + migrations)`,
        "MB",
        col("pulumi-full", n, "providerPeakMB"),
      ),
    );
  }
  if (sizes.length > 1) {
    const [a, b] = [sizes[0], sizes[sizes.length - 1]];
    const exp = (m: Mode) =>
      col(m, a, "wallS").map((w, i) => Math.log(col(m, b, "wallS")[i] / w) / Math.log(b / a));
    figures.push(
      figure(
        "growth.full",
        `growth exponent of wall time, N=${a}→${b}, agents + migrations (1 = linear)`,
        "exponent",
        exp("pulumi-full"),
      ),
      figure("growth.agents", `growth exponent, agents only`, "exponent", exp("pulumi-agents")),
      figure("growth.base", `growth exponent, ssh script`, "exponent", exp("ssh-baseline")),
    );
  }
  return {
    title: "Fleet: one pulumi up over N lab hosts",
    settings: {
      sizes,
      repeats: sizes.map((n) => repeatsFor(n, sizes, repeat)),
      migrationPolicy: MIGRATION_POLICY,
      pulumiParallel: "engine default",
    },
    figures,
    notes: [
      "pulumi up = the real engine (built offline) through the Automation API, local file backend: a StackCa, one Agent per host (SSH with pinned host key, upload of the bundle and supervisor, certificate, start, wait for mTLS), and for the full run one Migration per pair (h1 → h2, ...: shadow persona, session until converged). Wall time of `up` only; destroy is timed in the runs but not in the figures.",
      "Baseline: @pulumi/command's provider plugin cannot be built here (the Go module proxy answers 403 'not available' for every version of github.com/pulumi/pulumi-command/provider), so the baseline is a plain sequential script doing the same bootstrap per host: ssh `node --version`, ssh mkdir, issue the certificate, scp the bundle + CA + certificate + key, ssh start (setsid), wait until it answers GetInfo over mTLS. It compares with the 'agents only' run (no migrations).",
      "Growth exponent = log(wall(N_max) / wall(N_min)) / log(N_max / N_min) per repeat: 1 is linear, below 1 means the parallel engine absorbs part of the growth. Provider process = the dynamic-provider node process(es) the engine started, sampled every 250 ms from /proc.",
      "Repeats: all for N = 10, 2 for N = 50, 1 for N = 30 (the `repeats` setting), to keep `make bench` near 30 minutes on 2 cores; a growth exponent pairs the runs of N = 10 and N = 50 with the same repeat number.",
    ],
    runs,
  };
}
