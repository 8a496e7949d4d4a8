// Live traffic across a lab path for the disruption benchmark: one iperf3 TCP flow and a request/response
// workload (bench/rr-worker.ts), both from the migrated node (client) to its peer (server), run for real
// inside the lab namespaces.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

import { start } from "../provider/util/exec";
import { checkIfname } from "../provider/util/names";

const RR_WORKER = path.join(__dirname, "rr-worker.js");
const IPERF_PORT = 5201;
const RR_PORT = 7070;

export interface FlowSample {
  /** Seconds since the flow started (end of the interval). */
  t: number;
  seconds: number;
  mbps: number;
  retransmits: number;
}

export interface TrafficResult {
  startUnixMs: number;
  flow: FlowSample[];
  /** [offset from the workload's start in ms, latency in ms or -1 for a failed request] */
  requests: [number, number][];
  requestsStartUnixMs: number;
}

function collect(child: ChildProcess): Promise<string> {
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  child.stdout?.on("data", (d: Buffer) => chunks.push(d));
  child.stderr?.on("data", (d: Buffer) => errs.push(d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const out = Buffer.concat(chunks).toString();
      if (code === 0) resolve(out);
      else
        reject(
          new Error(`${child.spawnargs.join(" ")} exited ${code}: ${Buffer.concat(errs)}${out.slice(-500)}`),
        );
    });
  });
}

async function waitFor(child: ChildProcess, text: RegExp, what: string): Promise<void> {
  let out = "";
  const timer = setTimeout(() => child.kill(), 10_000);
  try {
    while (!text.test(out)) {
      const [d] = (await once(child.stdout!, "data")) as [Buffer];
      out += d.toString();
    }
  } catch (e) {
    throw new Error(`${what} did not start: ${(e as Error).message} ${out}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the flow and the workload for `seconds` from `clientNs` to `serverAddr` in `serverNs`. */
export async function runTraffic(opts: {
  serverNs: string;
  serverAddr: string;
  clientNs: string;
  seconds: number;
  requestRate: number;
  /** iperf3 -b: the flow's paced rate (e.g. "60M"), below the bottleneck so that a dip stands out. */
  flowRate: string;
  /** Called once both are running (at about t = 0 of the flow). */
  during: (startUnixMs: number) => Promise<void>;
}): Promise<TrafficResult> {
  const serverNs = checkIfname("netns", opts.serverNs);
  const clientNs = checkIfname("netns", opts.clientNs);
  const pipe = { stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const servers: ChildProcess[] = [];
  try {
    const iperfServer = start(
      ["iperf3", "-s", "-1", "--forceflush", "-B", opts.serverAddr, "-p", String(IPERF_PORT)],
      {
        ...pipe,
        netns: serverNs,
      },
    );
    servers.push(iperfServer);
    const rrServer = start([process.execPath, RR_WORKER, "serve", opts.serverAddr, String(RR_PORT)], {
      ...pipe,
      netns: serverNs,
    });
    servers.push(rrServer);
    await Promise.all([
      waitFor(iperfServer, /listening/, "iperf3 -s"),
      waitFor(rrServer, /ready/, "rr-worker serve"),
    ]);
    const flowArgv = ["iperf3", "-c", opts.serverAddr, "-p", String(IPERF_PORT), "-t", String(opts.seconds)];
    flowArgv.push("-b", opts.flowRate, "-i", "0.1", "-J", "-C", "cubic");
    const startUnixMs = Date.now();
    const flowChild = start(flowArgv, { ...pipe, netns: clientNs });
    const flowOut = collect(flowChild);
    const rrArgv = [process.execPath, RR_WORKER, "client", opts.serverAddr, String(RR_PORT)];
    rrArgv.push(String(opts.requestRate), String(opts.seconds));
    const rrOut = collect(start(rrArgv, { ...pipe, netns: clientNs }));
    await opts.during(startUnixMs);
    const [flowJson, rrJson] = await Promise.all([flowOut, rrOut]);
    const rr = JSON.parse(rrJson) as { startUnixMs: number; requests: [number, number][] };
    // iperf3 stamps its start in whole seconds only: offsets count from the moment both clients were spawned.
    return {
      startUnixMs,
      flow: parseIperf(flowJson),
      requests: rr.requests,
      requestsStartUnixMs: rr.startUnixMs,
    };
  } finally {
    for (const s of servers) if (s.exitCode === null) s.kill();
  }
}

interface IperfJson {
  intervals?: { sum: { end: number; seconds: number; bits_per_second: number; retransmits?: number } }[];
  error?: string;
}

export function parseIperf(text: string): FlowSample[] {
  const j = JSON.parse(text) as IperfJson;
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  return (j.intervals ?? []).map((i) => ({
    t: i.sum.end,
    seconds: i.sum.seconds,
    mbps: i.sum.bits_per_second / 1e6,
    retransmits: i.sum.retransmits ?? 0,
  }));
}
