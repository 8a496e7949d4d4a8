// Link MTUs (`ip link set DEV mtu N`) and the namespace-wide congestion control sysctl.
import { readlink } from "node:fs/promises";

import { run } from "../../util/exec";
import { checkIfname } from "../../util/names";
import { commandAction, type Action } from "./actions";

export interface LinkMtu {
  name: string;
  mtu: number;
}

/** Every link of the namespace with its MTU, sorted by name. */
export async function readLinks(netns?: string): Promise<LinkMtu[]> {
  const res = await run(["ip", "-j", "link", "show"], { netns });
  const links = JSON.parse(res.stdout || "[]") as { ifname: string; mtu: number }[];
  return links.map((l) => ({ name: l.ifname, mtu: l.mtu })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Actions that set the MTU of each device in `desired`; `current` is every link of the namespace. */
export function planLinkMtu(
  desired: readonly LinkMtu[],
  current: readonly LinkMtu[],
  netns?: string,
): Action[] {
  const actions: Action[] = [];
  for (const d of desired) {
    checkIfname("mtu device", d.name);
    const c = current.find((l) => l.name === d.name);
    if (!c) throw new Error(`mtu: device ${d.name} does not exist in this host`);
    if (c.mtu === d.mtu) continue;
    const argv = ["ip", "link", "set", "dev", d.name, "mtu", String(d.mtu)];
    actions.push(commandAction("mtu", `link ${d.name} mtu ${c.mtu} -> ${d.mtu}`, argv, netns));
  }
  return actions;
}

const CC_SYSCTL = "net.ipv4.tcp_congestion_control";
const CC_ALLOWED = "net.ipv4.tcp_allowed_congestion_control";

export interface CcSysctl {
  value: string;
  /** The algorithms a non-initial namespace may make its default (`tcp_allowed_congestion_control`). */
  allowed: string[];
  /** True in the initial network namespace, where root may set any available algorithm. */
  initNs: boolean;
}

async function inInitNs(netns?: string): Promise<boolean> {
  if (netns !== undefined) return false; // a named namespace (`ip netns add`) is never the initial one
  const [self, init] = await Promise.all([
    readlink("/proc/self/ns/net"),
    readlink("/proc/1/ns/net").catch(() => ""),
  ]);
  return self === init;
}

export async function readCcSysctl(netns?: string): Promise<CcSysctl> {
  const res = await run(["sysctl", "-n", CC_SYSCTL, CC_ALLOWED], { netns });
  const [value, allowed] = res.stdout.split("\n");
  return {
    value: value.trim(),
    allowed: allowed.trim().split(/\s+/).filter(Boolean),
    initNs: await inInitNs(netns),
  };
}

/** Whether the namespace default may go from the current value to `desired` AND back again (so a restore can
 *  undo it): always in the initial namespace; elsewhere the kernel refuses algorithms that are not allowed
 *  ("Operation not permitted"), so both must be in `tcp_allowed_congestion_control`. */
export function ccSettable(current: CcSysctl, desired: string): boolean {
  return current.initNs || (current.allowed.includes(desired) && current.allowed.includes(current.value));
}

export function planCcSysctl(desired: string | undefined, current: CcSysctl, netns?: string): Action[] {
  if (desired === undefined) return [];
  if (!/^[a-z0-9_]+$/.test(desired)) {
    throw new Error(`congestionControl: '${desired}' is not an algorithm name`);
  }
  // Not settable here: the per-route congctl carries the persona's algorithm instead.
  if (current.value === desired || !ccSettable(current, desired)) return [];
  return [
    commandAction(
      "congestionControl",
      `namespace default ${current.value} -> ${desired}`,
      ["sysctl", "-w", `${CC_SYSCTL}=${desired}`],
      netns,
    ),
  ];
}
