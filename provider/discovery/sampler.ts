// Flow sampling: `ss -tinpH` every few hundred milliseconds over a window (inside a network namespace when
// asked), plus the interfaces' byte counters at both ends, turned into one series per TCP flow; and, beside
// it, connection tracking (conntrack.ts) for every connection's whole life, short ones and UDP included.
import { setTimeout as sleep } from "node:timers/promises";

import { run } from "../util/exec";
import { parseListening, parseSsTcpInfo, type TcpFlow } from "../util/ss";
import { watchConntrack, type ConnRecord, type ConntrackWatch } from "./conntrack";
import type { FlowSeries, SocketSample } from "./types";

export interface SampleOptions {
  netns?: string;
  windowMs: number;
  sampleEveryMs: number;
  /** Stops the sampling before the next sample (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Watch connection tracking too (default true; ss alone when false or unavailable). */
  conntrack?: boolean;
}

export interface SampleWindow {
  flows: FlowSeries[];
  /** Seconds since the window started, per sample. */
  times: number[];
  listening: Set<number>;
  interfaceBytes: number;
  /** Every connection conntrack saw in the window (empty when it was not used). */
  connections: ConnRecord[];
  /** Why conntrack was not used, when it was not. */
  conntrackNote?: string;
  /** UDP ports bound without a peer (`ss -ulnH`): a UDP flow to one of them is inbound. */
  udpListening: Set<number>;
  /** Window length in seconds. */
  seconds: number;
}

/** rx + tx bytes of every interface except loopback, from `ip -s -j link`. */
export async function interfaceBytes(netns?: string): Promise<number> {
  const { stdout } = await run(["ip", "-s", "-j", "link", "show"], { netns });
  const links = JSON.parse(stdout) as {
    ifname: string;
    stats64?: { rx: { bytes: number }; tx: { bytes: number } };
  }[];
  return links
    .filter((l) => l.ifname !== "lo" && l.stats64)
    .reduce((acc, l) => acc + (l.stats64?.rx.bytes ?? 0) + (l.stats64?.tx.bytes ?? 0), 0);
}

/** A socket of `ss -tinpH` as discovery samples it. bytes_sent includes retransmissions; older kernels only
 *  report bytes_acked (which counts the SYN). */
export function socketSample(f: TcpFlow): SocketSample {
  const s: SocketSample = {
    localAddress: f.local.address,
    localPort: f.local.port,
    remoteAddress: f.peer.address,
    remotePort: f.peer.port,
    state: f.state,
    bytesSent:
      f.bytesSent !== undefined ? f.bytesSent - (f.bytesRetrans ?? 0) : Math.max(0, (f.bytesAcked ?? 0) - 1),
    bytesReceived: f.bytesReceived ?? 0,
    bytesRetrans: f.bytesRetrans ?? 0,
    dataSegsOut: f.dataSegsOut ?? 0,
    dataSegsIn: f.dataSegsIn ?? 0,
  };
  if (f.process !== undefined) s.process = f.process;
  if (f.pid !== undefined) s.pid = f.pid;
  if (f.rttMs !== undefined) s.rttMs = f.rttMs;
  if (f.pmtu) s.pmtu = f.pmtu;
  return s;
}

/** The connected TCP sockets of `ss -tinpH` (listening ones are not flows). */
export function parseSs(text: string): SocketSample[] {
  return parseSsTcpInfo(text)
    .filter((f) => f.state !== "LISTEN" && f.state !== "UNCONN")
    .map(socketSample);
}

export function flowId(s: Pick<SocketSample, "localAddress" | "localPort" | "remoteAddress" | "remotePort">) {
  return `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}`;
}

async function listening(netns?: string): Promise<Set<number>> {
  return parseListening((await run(["ss", "-tlnH"], { netns })).stdout);
}

/** Local ports of unconnected UDP sockets (`ss -ulnH`). */
export function parseUdpListening(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== "UNCONN" || cols.length < 4) continue;
    const port = Number(/:(\d+)$/.exec(cols[3])?.[1]);
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}

function newSeries(s: SocketSample, index: number, n: number, preexisting: boolean): FlowSeries {
  return {
    key: {
      protocol: "tcp",
      localAddress: s.localAddress,
      localPort: s.localPort,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
    },
    process: s.process,
    pid: s.pid,
    preexisting,
    first: index,
    last: index,
    sent: new Array<number>(n).fill(0),
    received: new Array<number>(n).fill(0),
    segsOut: new Array<number>(n).fill(0),
    segsIn: new Array<number>(n).fill(0),
    retransBytes: 0,
  };
}

/** Samples the sockets for `windowMs` and returns one series per flow, with per-interval deltas. */
export async function sampleFlows(opts: SampleOptions): Promise<SampleWindow> {
  const n = Math.max(2, Math.round(opts.windowMs / opts.sampleEveryMs) + 1);
  const listen = await listening(opts.netns);
  const ifStart = await interfaceBytes(opts.netns);
  const t0 = Date.now();
  const ct: ConntrackWatch =
    opts.conntrack === false
      ? { unavailable: "conntrack not asked for", poll: async () => undefined, finish: async () => [] }
      : await watchConntrack(opts.netns, t0);
  const series = new Map<string, FlowSeries>();
  const previous = new Map<string, SocketSample>();
  const times: number[] = [];
  let nextPoll = 1000;
  let polling: Promise<void> | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const due = t0 + i * opts.sampleEveryMs;
      if (due > Date.now()) await sleep(due - Date.now(), undefined, { signal: opts.signal });
      opts.signal?.throwIfAborted();
      if (!ct.unavailable && !polling && Date.now() - t0 >= nextPoll) {
        // Counters of every tracked connection about once a second: the rhythm of UDP streams.
        nextPoll += 1000;
        polling = ct.poll((Date.now() - t0) / 1000).finally(() => (polling = undefined));
      }
      const sockets = parseSs((await run(["ss", "-tinpH"], { netns: opts.netns })).stdout);
      times.push((Date.now() - t0) / 1000);
      for (const s of sockets) {
        if (s.localAddress === s.remoteAddress || s.localAddress.startsWith("127.")) continue;
        const id = flowId(s);
        let f = series.get(id);
        const prev = previous.get(id);
        if (!f) {
          f = newSeries(s, i, n, i === 0);
          series.set(id, f);
        }
        // The first sighting of a flow that opened inside the window counts all its bytes so far.
        const base = prev ?? (f.preexisting ? s : undefined);
        f.sent[i] = Math.max(0, s.bytesSent - (base?.bytesSent ?? 0));
        f.received[i] = Math.max(0, s.bytesReceived - (base?.bytesReceived ?? 0));
        f.segsOut[i] = Math.max(0, s.dataSegsOut - (base?.dataSegsOut ?? 0));
        f.segsIn[i] = Math.max(0, s.dataSegsIn - (base?.dataSegsIn ?? 0));
        f.retransBytes += Math.max(0, s.bytesRetrans - (base?.bytesRetrans ?? 0));
        f.last = i;
        f.process ??= s.process;
        f.pid ??= s.pid;
        if (s.rttMs !== undefined) f.rttMs = s.rttMs;
        if (s.pmtu !== undefined) f.pmtu = s.pmtu;
        previous.set(id, s);
      }
      for (const id of [...previous.keys()]) if (series.get(id)?.last !== i) previous.delete(id);
    }
  } catch (err) {
    await polling?.catch(() => undefined);
    await ct.finish(0).catch(() => undefined);
    throw err;
  }
  await polling;
  const seconds = (Date.now() - t0) / 1000;
  const connections = await ct.finish(seconds);
  for (const p of await listening(opts.netns)) listen.add(p);
  const udpListening = parseUdpListening((await run(["ss", "-ulnH"], { netns: opts.netns })).stdout);
  const ifEnd = await interfaceBytes(opts.netns);
  return {
    flows: [...series.values()],
    times,
    listening: listen,
    interfaceBytes: Math.max(0, ifEnd - ifStart),
    connections,
    ...(ct.unavailable && { conntrackNote: ct.unavailable }),
    udpListening,
    seconds,
  };
}
