// The soak as a benchmark part (`node dist/bench/run.js --soak`, 20 minutes; in --smoke about a minute):
// bench/soak.ts runs it; this file turns the samples into figures (start, peak, end and slope after warm-up).
import { withLab } from "./lab";
import type { PartOptions } from "./part";
import { slope, soak, SOAK_POLICY, type SoakOptions, type SoakSample } from "./soak";
import { figure, type Figure, type PartResult } from "./stats";

/** The short soak of the smoke run: two sessions of about 6 s, samples every 2 s. */
const SMOKE: Omit<SoakOptions, "log"> = {
  durationS: 45,
  sessionEveryS: 18,
  sampleEveryS: 2,
  baselineS: 6,
  warmupS: 6,
  policy: {
    ...SOAK_POLICY,
    probeIntervalMs: 300,
    detectionWindowMs: 1200,
    schedule: { steps: [0.25, 0.5, 0.75, 1], stepDwellMs: 1000 },
    convergence: { quietIntervals: 2 },
    dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 1200 },
  },
};

export function soakOptions(smoke: boolean, minutes: number): Omit<SoakOptions, "log"> {
  if (smoke) return SMOKE;
  // The first session cycle is the warm-up: the slopes cover the rest.
  return {
    durationS: minutes * 60,
    sessionEveryS: 180,
    sampleEveryS: 10,
    baselineS: 60,
    warmupS: 240,
    policy: SOAK_POLICY,
  };
}

const last = <T>(xs: T[]) => xs[xs.length - 1];

function roleFigures(role: SoakSample["role"], all: SoakSample[], warmupS: number): Figure[] {
  const s = all.filter((x) => x.role === role);
  if (s.length === 0) return [];
  const idle = s.filter((x) => !x.inSession && x.t < (s.find((y) => y.inSession)?.t ?? Infinity));
  const during = s.filter((x) => x.inSession);
  const after = s.filter((x) => x.t >= warmupS);
  const perHour = (f: (x: SoakSample) => number) =>
    slope(
      after.map((x) => x.t / 3600),
      after.map(f),
    );
  const max = (xs: SoakSample[], f: (x: SoakSample) => number) => (xs.length ? Math.max(...xs.map(f)) : NaN);
  const mean = (xs: SoakSample[], f: (x: SoakSample) => number) =>
    xs.length ? xs.reduce((a, x) => a + f(x), 0) / xs.length : NaN;
  const p = `${role}.`;
  const dst = role === "destination";
  return [
    figure(
      `${p}rss.idle`,
      `${role} agent RSS, idle before the first session (probing at 10 Hz)`,
      "MB",
      [mean(idle, (x) => x.rssMB)],
      dst ? { op: "<", value: 60, text: "< 60 MB" } : undefined,
    ),
    figure(
      `${p}rss.session`,
      `${role} agent RSS, peak during sessions`,
      "MB",
      [max(during, (x) => x.rssMB)],
      dst ? { op: "<", value: 75, text: "< 75 MB" } : undefined,
    ),
    figure(`${p}rss.end`, `${role} agent RSS at the end (every session over)`, "MB", [last(s).rssMB]),
    figure(`${p}rss.slope`, `${role} agent RSS slope after warm-up`, "MB/h", [perHour((x) => x.rssMB)]),
    figure(`${p}heap.end`, `${role} agent heap used at the end`, "MB", [last(s).heapMB]),
    figure(`${p}heap.slope`, `${role} agent heap used, slope after warm-up`, "MB/h", [
      perHour((x) => x.heapMB),
    ]),
    figure(`${p}fds.start`, `${role} agent open fds, first sample`, "fds", [s[0].fds]),
    figure(`${p}fds.end`, `${role} agent open fds, last sample`, "fds", [last(s).fds]),
    figure(`${p}state.end`, `${role} state directory at the end`, "KB", [last(s).stateKB]),
    figure(`${p}state.slope`, `${role} state directory slope after warm-up`, "KB/h", [
      perHour((x) => x.stateKB),
    ]),
    figure(
      `${p}listeners.base`,
      `${role} abort listeners, baseline (largest idle sample before the first session)`,
      "listeners",
      [max(idle, (x) => x.abortListeners)],
    ),
    figure(`${p}listeners.max`, `${role} abort listeners, largest sample`, "listeners", [
      max(s, (x) => x.abortListeners),
    ]),
    figure(`${p}listeners.end`, `${role} abort listeners, last sample`, "listeners", [
      last(s).abortListeners,
    ]),
    figure(`${p}watchers.end`, `${role} session watchers, last sample`, "watchers", [last(s).watchers]),
  ];
}

export async function benchSoak(o: PartOptions & { soakMinutes?: number }): Promise<PartResult> {
  const opts = soakOptions(o.smoke, o.soakMinutes ?? 20);
  // NETPERSONA_BENCH_SOAK_LAB: another lab name (b...), so that two soaks can run side by side.
  const lab = process.env.NETPERSONA_BENCH_SOAK_LAB ?? (o.smoke ? "bssk" : "bsk");
  const r = await withLab(lab, 2, (inv) => soak(inv, { ...opts, log: o.log }));
  const converged = r.sessions.filter((s) => s.state === "SESSION_STATE_CONVERGED").length;
  const figures: Figure[] = [
    ...roleFigures("destination", r.samples, opts.warmupS),
    ...roleFigures("source", r.samples, opts.warmupS),
    figure(
      "destination.warnings",
      "MaxListenersExceededWarning in the destination agent's log",
      "warnings",
      [r.maxListenerWarnings.destination],
      { op: "<=", value: 0, text: "0" },
    ),
    figure(
      "source.warnings",
      "MaxListenersExceededWarning in the source agent's log",
      "warnings",
      [r.maxListenerWarnings.source],
      { op: "<=", value: 0, text: "0" },
    ),
    figure("sessions.run", "sessions run", "sessions", [r.sessions.length]),
    figure("sessions.converged", "sessions converged", "sessions", [converged]),
    figure(
      "sessions.feedbackLost",
      "feedback-lost events (the source's feedback stream cut or refused)",
      "events",
      [r.sessions.reduce((n, s) => n + s.feedbackLost, 0)],
      { op: "<=", value: 0, text: "0" },
    ),
    figure(
      "sessions.seconds",
      "session duration (start to final event)",
      "s",
      r.sessions.map((s) => s.durationS),
    ),
  ];
  return {
    title: "Soak: two agents probing at 10 Hz, a migration session every few minutes",
    settings: {
      ...opts,
      samplesPerAgent: r.samples.length / 2,
      agentBundle: process.env.NETPERSONA_BENCH_AGENT_BUNDLE ?? "dist/agent/netpersona-agent.js",
    },
    figures,
    notes: [
      `A 2-host lab, real agents (dist/agent/netpersona-agent.js): StreamMetrics both ways (10 probes a second to the other agent) for ${opts.durationS} s; the destination runs a migration session (source persona mirrored, feedback from the source agent, granted on the source before StartSession and revoked after the session ended, as the Migration does) every ${opts.sessionEveryS} s from ${opts.baselineS} s on, watched with WatchSession until its final event, as the Migration resource does.`,
      `Every ${opts.sampleEveryS} s: RSS and open fds from /proc/PID, heap, state directory bytes, abort listeners and session watchers from GetInfo's runtime. Slopes are least squares over the samples from ${opts.warmupS} s on (after the first session cycle); one run, so min = max and stddev 0.`,
      "Abort listeners = 'abort' listeners on the signals the agent keeps open (streaming calls, running sessions, feedback links). Each agent serves one StreamMetrics call, which holds 1 listener while it waits between samples and 0 while it probes: the baseline is the largest idle sample before the first session; the last sample is taken with every session over and nothing watching.",
      "RSS includes memory V8 keeps after a collection; heap used is what is live. The slope target is not a test: on a shared 2-core machine a few MB move with the load, so read the slope against the run's length.",
    ],
    runs: [
      {
        sessions: r.sessions,
        metricsSamples: r.metricsSamples,
        warnings: r.maxListenerWarnings,
        samples: r.samples.map((x) => ({
          ...x,
          rssMB: Math.round(x.rssMB * 10) / 10,
          heapMB: Math.round(x.heapMB * 10) / 10,
          stateKB: Math.round(x.stateKB),
        })),
      },
    ],
  };
}
