// Part 4, footprint: the real agent daemon's RSS and CPU, idle and while it probes 10 peers at 10 Hz
// (StreamMetrics: 10 probes per peer per second), read from /proc; the metrics library alone in-process
// (bench/agent-footprint.ts); and the provider process's memory during the largest fleet run (part 3).
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { start } from "../provider/util/exec";
import { benchAgentFootprint } from "./agent-footprint";
import { benchPki, startBenchAgent, type BenchAgent } from "./agents";
import { hostOn, withLab } from "./lab";
import type { PartOptions } from "./part";
import { cpuMs, rssMB } from "./proc";
import { figure, type Figure, type PartResult } from "./stats";

const METRICS_MAIN = path.join(__dirname, "..", "provider", "agent", "metrics", "main.js");

interface Usage {
  cpuPercent: number;
  rssMeanMB: number;
  rssPeakMB: number;
}

/** CPU (% of one core) and RSS of `pid` over `seconds`, sampled every 100 ms, while `during` runs. */
async function usage(
  pid: number,
  seconds: number,
  during: Promise<unknown> = Promise.resolve(),
): Promise<Usage> {
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  const rss: number[] = [];
  while (Date.now() - t0 < seconds * 1000) {
    rss.push(rssMB(pid));
    await sleep(100);
  }
  await during;
  const wall = Date.now() - t0;
  return {
    cpuPercent: ((cpuMs(pid) - c0) / wall) * 100,
    rssMeanMB: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssPeakMB: Math.max(...rss),
  };
}

async function agentRun(agent: BenchAgent, peers: { name: string; address: string }[], seconds: number) {
  await sleep(2000); // settle after start
  const idle = await usage(agent.pid, seconds);
  let samples = 0;
  const stream = (async () => {
    const req = { peers, interval_ms: 1000, probes_per_sample: 10, max_samples: seconds };
    for await (const s of agent.client.streamMetrics(req)) samples += s ? 1 : 0;
  })();
  const probing = await usage(agent.pid, seconds, stream);
  return { idle, probing, samples };
}

export async function benchFootprint(o: PartOptions): Promise<PartResult> {
  const seconds = o.smoke ? 2 : 10;
  const nPeers = o.smoke ? 1 : 10;
  const runs: Record<string, unknown>[] = [];
  const agentRuns: Awaited<ReturnType<typeof agentRun>>[] = [];
  await withLab(o.smoke ? "bsfp" : "bfp", nPeers + 1, async (inv) => {
    const node = hostOn(inv, "destination");
    const peers = inv.hosts.filter((h) => h !== node);
    const responders: ChildProcess[] = [];
    let agent: BenchAgent | undefined;
    try {
      for (const p of peers) {
        const c = start([process.execPath, METRICS_MAIN, "respond", "--listen", `${p.address}:7047`], {
          netns: p.netns,
          stdio: ["ignore", "pipe", "inherit"],
        });
        responders.push(c);
        await once(c.stdout!, "data");
      }
      agent = await startBenchAgent(inv, node, await benchPki());
      for (let r = 1; r <= o.repeat; r++) {
        const a = await agentRun(
          agent,
          peers.map((p) => ({ name: p.name, address: p.address })),
          seconds,
        );
        o.log(
          `footprint agent #${r}: idle ${a.idle.cpuPercent.toFixed(2)} % CPU, ${a.idle.rssPeakMB.toFixed(1)} MB; probing ${a.probing.cpuPercent.toFixed(2)} % CPU, ${a.probing.rssPeakMB.toFixed(1)} MB (${a.samples} samples)`,
        );
        agentRuns.push(a);
        runs.push({ kind: "agent", repeat: r, ...a });
      }
    } finally {
      await agent?.stop();
      for (const c of responders) c.kill();
    }
  });
  const lib: Awaited<ReturnType<typeof benchAgentFootprint>>[] = [];
  for (let r = 1; r <= o.repeat; r++) {
    const x = await benchAgentFootprint(seconds, nPeers);
    lib.push(x);
    runs.push({ kind: "library", repeat: r, prober: x.prober, sampler: x.sampler });
  }
  const col = (f: (a: (typeof agentRuns)[number]) => number) => agentRuns.map(f);
  const rssTarget = { op: "<" as const, value: 60, text: "< 60 MB" };
  const figures: Figure[] = [
    figure(
      "agent.idle.rss",
      "agent RSS, idle (peak)",
      "MB",
      col((a) => a.idle.rssPeakMB),
      rssTarget,
    ),
    figure(
      "agent.idle.cpu",
      "agent CPU, idle",
      "% of a core",
      col((a) => a.idle.cpuPercent),
      { op: "<", value: 1, text: "< 1 %" },
    ),
    figure(
      "agent.probe.rss",
      `agent RSS, probing ${nPeers} peers at 10 Hz (peak)`,
      "MB",
      col((a) => a.probing.rssPeakMB),
      rssTarget,
    ),
    figure(
      "agent.probe.cpu",
      `agent CPU, probing ${nPeers} peers at 10 Hz`,
      "% of a core",
      col((a) => a.probing.cpuPercent),
    ),
    figure(
      "lib.sampler.cpu",
      `metrics sampler in-process, ${nPeers} peers at 10 Hz`,
      "% of a core",
      lib.map((x) => x.sampler.cpuPercent),
    ),
    figure(
      "lib.sampler.rss",
      "benchmark process RSS after the sampler run (all the bench loaded, not the sampler alone)",
      "MB",
      lib.map((x) => x.sampler.rssEndMB),
    ),
  ];
  const fleet = o.earlier.fleet?.figures.filter((f) => /^provider\.\d+\.peak$/.test(f.id)) ?? [];
  const largest = fleet.sort((a, b) => Number(b.id.split(".")[1]) - Number(a.id.split(".")[1]))[0];
  if (largest)
    figures.push({
      ...largest,
      id: "provider.peak",
      label: `provider process peak RSS, ${largest.label.split(":")[0]} fleet run (agents + migrations)`,
    });
  return {
    title: "Footprint: agent and provider",
    settings: { seconds, peers: nPeers, probeHz: 10, repeat: o.repeat },
    figures,
    notes: [
      `The agent is the real bundle (dist/agent/netpersona-agent.js) in a lab host, read from /proc/PID (VmRSS, utime + stime) every 100 ms over ${seconds} s: idle (only its echo responder and gRPC server up), then while a StreamMetrics call makes it probe ${nPeers} peers (echo responders in the other lab hosts) with 10 probes per peer per second.`,
      "The library rows are bench/agent-footprint.ts: the MetricsSampler (probes + ss -tin + interface counters) in the benchmark's own process, responders on 127.0.0.1.",
      largest
        ? "The provider row is the dynamic-provider process of the largest fleet run (part 3), sampled every 250 ms during `pulumi up`."
        : "The provider memory comes from the fleet part, which did not run here (use --only with fleet before footprint).",
    ],
    runs,
  };
}
