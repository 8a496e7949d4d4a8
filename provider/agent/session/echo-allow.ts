// Whom the agent's echo responder answers, and on which address it listens. The responder (metrics/echo.ts)
// only asks `allowed(address)`; the rule lives here, built by the daemon from what it knows:
//   1. the peers of this agent's active sessions (pending, running, paused): the session's peer address and
//      the host of its source agent — they probe us for the source's feedback;
//   2. the peers this agent probed itself in a StreamMetrics sample during the last LIMITS.echoProbedTtlMs —
//      on a source agent that is the destination of a session holding its feedback stream (the destination
//      probes us while we probe it), and for two-way measurements whoever we measure;
//   3. the configured list (`--echo-allow CIDR,...`, default empty): monitoring probers, a Migration `peer`
//      that is no agent of the session, anything else that must probe this host.
// Everyone else gets no answer. Documented in docs/security.md ("Echo responder").
import { BlockList, isIP } from "node:net";

import { LIMITS } from "../rpc/limits";

/** What the rule reads of a session record. */
export interface SessionPeers {
  state: string;
  peerAddress: string;
  sourceAgent: string;
}

const ACTIVE = new Set(["SESSION_STATE_PENDING", "SESSION_STATE_RUNNING", "SESSION_STATE_PAUSED"]);

function unmapped(ip: string): string {
  return ip.toLowerCase().startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function familyOf(ip: string): "ipv4" | "ipv6" {
  return isIP(ip) === 6 ? "ipv6" : "ipv4";
}

/** The IP host of "10.0.0.1:7443" / "[fd00::1]:7443"; undefined for a name (not resolved here). */
export function endpointHost(endpoint: string): string | undefined {
  const host = endpoint.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return isIP(host) === 0 ? undefined : unmapped(host);
}

/** `--echo-allow`: addresses and CIDR prefixes separated by commas ("" allows nobody). Throws naming the
 *  first bad entry. */
export function parseAllowList(text: string): { list: BlockList; entries: string[] } {
  const list = new BlockList();
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) {
    const [ip, bits, extra] = e.split("/");
    const family = isIP(ip);
    const max = family === 6 ? 128 : 32;
    const n = bits === undefined ? max : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      !/^\d*$/.test(bits ?? "") ||
      !Number.isInteger(n) ||
      n < 0 ||
      n > max
    ) {
      throw new Error(`--echo-allow: '${e}' is not an IP address or CIDR prefix (e.g. 10.0.0.0/24,fd00::7)`);
    }
    list.addSubnet(ip, n, family === 6 ? "ipv6" : "ipv4");
  }
  return { list, entries };
}

/** Addresses remembered for a while: at most `max`, each for `ttlMs` after its last touch. */
export class RecentPeers {
  /** address → last touch; insertion order is recency order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number = LIMITS.echoProbedTtlMs,
    private readonly max: number = LIMITS.echoProbedPeers,
  ) {}

  touch(address: string, now = Date.now()): void {
    const a = unmapped(address);
    if (isIP(a) === 0) return;
    this.seen.delete(a);
    this.seen.set(a, now);
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value as string);
  }

  has(address: string, now = Date.now()): boolean {
    const at = this.seen.get(address);
    if (at === undefined) return false;
    if (now - at < this.ttlMs) return true;
    this.seen.delete(address);
    return false;
  }

  size(): number {
    return this.seen.size;
  }
}

export interface EchoAllowSources {
  /** The agent's session records (read on every datagram; recomputed only when the object changes). */
  sessions: () => Readonly<Record<string, SessionPeers>>;
  /** Peers this agent probed recently (StreamMetrics). */
  probed: RecentPeers;
  /** The configured list. */
  configured: BlockList;
  now?: () => number;
}

/** The responder's `allowed(address)`. */
export function createEchoAllow(o: EchoAllowSources): (address: string) => boolean {
  let seenSessions: unknown;
  let sessionPeers = new Set<string>();
  return (address) => {
    const a = unmapped(address);
    if (isIP(a) === 0) return false;
    const sessions = o.sessions();
    if (sessions !== seenSessions) {
      seenSessions = sessions;
      sessionPeers = new Set();
      for (const s of Object.values(sessions)) {
        if (!ACTIVE.has(s.state)) continue;
        if (isIP(s.peerAddress) !== 0) sessionPeers.add(unmapped(s.peerAddress));
        const host = endpointHost(s.sourceAgent);
        if (host) sessionPeers.add(host);
      }
    }
    return sessionPeers.has(a) || o.probed.has(a, o.now?.()) || o.configured.check(a, familyOf(a));
  };
}

/** The echo responder's address: the listen host when it is a concrete address; for a wildcard listen
 *  (0.0.0.0 or ::), `--echo-address` when given, else the source address of this host's default route (the
 *  address its packets to the rest of the network carry, found with a connected UDP socket that sends
 *  nothing). undefined when there is none: the daemon then runs without a responder and says so. */
export async function chooseEchoAddress(
  listenHost: string,
  explicit: string | undefined,
  localAddressTowards: (peer: string) => Promise<string>,
): Promise<{ address?: string; why: string }> {
  if (explicit) {
    if (isIP(explicit) === 0 || explicit === "0.0.0.0" || explicit === "::") {
      throw new Error(`--echo-address: '${explicit}' must be one concrete IPv4 or IPv6 address of this host`);
    }
    return { address: explicit, why: "--echo-address" };
  }
  if (listenHost !== "0.0.0.0" && listenHost !== "::")
    return { address: listenHost, why: "the listen address" };
  // TEST-NET addresses (RFC 5737, RFC 3849): routed by the default route, never sent to. A "::" listener
  // takes IPv4 too: its IPv6 default route first, then the IPv4 one.
  const probes = listenHost === "::" ? ["2001:db8::1", "192.0.2.1"] : ["192.0.2.1"];
  const errors: string[] = [];
  for (const probe of probes) {
    try {
      const address = await localAddressTowards(probe);
      return { address, why: `the source address of the default route (listen is ${listenHost})` };
    } catch (err) {
      errors.push(`towards ${probe}: ${(err as Error).message}`);
    }
  }
  return {
    why: `listen is ${listenHost} and there is no default route to choose an address from (${errors.join("; ")}): give --echo-address`,
  };
}
