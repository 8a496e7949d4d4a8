// Benchmark (not a test): the metrics library's CPU and memory while probing 10 peers at 10 Hz for 10 s.
// The 10 echo responders run in a child process (not counted); the prober, then the whole MetricsSampler
// (probes + `ss -tin` + interface counters once a second), run in this process.
// Prints one JSON object: { prober: Footprint, sampler: Footprint, machine: {...} }.
import { once } from "node:events";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { EchoProber, type EchoPeer, type PeerProbeStats } from "../provider/agent/metrics/prober";
import { MetricsSampler, type MetricsSampleData } from "../provider/agent/metrics/sampler";
import { start } from "../provider/util/exec";

export interface Footprint {
  peers: number;
  probeHz: number;
  seconds: number;
  /** CPU time (user + system) over wall time, percent of one core. */
  cpuPercent: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  rssStartMB: number;
  rssEndMB: number;
  rssPeakMB: number;
  heapUsedEndMB: number;
  /** Probes sent over the run, all peers. */
  probesSent: number;
  /** Probes lost in the last window (100 probes per peer) at the end. */
  probesLostInWindow: number;
}

const MB = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

async function measure(
  seconds: number,
  peers: number,
  run: () => Promise<() => Promise<{ sent: number; lost: number }>>,
): Promise<Footprint> {
  global.gc?.();
  const rssStart = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let peak = rssStart;
  const finish = await run();
  for (let i = 0; i < seconds * 10; i++) {
    await sleep(100);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const counts = await finish();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const mem = process.memoryUsage();
  return {
    peers,
    probeHz: 10,
    seconds: Math.round(wallMs) / 1000,
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    rssStartMB: MB(rssStart),
    rssEndMB: MB(mem.rss),
    rssPeakMB: MB(Math.max(peak, mem.rss)),
    heapUsedEndMB: MB(mem.heapUsed),
    probesSent: counts.sent,
    probesLostInWindow: counts.lost,
  };
}

export async function benchAgentFootprint(seconds = 10, n = 10) {
  const main = path.join(__dirname, "../provider/agent/metrics/main.js");
  const listen = Array.from({ length: n }, () => ["--listen", "127.0.0.1:0"]).flat();
  const child = start(["node", main, "respond", ...listen], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    const addrs = (JSON.parse(line.toString()) as { listening: string[] }).listening;
    const peers: EchoPeer[] = addrs.map((a, i) => ({
      name: `p${i + 1}`,
      address: "127.0.0.1",
      port: Number(a.split(":")[1]),
    }));
    const total = (s: PeerProbeStats[]) => ({
      sent: s.reduce((x, p) => x + p.totals.sent, 0),
      lost: s.reduce((x, p) => x + p.lost, 0),
    });
    const prober = await measure(seconds, n, async () => {
      const p = new EchoProber(peers, { intervalMs: 100, timeoutMs: 1000, window: 100 });
      await p.open();
      p.start();
      return async () => {
        p.stop();
        await sleep(1000);
        const s = p.stats();
        await p.close();
        return total(s);
      };
    });
    const sampler = await measure(seconds, n, async () => {
      const s = new MetricsSampler({
        peers,
        intervalMs: 1000,
        probeIntervalMs: 100,
        window: 100,
        pmtu: false,
      });
      let last: ReturnType<typeof total> = { sent: 0, lost: 0 };
      s.on("sample", (x: MetricsSampleData) => (last = total(x.peers)));
      await s.start();
      return async () => {
        await s.stop();
        return last;
      };
    });
    return {
      prober,
      sampler,
      machine: { cpus: os.cpus().length, node: process.version, load: os.loadavg() },
    };
  } finally {
    child.kill();
  }
}

if (require.main === module) {
  benchAgentFootprint().then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
