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

/** Actions that set the MTU of each device in `want`. */
export function planLinkMtu(want: readonly LinkMtu[], links: readonly LinkMtu[], netns?: string): Action[] {
  const actions: Action[] = [];
  for (const w of want) {
    checkIfname("mtu device", w.name);
    const cur = links.find((l) => l.name === w.name);
    if (!cur) throw new Error(`mtu: device ${w.name} does not exist in this host`);
    if (cur.mtu === w.mtu) continue;
    actions.push(
      commandAction("mtu", `link ${w.name} mtu ${cur.mtu} -> ${w.mtu}`, ["ip", "link", "set", "dev", w.name, "mtu", String(w.mtu)], netns), // prettier-ignore
    );
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

/** Whether the namespace default may go from the current value to `want` AND back again (so a restore can
 *  undo it): always in the initial namespace; elsewhere the kernel refuses algorithms that are not allowed
 *  ("Operation not permitted"), so both must be in `tcp_allowed_congestion_control`. */
export function ccSettable(cur: CcSysctl, want: string): boolean {
  return cur.initNs || (cur.allowed.includes(want) && cur.allowed.includes(cur.value));
}

export function planCcSysctl(want: string | undefined, cur: CcSysctl, netns?: string): Action[] {
  if (want === undefined || cur.value === want || !ccSettable(cur, want)) return [];
  if (!/^[a-z0-9_]+$/.test(want)) throw new Error(`congestionControl: '${want}' is not an algorithm name`);
  return [
    commandAction(
      "congestionControl",
      `namespace default ${cur.value} -> ${want}`,
      ["sysctl", "-w", `${CC_SYSCTL}=${want}`],
      netns,
    ),
  ];
}
