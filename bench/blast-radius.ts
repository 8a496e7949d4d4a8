// Blast radius: how much of a host's traffic a bad target persona hurts, and for how long, when it is put on
// (a) all at once, through the agent's ApplyPersona and a confirm (safe apply: probes, a watchdog that rolls
// back when no confirm comes), as Ansible, netplan or nmstate apply a change in one step, and (b) blended, by
// a migration session with the target persona, its gates and failureLimit (rollback). Real agents, real
// traffic (long flows and many short requests from the migrated node h2 to its peer h1), faults made real in
// the lab's router (bench/blast-faults.ts), and a healthy control of each family beside the bad cases.
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

import { createHostController } from "../provider/agent/host";
import { policyOrThrow, type PolicyInput } from "../provider/engine";
import type { Persona } from "../provider/persona/schema";
import { personaToWire } from "../provider/proto/persona";
import { sessionPolicyToWire } from "../provider/proto/session-policy";
import { run } from "../provider/util/exec";
import { benchPki, grantFeedback, startBenchAgent, type BenchAgent } from "./agents";
import { blastEnv, CASES, clearFaults, removeBlastEnv, type BlastCase, type BlastEnv } from "./blast-faults";
import { analyse, blastFigures, blastTable, type BlastRun, type Mode } from "./blast-figures";
import { runBlastTraffic } from "./blast-traffic";
import { hostOn, withLab } from "./lab";
import type { PartOptions } from "./part";
import type { PartResult } from "./stats";

interface Sizes {
  leadS: number;
  windowS: number;
  confirmS: number;
  stepDwellMs: number;
  requestRate: number;
  streams: number;
  streamRate: string;
}

const FULL: Sizes = {
  leadS: 3,
  windowS: 15,
  confirmS: 10,
  stepDwellMs: 1500,
  requestRate: 40,
  streams: 8,
  streamRate: "4M",
};
const SMOKE: Sizes = {
  ...FULL,
  leadS: 2,
  windowS: 8,
  confirmS: 5,
  stepDwellMs: 800,
  requestRate: 20,
  streams: 4,
};

/** The session's policy: the default gates and failureLimit, faster decisions than the default 2 s. */
function policyInput(z: Sizes): PolicyInput {
  return {
    probeIntervalMs: 500,
    detectionWindowMs: 2000,
    dwell: { enterIntervals: 2, exitIntervals: 4, minChangeGapMs: 2000 },
    schedule: { steps: [0.1, 0.25, 0.5, 0.75, 1], stepDwellMs: z.stepDwellMs },
    failureLimit: 3,
    convergence: { quietIntervals: 3 },
    maxDurationMs: 120_000,
  };
}

interface Ctx {
  env: BlastEnv;
  src: BenchAgent;
  dst: BenchAgent;
  z: Sizes;
}

/** All at once: ApplyPersona with a confirm timeout, then ConfirmApply, as the PersonaAttachment does. */
async function allAtOnce(c: Ctx, target: Persona, t0: number): Promise<string> {
  const at = () => `at ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const deadlineMs = c.z.confirmS * 1000 + 3000;
  try {
    const r = await c.dst.client.applyPersona(personaToWire(target), c.z.confirmS, { deadlineMs });
    if (!(r.apply_id && Number(r.confirm_deadline_unix_ms) > 0)) return `committed ${at()}`;
    await c.dst.client.confirmApply(r.apply_id, { deadlineMs });
    return `confirmed ${at()}`;
  } catch (e) {
    const err = e as { codeName?: string; message: string };
    const why = err.codeName === "DEADLINE_EXCEEDED" ? "no answer (the watchdog rolls back)" : err.message;
    return `refused ${at()}: ${why.slice(0, 160)}`;
  }
}

/** Blended: a session from the source persona to the target; ends by itself (converged, rolled back). */
async function blended(c: Ctx, target: Persona, id: string, t0: number, until: number): Promise<string> {
  const input = policyInput(c.z);
  const policy = policyOrThrow(input);
  const revoke = await grantFeedback(c.src, c.dst, id, policy.maxDurationMs);
  try {
    await c.dst.client.startSession({
      session_id: id,
      source_persona: personaToWire(c.env.source),
      target_persona: personaToWire(target),
      source_agent: c.src.endpoint,
      peer_address: c.src.host.address,
      policy: sessionPolicyToWire(policy, input),
    });
    let s = await c.dst.client.getSession(id);
    const live = ["SESSION_STATE_PENDING", "SESSION_STATE_RUNNING", "SESSION_STATE_PAUSED"];
    while (live.includes(s.state)) {
      if (Date.now() >= until) {
        // It may end by itself between the two calls: then its own end is the outcome.
        const req = { session_id: id, reason: "window ended", rollback: true };
        const aborted = await c.dst.client.abortSession(req, { deadlineMs: 3000 }).then(
          () => true,
          () => false,
        );
        if (aborted) return `still blending at w = ${s.weight} when the window ended (aborted)`;
        s = await c.dst.client.getSession(id, { deadlineMs: 3000 });
        break;
      }
      await sleep(250);
      s = await c.dst.client.getSession(id, { deadlineMs: 3000 }).catch(() => s);
    }
    const at = ((Number(s.updated_unix_ms) - t0) / 1000).toFixed(1);
    const state = s.state.replace("SESSION_STATE_", "").toLowerCase().replace("_", " ");
    return `${state} at ${at} s${s.reason ? `: ${s.reason.slice(0, 240)}` : ""}`;
  } finally {
    await revoke().catch(() => undefined);
  }
}

async function one(c: Ctx, bc: BlastCase, mode: Mode, repeat: number, o: PartOptions): Promise<BlastRun> {
  const host = createHostController({ netns: c.dst.host.netns });
  const target = bc.target(c.env);
  await host.apply(c.env.source);
  await clearFaults(c.env);
  await bc.inject(c.env);
  const load1 = Math.round(os.loadavg()[0] * 100) / 100;
  let change = 0;
  let end = 0;
  let outcome = "";
  const seconds = Math.ceil(c.z.leadS + c.z.windowS + 2);
  const tr = await runBlastTraffic({
    serverNs: c.src.host.netns,
    serverAddr: c.src.host.address,
    serverName: `${c.src.host.name}.${c.env.inv.name}.lab`,
    clientNs: c.dst.host.netns,
    resolvConf: `/etc/netns/${c.dst.host.netns}/resolv.conf`,
    seconds,
    requestRate: c.z.requestRate,
    streams: c.z.streams,
    streamRate: c.z.streamRate,
    during: async () => {
      await sleep(c.z.leadS * 1000);
      change = Date.now();
      const until = change + c.z.windowS * 1000;
      const id = `blr-${bc.id}-${repeat}-${change}`;
      const done =
        mode === "all-at-once" ? allAtOnce(c, target, change) : blended(c, target, id, change, until - 500);
      await sleep(Math.max(0, until - Date.now()));
      end = Date.now();
      outcome = await done;
      // The next run starts from the source persona; no apply may still await its confirm.
      await host.apply(c.env.source);
    },
  });
  await clearFaults(c.env);
  const r: BlastRun = {
    case: bc.id,
    control: bc.control,
    mode,
    repeat,
    ...analyse(tr, change, end),
    outcome,
    load1,
  };
  o.log(
    `blast ${bc.id} ${mode} #${repeat}: failed ${r.failed}/${r.requests}, flow-s ${r.impairedFlowS.toFixed(1)}, affected ${r.affectedFlows}/${r.flows}, healthy ${r.healthyS.toFixed(1)} s${r.censored ? " (≥)" : ""}; ${outcome} (load ${load1})`,
  );
  return r;
}

export async function benchBlastRadius(o: PartOptions): Promise<PartResult> {
  const z = o.smoke ? SMOKE : FULL;
  // Smoke: one family (the 30 % gateway and its control), both modes. NETPERSONA_BENCH_BLAST_CASES=a,b: those.
  const wanted =
    process.env.NETPERSONA_BENCH_BLAST_CASES?.split(",") ??
    (o.smoke ? ["gw-control", "gw-loss30"] : undefined);
  const unknown = wanted?.filter((id) => !CASES.some((c) => c.id === id)) ?? [];
  if (unknown.length)
    throw new Error(
      `NETPERSONA_BENCH_BLAST_CASES: no case ${unknown.join(", ")}: give ${CASES.map((c) => c.id).join(", ")}`,
    );
  const cases = wanted ? CASES.filter((c) => wanted.includes(c.id)) : CASES;
  const runs: BlastRun[] = [];
  const failures: string[] = [];
  await withLab(o.smoke ? "blrs" : "blr", 2, async (inv) => {
    const env = await blastEnv(inv);
    const pki = await benchPki();
    const src = await startBenchAgent(inv, hostOn(inv, "source"), pki);
    const dst = await startBenchAgent(inv, hostOn(inv, "destination"), pki).catch(async (e) => {
      await src.stop();
      throw e;
    });
    const pristine = await createHostController({ netns: dst.host.netns }).snapshot();
    // Multipath hashing on addresses and ports: the blend's weight splits one host pair's flows
    // (docs/session-target-persona.md).
    await run(["sysctl", "-q", "-w", "net.ipv4.fib_multipath_hash_policy=1"], { netns: dst.host.netns });
    try {
      for (let r = 1; r <= o.repeat; r++)
        for (const bc of cases)
          for (const mode of ["all-at-once", "blended"] as Mode[]) {
            // A run that fails is said and left out; the others still count.
            const res = await one({ env, src, dst, z }, bc, mode, r, o).catch((e: Error) => {
              failures.push(`${bc.id} ${mode} #${r}: ${e.message}`);
              o.log(`blast ${bc.id} ${mode} #${r}: FAILED: ${e.stack ?? e.message}`);
            });
            if (res) runs.push(res);
            else
              await createHostController({ netns: dst.host.netns })
                .apply(env.source)
                .catch(() => undefined);
          }
    } finally {
      await createHostController({ netns: dst.host.netns }).restore(pristine);
      await dst.stop();
      await src.stop();
      await removeBlastEnv(env);
    }
  });
  return summarise(runs, cases, z, o, failures);
}

function summarise(
  runs: BlastRun[],
  cases: BlastCase[],
  z: Sizes,
  o: PartOptions,
  failures: string[],
): PartResult {
  const loads = runs.map((r) => r.load1);
  return {
    title: "Blast radius: a bad target persona, all at once vs blended",
    settings: {
      ...z,
      policy: policyInput(z),
      repeat: o.repeat,
      load1: [Math.min(...loads), Math.max(...loads)],
    },
    figures: blastFigures(runs, cases),
    tables: blastTable(runs, cases),
    notes: [
      `Lab of 2 hosts with real agents: the migrated node h2 (destination network) sends ${z.streams} long TCP flows (one iperf3, ${z.streamRate}bit/s each, cubic, each its own source port) and ${z.requestRate} short requests a second (a new TCP connection each, 512 B up, 16 KiB down, 2 s timeout including a DNS lookup of h1's name with the resolv.conf of that moment, glibc's timeout 5 s and 2 attempts) to its peer h1 on the source network.`,
      "Source persona: cubic, MTU 1400 (route lock), QoS standard, DNS [destination responder, source responder], gateway .1. Each target changes one thing: " +
        cases.map((c) => `${c.id}: ${c.what}`).join("; ") +
        ". Controls are the same target on a healthy path.",
      `(a) all at once: ApplyPersona(target, confirm timeout ${z.confirmS} s) then ConfirmApply, as the PersonaAttachment does (its default timeout is 60 s: a change whose confirm cannot arrive stays on 6× longer there). Safe apply runs its probes after the change (ping the gateway, ping the caller, a DNS query to the first server) and rolls back at once when one that passed before fails. (b) blended: StartSession with the target persona (feedback granted first), decisions every 500 ms over a 2 s window, steps 0.1/0.25/0.5/0.75/1 ${z.stepDwellMs} ms apart, the default gates (mixed probes: rttP90 < 250 ms, loss < 5 %; the target's own path, probed through its gateway alone from weight 0: rttP90 < 250 ms, loss < 5 %; the DNS servers it adds: unanswered < 50 %), failureLimit 3 → rollback. net.ipv4.fib_multipath_hash_policy = 1 on h2, so weighted ECMP splits flows by ports.`,
      `Window: from the change for ${z.windowS} s; then the source persona is put back whatever happened. Failed requests: requests sent in the window that failed. Flow-seconds below ½ baseline: over every long flow, the time its throughput (0.2 s iperf3 intervals averaged over 0.6 s) was under half its own mean before the change. Flows affected: share of long flows with any such interval. Healthy after: seconds from the change to the end of the last failed request or impaired interval; a host still bad in the window's last 1.5 s counts the whole window (a lower bound, marked '≥ window').`,
      "Ratio: median of (b) over median of (a) (undefined when (a)'s median is 0); the goal is ≤ 0.2 on failed requests and on impaired flow-seconds for every bad case. Read each bad case beside its control: the control's figures are what the change costs when nothing is wrong.",
      ...(failures.length ? [`Runs that failed (left out): ${failures.join("; ")}.`] : []),
      "Before the target-path and DNS gates, the session saw a bad target only through its mixed probes, once the weight moved one of them to the bad gateway (0.25-1), and no gate looked at DNS (bench/RESULTS.md keeps that run's figures in its notes). Now the session probes what the target changes before any traffic takes it: echo probes marked by an nft route chain and routed by a policy rule through the target's gateway alone, and queries to the DNS servers the target adds; a bad target fails its gates at weight 0.",
    ],
    runs,
  };
}
