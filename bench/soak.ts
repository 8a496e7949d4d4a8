// Part 6, soak (`--soak`): two real agents in a 2-host lab probe each other at 10 Hz for the whole run
// (StreamMetrics both ways) while the destination runs a migration session every few minutes, watched to the
// end as the Migration resource watches it. Every few seconds: RSS (/proc), heap, open fds, the state
// directory's size and the 'abort' listeners and session watchers the agent holds (GetInfo's runtime), then
// the slope of each after warm-up. A leak shows as a slope; a listener per event as a count above baseline and
// Node's MaxListenersExceededWarning in the agent's log.
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { policyOrThrow, type PolicyInput } from "../provider/engine";
import { personaSchema } from "../provider/persona/schema";
import { personaToWire } from "../provider/proto/persona";
import { sessionPolicyToWire } from "../provider/proto/session-policy";
import { benchPki, grantFeedback, startBenchAgent, type BenchAgent } from "./agents";
import { hostOn, type LabInventory } from "./lab";
import { dirBytes } from "../provider/agent/runtime";
import { rssMB } from "./proc";

export interface SoakOptions {
  durationS: number;
  /** A session starts this often (the first after `baselineS`). */
  sessionEveryS: number;
  sampleEveryS: number;
  /** Idle (probing only) before the first session: the baseline. */
  baselineS: number;
  /** Samples before this are left out of the slopes. */
  warmupS: number;
  policy: PolicyInput;
  log: (line: string) => void;
}

export interface SoakSample {
  t: number;
  role: "source" | "destination";
  inSession: boolean;
  rssMB: number;
  heapMB: number;
  fds: number;
  stateKB: number;
  abortListeners: number;
  openSignals: number;
  watchers: number;
  sessionsRunning: number;
  eventsKept: number;
}

export interface SoakSession {
  id: string;
  startS: number;
  durationS: number;
  state: string;
  events: number;
  /** Its feedback-lost events (the source's feedback stream cut or refused). */
  feedbackLost: number;
}

export interface SoakResult {
  samples: SoakSample[];
  sessions: SoakSession[];
  /** Occurrences of MaxListenersExceededWarning in each agent's log. */
  maxListenerWarnings: Record<"source" | "destination", number>;
  /** MetricsSample messages received over the run per agent (10 Hz probes, one sample a second). */
  metricsSamples: Record<"source" | "destination", number>;
}

/** The soak's default session: about 25 s of blending on a clean path, then converged. */
export const SOAK_POLICY: PolicyInput = {
  probeIntervalMs: 500,
  detectionWindowMs: 2000,
  dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 2000 },
  schedule: { steps: [0.1, 0.25, 0.5, 0.75, 1], stepDwellMs: 4000 },
  convergence: { quietIntervals: 4 },
  maxDurationMs: 240_000,
};

/** Least-squares slope of y over x (per unit of x); NaN with fewer than 3 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 3) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

async function sampleOf(
  a: BenchAgent,
  role: SoakSample["role"],
  t: number,
  inSession: boolean,
): Promise<SoakSample> {
  const info = await a.client.getInfo({ deadlineMs: 10_000 });
  // An agent older than GetInfo's runtime (NETPERSONA_BENCH_AGENT_BUNDLE) leaves those figures NaN.
  const r = info.runtime ?? {
    heap_used_bytes: NaN,
    abort_listeners: NaN,
    open_signals: NaN,
    session_watchers: NaN,
    sessions_running: NaN,
    session_events_kept: NaN,
  };
  return {
    t,
    role,
    inSession,
    rssMB: rssMB(a.pid),
    heapMB: Number(r.heap_used_bytes) / 2 ** 20,
    fds: fdCount(a.pid),
    stateKB: (await dirBytes(a.stateDir)) / 1024,
    abortListeners: r.abort_listeners,
    openSignals: r.open_signals,
    watchers: r.session_watchers,
    sessionsRunning: r.sessions_running,
    eventsKept: r.session_events_kept,
  };
}

/** Probes `to` from `from` at 10 Hz (one sample a second) until `stop` says so; resolves to the samples. */
async function probe(from: BenchAgent, to: BenchAgent, stop: () => boolean): Promise<number> {
  let n = 0;
  const req = {
    peers: [{ name: to.host.name, address: to.host.address }],
    interval_ms: 1000,
    probes_per_sample: 10,
    max_samples: 0,
  };
  for await (const s of from.client.streamMetrics(req)) {
    if (s) n++;
    if (stop()) break;
  }
  return n;
}

/** One session on the destination towards the source, its feedback granted as the Migration does (revoked
 *  once it ended), watched until it ends. */
async function session(src: BenchAgent, dst: BenchAgent, id: string, policy: PolicyInput) {
  const revoke = await grantFeedback(src, dst, id, policyOrThrow(policy).maxDurationMs);
  return watched(src, dst, id, policy).finally(revoke);
}

async function watched(src: BenchAgent, dst: BenchAgent, id: string, policy: PolicyInput) {
  const persona = personaSchema.parse({
    congestionControl: "cubic",
    mtu: 1500,
    mtuScope: "route",
    qos: { class: "standard" },
  });
  await dst.client.startSession({
    session_id: id,
    source_persona: personaToWire(persona),
    source_agent: src.endpoint,
    peer_address: src.host.address,
    policy: sessionPolicyToWire(policyOrThrow(policy), policy),
  });
  let events = 0;
  let feedbackLost = 0;
  let state = "";
  for await (const e of dst.client.watchSession(id)) {
    events++;
    if (e.kind === "feedback-lost") feedbackLost++;
    state = e.state;
    if (/CONVERGED|ROLLED_BACK|ABORTED|FAILED/.test(e.state)) break;
  }
  return { events, feedbackLost, state };
}

/** Runs the soak in a lab of at least 2 hosts (h1 source, h2 destination). */
export async function soak(inv: LabInventory, o: SoakOptions): Promise<SoakResult> {
  const pki = await benchPki();
  const src = await startBenchAgent(inv, hostOn(inv, "source"), pki);
  const dst = await startBenchAgent(inv, hostOn(inv, "destination"), pki).catch(async (e) => {
    await src.stop();
    throw e;
  });
  const samples: SoakSample[] = [];
  const sessions: SoakSession[] = [];
  const t0 = Date.now();
  const now = () => (Date.now() - t0) / 1000;
  let done = false;
  let inSession = false;
  try {
    const streams = Promise.all([probe(src, dst, () => done), probe(dst, src, () => done)]);
    streams.catch(() => undefined); // awaited below; an early failure must not be an unhandled rejection
    const sampler = (async () => {
      while (!done) {
        const t = now();
        const both = await Promise.all([
          sampleOf(src, "source", t, inSession),
          sampleOf(dst, "destination", t, inSession),
        ]).catch((e: Error) => o.log(`soak: sample at ${t.toFixed(0)} s failed: ${e.message}`));
        if (both) samples.push(...both);
        await sleep(o.sampleEveryS * 1000);
      }
    })();
    let k = 0;
    while (now() < o.durationS) {
      const startAt = o.baselineS + k * o.sessionEveryS;
      if (startAt >= o.durationS) break;
      await sleep(Math.max(0, startAt - now()) * 1000);
      const id = `soak-${k + 1}-${Date.now()}`;
      const s0 = now();
      inSession = true;
      const r = await session(src, dst, id, o.policy).finally(() => (inSession = false));
      sessions.push({ id, startS: s0, durationS: now() - s0, ...r });
      o.log(
        `soak: session ${k + 1} ${r.state} after ${(now() - s0).toFixed(1)} s, ${r.events} events (${r.feedbackLost} feedback-lost); destination ${rssMB(dst.pid).toFixed(1)} MB`,
      );
      k++;
    }
    await sleep(Math.max(0, o.durationS - now()) * 1000);
    // The last sample: every session over, nothing watching (a watch just cancelled and a runner just
    // finished let go of their signals a moment after the final event: up to 10 s).
    // Settled: no watcher, no runner, and each agent holds only the soak's own StreamMetrics call.
    const settled = async (a: BenchAgent) => {
      const r = (await a.client.getInfo()).runtime;
      return !r || (r.session_watchers === 0 && r.sessions_running === 0 && r.open_signals <= 1);
    };
    for (let i = 0; i < 50 && !((await settled(dst)) && (await settled(src))); i++) await sleep(200);
    const t = now();
    samples.push(await sampleOf(src, "source", t, false), await sampleOf(dst, "destination", t, false));
    done = true;
    await sampler;
    const [srcSamples, dstSamples] = await streams;
    const warnings = (a: BenchAgent) => (a.logText().match(/MaxListenersExceededWarning/g) ?? []).length;
    return {
      samples,
      sessions,
      maxListenerWarnings: { source: warnings(src), destination: warnings(dst) },
      metricsSamples: { source: srcSamples, destination: dstSamples },
    };
  } finally {
    done = true;
    await dst.stop();
    await src.stop();
  }
}
