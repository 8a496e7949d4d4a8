// The DNS and ECMP parts of a blend: the server list that keeps both sides (at most 3 servers, as
// resolv.conf honours) and the nexthop weights of the default route.
import { ipFamily, type Persona } from "../persona/schema";

type Dns = NonNullable<Persona["dns"]>;
type Routes = NonNullable<Persona["routes"]>;

export interface EcmpNexthopPlan {
  via: string;
  dev?: string;
  /** Whole number, 1..100 (the kernel takes 1..256); the two weights are reduced by their common divisor. */
  weight: number;
  side: "source" | "target";
}

const MAX_SERVERS = 3;
const MAX_SEARCH = 6;

function interleave(lead: readonly string[], other: readonly string[], max: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(lead.length, other.length); i++) {
    for (const v of [lead[i], other[i]]) if (v !== undefined && !out.includes(v)) out.push(v);
  }
  return out.slice(0, max);
}

/** At w = 0 the source's DNS, at w = 1 the target's; in between both lists, interleaved with the leading
 *  side first (the target from w = 1/2 on), at most 3 servers and 6 search domains. */
export function dnsBlend(source: Dns | undefined, target: Dns | undefined, w: number): Dns | undefined {
  const pick = w >= 0.5 ? target : source;
  if (w === 0 || w === 1 || !source || !target) return pick && structuredClone(pick);
  const [lead, other] = w >= 0.5 ? [target, source] : [source, target];
  return {
    servers: interleave(lead.servers, other.servers, MAX_SERVERS),
    search: [...new Set([...lead.search, ...other.search])].slice(0, MAX_SEARCH),
    options: [...lead.options],
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Weighted nexthops over both preferred gateways: the target's weight is round(100·w) against the
 *  source's 100 − that, reduced (0.25 → source 3, target 1). A side of weight 0 is left out. */
export function ecmpBlend(
  source: Routes | undefined,
  target: Routes | undefined,
  w: number,
): EcmpNexthopPlan[] | undefined {
  const a = source?.preferredGateway;
  const b = target?.preferredGateway;
  if (!a || !b || ipFamily(a) !== ipFamily(b)) return undefined;
  const hop = (side: "source" | "target", via: string, dev: string | undefined, weight: number) => ({
    via,
    ...(dev !== undefined && { dev }),
    weight,
    side,
  });
  const sDev = source?.preferredDevice;
  const tDev = target?.preferredDevice;
  const tw = Math.round(w * 100);
  const sw = 100 - tw;
  if (a === b && sDev === tDev) return [hop(w >= 0.5 ? "target" : "source", a, sDev, 1)];
  if (tw === 0) return [hop("source", a, sDev, 1)];
  if (sw === 0) return [hop("target", b, tDev, 1)];
  const g = gcd(sw, tw);
  return [hop("source", a, sDev, sw / g), hop("target", b, tDev, tw / g)];
}
