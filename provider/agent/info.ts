// What GetInfo reports: hostname, interfaces (from /sys/class/net, which `ip netns exec` remounts per
// namespace) and the kernel capabilities a persona depends on. Read-only; runs no command.
import { readFile, readdir } from "node:fs/promises";
import { hostname, networkInterfaces, release } from "node:os";

import { which } from "../util/exec";

export interface InterfaceInfo {
  name: string;
  mtu: number;
  operState: string;
  mac: string;
  addresses: string[];
}

export interface Capabilities {
  congestionControlsAvailable: string[];
  congestionControlsAllowed: string[];
  tools: string[];
  kernelRelease: string;
}

export const PROBED_TOOLS = ["ip", "nft", "tc", "resolvectl", "ping", "ss"] as const;

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return "";
  }
}

export async function listInterfaces(): Promise<InterfaceInfo[]> {
  const addrs = networkInterfaces();
  const names = (await readdir("/sys/class/net").catch(() => [] as string[])).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      mtu: Number(await readTrimmed(`/sys/class/net/${name}/mtu`)) || 0,
      operState: (await readTrimmed(`/sys/class/net/${name}/operstate`)) || "unknown",
      mac: await readTrimmed(`/sys/class/net/${name}/address`),
      addresses: (addrs[name] ?? []).map((a) => a.cidr ?? a.address),
    })),
  );
}

export async function capabilities(): Promise<Capabilities> {
  const words = async (path: string) => (await readTrimmed(path)).split(/\s+/).filter(Boolean);
  const found = await Promise.all(PROBED_TOOLS.map(async (t) => ((await which(t)) ? t : undefined)));
  return {
    congestionControlsAvailable: await words("/proc/sys/net/ipv4/tcp_available_congestion_control"),
    congestionControlsAllowed: await words("/proc/sys/net/ipv4/tcp_allowed_congestion_control"),
    tools: found.filter((t): t is (typeof PROBED_TOOLS)[number] => t !== undefined),
    kernelRelease: release(),
  };
}

export function hostName(): string {
  return hostname();
}
