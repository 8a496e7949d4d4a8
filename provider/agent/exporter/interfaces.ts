// The interfaces as the exporter shows them: link MTU, whether it is up, and the kernel's counters, read from
// /sys/class/net of the agent's own namespace (loopback left out).
import { readFile } from "node:fs/promises";

import { COUNTERS, listInterfaces, readCounters } from "../metrics/ifstats";
import type { InterfaceReading } from "./registry";

async function readTrimmed(path: string): Promise<string> {
  return (await readFile(path, "utf8").catch(() => "")).trim();
}

export async function readInterfaces(): Promise<InterfaceReading[]> {
  const names = await listInterfaces();
  // One device may vanish between the listing and the reading: read them one by one.
  const out: InterfaceReading[] = [];
  for (const name of names) {
    const c = await readCounters([name]).catch(() => []);
    if (c.length === 0) continue;
    out.push({
      name,
      mtu: Number(await readTrimmed(`/sys/class/net/${name}/mtu`)) || 0,
      up: (await readTrimmed(`/sys/class/net/${name}/operstate`)) === "up",
      counters: Object.fromEntries(COUNTERS.map((k) => [k, c[0].values[k]])) as InterfaceReading["counters"],
    });
  }
  return out;
}
