// Steers a session's target-path probes, and nothing else, through the target persona's gateway before any
// traffic takes it: a route chain in the agent's own table `inet netpersona_path` marks UDP from the probes'
// source ports to the peer's echo port, and a policy rule sends marked packets to a routing table that holds
// one route, to the peer via that gateway. Other traffic never matches (the peer, its echo port and the
// probes' own ports all have to); the main table is never touched, so a host snapshot does not see it.
// Sessions running at once each steer through their own slot (table, mark bit, rule, routing table).
import { isIP } from "node:net";

import { run } from "../../util/exec";
import { checkIfname } from "../../util/names";

/** Slots, one per session running at once (LIMITS.runningSessions is 4). */
export const PATH_SLOTS = 8;
/** The mark leaves the low 16 bits alone (kube-proxy's 0x4000/0x8000, Cilium's 0x0f00 live there). */
const PATH_MARK = 0x4e500000;

/** The names and numbers of one slot. */
export function pathSlot(slot: number): { nftTable: string; mark: number; table: number; priority: number } {
  if (!Number.isInteger(slot) || slot < 0 || slot >= PATH_SLOTS)
    throw new Error(`path steer: slot ${slot} is not 0-${PATH_SLOTS - 1}`);
  return {
    nftTable: `netpersona_path${slot}`,
    mark: PATH_MARK + (slot << 16),
    table: 4950 + slot,
    priority: 4950 + slot,
  };
}

export interface PathSteer {
  /** The session's peer (the echo responder probed). */
  peer: string;
  peerPort: number;
  /** The local UDP ports of the target-path prober's sockets. */
  sourcePorts: readonly number[];
  /** The target persona's preferred gateway (and device). */
  via: string;
  dev?: string;
}

const port = (field: string, p: number) => {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`${field}: ${p} is not a port (1-65535)`);
  return p;
};

function check(s: PathSteer): void {
  const fam = isIP(s.peer);
  if (fam === 0) throw new Error(`path steer: peer '${s.peer}' is not an IP address`);
  if (isIP(s.via) !== fam)
    throw new Error(`path steer: gateway '${s.via}' is not an IPv${fam} address like the peer '${s.peer}'`);
  port("path steer: peer port", s.peerPort);
  if (s.sourcePorts.length === 0 || s.sourcePorts.length > 64)
    throw new Error(`path steer: 1-64 source ports, got ${s.sourcePorts.length}`);
  s.sourcePorts.forEach((p, i) => port(`path steer: source port ${i}`, p));
  if (s.dev !== undefined) checkIfname("path steer: device", s.dev);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The nft script that replaces the table atomically, or deletes it when `s` is null. Built from checked
 *  addresses and numbers only. */
export function renderPathNft(slot: number, s: PathSteer | null): string {
  const { nftTable, mark } = pathSlot(slot);
  const lines = [`table inet ${nftTable} {`, `}`, `delete table inet ${nftTable}`];
  if (!s) return `${lines.join("\n")}\n`;
  check(s);
  const fam = isIP(s.peer) === 6 ? "ip6" : "ip";
  lines.push(
    `table inet ${nftTable} {`,
    `  chain output {`,
    `    type route hook output priority mangle; policy accept;`,
    `    ${fam} daddr ${s.peer} udp dport ${s.peerPort} udp sport { ${s.sourcePorts.join(", ")} } meta mark set ${hex(mark)}`,
    `  }`,
    `}`,
  );
  return `${lines.join("\n")}\n`;
}

const ipFam = (peer: string) => (isIP(peer) === 6 ? "-6" : "-4");

/** Deletes every rule of the slot in one family (a crashed agent may have left one behind). */
async function dropRules(fam: "-4" | "-6", priority: number, netns?: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const r = await run(["ip", fam, "rule", "del", "priority", String(priority)], { netns, check: false });
    if (r.code !== 0) return;
  }
}

/** Marks the probes and routes them via the gateway. Replaces whatever an earlier session left in the slot. */
export async function steerPath(slot: number, s: PathSteer, netns?: string): Promise<void> {
  check(s);
  const { mark, table, priority } = pathSlot(slot);
  const fam = ipFam(s.peer);
  await run(["nft", "-f", "-"], { netns, input: renderPathNft(slot, s) });
  await dropRules(fam, priority, netns);
  await run(["ip", fam, "route", "flush", "table", String(table)], { netns, check: false });
  const host = `${s.peer}/${fam === "-6" ? 128 : 32}`;
  const dev = s.dev !== undefined ? ["dev", s.dev] : [];
  await run(["ip", fam, "route", "replace", host, "via", s.via, ...dev, "table", String(table)], { netns });
  await run(
    ["ip", fam, "rule", "add", "fwmark", hex(mark), "lookup", String(table), "priority", String(priority)],
    { netns },
  );
}

/** Removes the slot's table, rules and routes of both families; nothing of ours there is fine. */
export async function unsteerPath(slot: number, netns?: string): Promise<void> {
  const { table, priority } = pathSlot(slot);
  await run(["nft", "-f", "-"], { netns, input: renderPathNft(slot, null), check: false });
  for (const fam of ["-4", "-6"] as const) {
    await dropRules(fam, priority, netns);
    await run(["ip", fam, "route", "flush", "table", String(table)], { netns, check: false });
  }
}
