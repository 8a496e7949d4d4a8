// Interface counters from /sys/class/net/<dev>/statistics, and the rates between two readings.
// Read directly in the process's own namespace; through `ip netns exec NS cat` for a named one.
import { readdir, readFile } from "node:fs/promises";

import { checkIfname } from "../../util/names";
import { runHere } from "./netns";

export const COUNTERS = [
  "rx_bytes",
  "tx_bytes",
  "rx_packets",
  "tx_packets",
  "rx_dropped",
  "tx_dropped",
] as const;
export type Counter = (typeof COUNTERS)[number];

export interface IfCounters {
  name: string;
  /** Monotonic time of the reading, ms. */
  atMs: number;
  values: Record<Counter, number>;
}

export interface IfRates {
  name: string;
  /** Seconds between the two readings. */
  seconds: number;
  rxBitsPerSecond: number;
  txBitsPerSecond: number;
  rxBytesPerSecond: number;
  txBytesPerSecond: number;
  rxPacketsPerSecond: number;
  txPacketsPerSecond: number;
  /** Packets dropped between the two readings. */
  rxDropped: number;
  txDropped: number;
  /** The counters of the later reading (since the interface was created). */
  totals: Record<Counter, number>;
}

/** Every interface except loopback. */
export async function listInterfaces(netns?: string): Promise<string[]> {
  const names = netns
    ? (await runHere(["ls", "-1", "/sys/class/net"], netns)).stdout.split("\n").filter(Boolean)
    : await readdir("/sys/class/net");
  return names.filter((n) => n !== "lo").sort();
}

function paths(dev: string): string[] {
  checkIfname("interface", dev);
  return COUNTERS.map((c) => `/sys/class/net/${dev}/statistics/${c}`);
}

/** One reading of each device's counters. */
export async function readCounters(devs: readonly string[], netns?: string): Promise<IfCounters[]> {
  const files = devs.flatMap(paths);
  if (files.length === 0) return [];
  const text = netns
    ? (await runHere(["cat", ...files], netns)).stdout
    : (await Promise.all(files.map((f) => readFile(f, "utf8")))).join("\n");
  const atMs = Number(process.hrtime.bigint()) / 1e6;
  const numbers = text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
  if (numbers.length !== files.length || numbers.some((n) => !Number.isFinite(n))) {
    throw new Error(`interface counters: expected ${files.length} numbers from ${devs.join(", ")}`);
  }
  return devs.map((name, d) => ({
    name,
    atMs,
    values: Object.fromEntries(COUNTERS.map((c, i) => [c, numbers[d * COUNTERS.length + i]])) as Record<
      Counter,
      number
    >,
  }));
}

/** Rates between two readings of the same device (a counter that went backwards restarts from 0). */
export function ifRates(prev: IfCounters, cur: IfCounters): IfRates {
  if (prev.name !== cur.name) throw new Error(`ifRates: ${prev.name} and ${cur.name} are different devices`);
  const seconds = (cur.atMs - prev.atMs) / 1000;
  if (!(seconds > 0)) throw new Error("ifRates: the second reading must be later than the first");
  const delta = (c: Counter) => {
    const d = cur.values[c] - prev.values[c];
    return d >= 0 ? d : cur.values[c];
  };
  return {
    name: cur.name,
    seconds,
    rxBitsPerSecond: (delta("rx_bytes") * 8) / seconds,
    txBitsPerSecond: (delta("tx_bytes") * 8) / seconds,
    rxBytesPerSecond: delta("rx_bytes") / seconds,
    txBytesPerSecond: delta("tx_bytes") / seconds,
    rxPacketsPerSecond: delta("rx_packets") / seconds,
    txPacketsPerSecond: delta("tx_packets") / seconds,
    rxDropped: delta("rx_dropped"),
    txDropped: delta("tx_dropped"),
    totals: { ...cur.values },
  };
}

/** Keeps the previous reading per device and turns each new reading into rates. */
export class InterfaceMeter {
  private prev = new Map<string, IfCounters>();

  constructor(
    private readonly devs?: readonly string[],
    private readonly netns?: string,
  ) {
    devs?.forEach((d) => checkIfname("interface", d));
  }

  /** Rates since the previous call (none on the first call, which only takes the baseline). */
  async sample(): Promise<IfRates[]> {
    const devs = this.devs ?? (await listInterfaces(this.netns));
    const readings = await readCounters(devs, this.netns);
    const out: IfRates[] = [];
    for (const r of readings) {
      const p = this.prev.get(r.name);
      if (p && r.atMs > p.atMs) out.push(ifRates(p, r));
      this.prev.set(r.name, r);
    }
    return out;
  }
}
