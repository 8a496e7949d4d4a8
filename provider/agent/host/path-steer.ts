// Steers a session's target-path probes, and nothing else, through the target persona's gateway before any
// traffic takes it: a route chain in the agent's own table `inet netpersona_path` marks UDP from the probes'
// source ports to the peer's echo port, and a policy rule sends marked packets to a routing table that holds
// one route, to the peer via that gateway. Other traffic never matches (the peer, its echo port and the
// probes' own ports all have to); the main table is never touched, so a host snapshot does not see it.
import { isIP } from "node:net";

import { run } from "../../util/exec";
import { checkIfname } from "../../util/names";

export const PATH_NFT_TABLE = "netpersona_path";
/** The mark leaves the low 16 bits alone (kube-proxy's 0x4000/0x8000, Cilium's 0x0f00 live there). */
export const PATH_MARK = 0x4e500000;
export const PATH_ROUTE_TABLE = 4950;
export const PATH_RULE_PRIORITY = 4950;

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
export function renderPathNft(s: PathSteer | null): string {
  const lines = [`table inet ${PATH_NFT_TABLE} {`, `}`, `delete table inet ${PATH_NFT_TABLE}`];
  if (!s) return `${lines.join("\n")}\n`;
  check(s);
  const fam = isIP(s.peer) === 6 ? "ip6" : "ip";
  lines.push(
    `table inet ${PATH_NFT_TABLE} {`,
    `  chain output {`,
    `    type route hook output priority mangle; policy accept;`,
    `    ${fam} daddr ${s.peer} udp dport ${s.peerPort} udp sport { ${s.sourcePorts.join(", ")} } meta mark set ${hex(PATH_MARK)}`,
    `  }`,
    `}`,
  );
  return `${lines.join("\n")}\n`;
}

const ipFam = (peer: string) => (isIP(peer) === 6 ? "-6" : "-4");

/** Deletes every rule of ours in one family (a crashed agent may have left one behind). */
async function dropRules(fam: "-4" | "-6", netns?: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const r = await run(["ip", fam, "rule", "del", "priority", String(PATH_RULE_PRIORITY)], {
      netns,
      check: false,
    });
    if (r.code !== 0) return;
  }
}

/** Marks the probes and routes them via the gateway. Replaces whatever an earlier session left. */
export async function steerPath(s: PathSteer, netns?: string): Promise<void> {
  check(s);
  const fam = ipFam(s.peer);
  await run(["nft", "-f", "-"], { netns, input: renderPathNft(s) });
  await dropRules(fam, netns);
  await run(["ip", fam, "route", "flush", "table", String(PATH_ROUTE_TABLE)], { netns, check: false });
  const host = `${s.peer}/${fam === "-6" ? 128 : 32}`;
  const dev = s.dev !== undefined ? ["dev", s.dev] : [];
  await run(["ip", fam, "route", "replace", host, "via", s.via, ...dev, "table", String(PATH_ROUTE_TABLE)], {
    netns,
  });
  await run(
    [
      "ip",
      fam,
      "rule",
      "add",
      "fwmark",
      `${hex(PATH_MARK)}/${hex(PATH_MARK)}`,
      "lookup",
      String(PATH_ROUTE_TABLE),
      "priority",
      String(PATH_RULE_PRIORITY),
    ],
    { netns },
  );
}

/** Removes the table, the rules and the routes of both families; nothing of ours there is fine. */
export async function unsteerPath(netns?: string): Promise<void> {
  await run(["nft", "-f", "-"], { netns, input: renderPathNft(null), check: false });
  for (const fam of ["-4", "-6"] as const) {
    await dropRules(fam, netns);
    await run(["ip", fam, "route", "flush", "table", String(PATH_ROUTE_TABLE)], { netns, check: false });
  }
}
