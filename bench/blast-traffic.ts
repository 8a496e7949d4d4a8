// Traffic of the blast-radius benchmark, from the migrated node (client) to its peer (server), for real in
// the lab namespaces: long flows (one iperf3 with `streams` parallel TCP streams, each paced, each with its
// own source port, so that a multipath route spreads them) and many short requests (bench/rr-worker.ts: a
// new TCP connection per request, the server's name resolved per request with the node's resolv.conf).
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

import { start } from "../provider/util/exec";
import { checkIfname } from "../provider/util/names";

const RR_WORKER = path.join(__dirname, "rr-worker.js");
const IPERF_PORT = 5211;
const RR_PORT = 7071;

export interface StreamSample {
  /** Seconds since the flow started (end of the interval). */
  t: number;
  seconds: number;
  mbps: number;
}

export interface BlastTraffic {
  startUnixMs: number;
  /** One series per long flow. */
  streams: StreamSample[][];
  /** [offset from the workload's start in ms, latency in ms or -1 for a failed request] */
  requests: [number, number][];
  requestsStartUnixMs: number;
}

/** The child's stdout; with `lenient`, also when it exits non-zero but printed something (iperf3 -J prints
 *  its intervals and an `error` when its control connection stalled). */
function collect(child: ChildProcess, lenient = false): Promise<string> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (d: Buffer) => out.push(d));
  child.stderr?.on("data", (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const text = Buffer.concat(out).toString();
      if (code === 0 || (lenient && text.trim().startsWith("{"))) resolve(text);
      else
        reject(
          new Error(`${child.spawnargs.join(" ")} exited ${code}: ${Buffer.concat(err)}${text.slice(-500)}`),
        );
    });
  });
}

async function ready(child: ChildProcess, text: RegExp, what: string): Promise<void> {
  let out = "";
  const timer = setTimeout(() => child.kill(), 10_000);
  try {
    while (!text.test(out)) out += ((await once(child.stdout!, "data")) as [Buffer])[0].toString();
  } catch (e) {
    throw new Error(`${what} did not start: ${(e as Error).message} ${out}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

export interface BlastTrafficOptions {
  serverNs: string;
  serverAddr: string;
  /** The name the requests resolve (it must resolve to serverAddr). */
  serverName: string;
  clientNs: string;
  /** The resolv.conf the client's namespace reads (/etc/netns/<ns>/resolv.conf). */
  resolvConf: string;
  seconds: number;
  requestRate: number;
  streams: number;
  /** iperf3 -b per stream, e.g. "4M". */
  streamRate: string;
  /** Called once both are running. */
  during: () => Promise<void>;
}

export async function runBlastTraffic(o: BlastTrafficOptions): Promise<BlastTraffic> {
  const serverNs = checkIfname("netns", o.serverNs);
  const clientNs = checkIfname("netns", o.clientNs);
  const pipe = { stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const servers: ChildProcess[] = [];
  try {
    const iperfArgv = ["iperf3", "-s", "-1", "--forceflush", "-B", o.serverAddr, "-p", String(IPERF_PORT)];
    const iperfServer = start(iperfArgv, { ...pipe, netns: serverNs });
    servers.push(iperfServer);
    const rrArgv = [process.execPath, RR_WORKER, "serve", o.serverAddr, String(RR_PORT)];
    const rrServer = start(rrArgv, { ...pipe, netns: serverNs });
    servers.push(rrServer);
    await Promise.all([
      ready(iperfServer, /listening/, "iperf3 -s"),
      ready(rrServer, /ready/, "rr-worker serve"),
    ]);
    const flowArgv = ["iperf3", "-c", o.serverAddr, "-p", String(IPERF_PORT), "-t", String(o.seconds)];
    flowArgv.push("-P", String(o.streams), "-b", o.streamRate, "-i", "0.2", "-J", "-C", "cubic");
    const startUnixMs = Date.now();
    const flowChild = start(flowArgv, { ...pipe, netns: clientNs });
    // A flow whose control connection stalls must still end: interrupted, iperf3 prints what it measured.
    const stall = setTimeout(() => flowChild.kill("SIGINT"), (o.seconds + 20) * 1000);
    const flowOut = collect(flowChild, true).finally(() => clearTimeout(stall));
    const clientArgv = [process.execPath, RR_WORKER, "client", o.serverName, String(RR_PORT)];
    clientArgv.push(String(o.requestRate), String(o.seconds), o.resolvConf);
    const rrOut = collect(start(clientArgv, { ...pipe, netns: clientNs }));
    await o.during();
    const [flowJson, rrJson] = await Promise.all([flowOut, rrOut]);
    const rr = JSON.parse(rrJson) as { startUnixMs: number; requests: [number, number][] };
    return {
      startUnixMs,
      streams: parseStreams(flowJson),
      requests: rr.requests,
      requestsStartUnixMs: rr.startUnixMs,
    };
  } finally {
    for (const s of servers) if (s.exitCode === null) s.kill();
  }
}

interface IperfStreamsJson {
  intervals?: { streams: { socket: number; end: number; seconds: number; bits_per_second: number }[] }[];
  error?: string;
}

/** iperf3 -J -P N: one series of 0.2 s samples per stream (by socket), in stream order. */
export function parseStreams(text: string): StreamSample[][] {
  const j = JSON.parse(text) as IperfStreamsJson;
  if (j.error && !j.intervals?.length) throw new Error(`iperf3: ${j.error}`);
  const by = new Map<number, StreamSample[]>();
  for (const i of j.intervals ?? [])
    for (const s of i.streams) {
      if (!by.has(s.socket)) by.set(s.socket, []);
      by.get(s.socket)!.push({ t: s.end, seconds: s.seconds, mbps: s.bits_per_second / 1e6 });
    }
  return [...by.values()];
}
