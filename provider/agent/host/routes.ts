// The route model: reads the main routing table (JSON plus the `lock` flags that only the text form shows),
// renders a route back into an `ip route replace` argument vector, and keys routes the way the kernel does.
import { run } from "../../util/exec";

/** The protocol number the agent stamps on routes it creates (0x4e, "N"): they are the agent's to remove. */
export const NETPERSONA_PROTO = "78";

export interface Nexthop {
  gateway?: string;
  dev?: string;
  weight: number;
  flags: string[];
}

export interface Route {
  family: 4 | 6;
  type: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  pref?: string;
  flags: string[];
  /** Route metrics by `ip route` keyword (mtu, congctl, advmss, ...). */
  metrics: Record<string, number | string>;
  /** Route metrics that carry `lock`. */
  locks: string[];
  nexthops?: Nexthop[];
  /** Attributes the model cannot render back (the route can be read but not rewritten). */
  unsupported: string[];
}

/** JSON metric names of `ip -j route` → the keyword `ip route` takes. */
const METRIC_KEYWORDS: Record<string, string> = {
  mtu: "mtu",
  congestion: "congctl",
  advmss: "advmss",
  window: "window",
  hoplimit: "hoplimit",
  initcwnd: "initcwnd",
  initrwnd: "initrwnd",
  reordering: "reordering",
  ssthresh: "ssthresh",
  cwnd: "cwnd",
  quickack: "quickack",
};
/** Flags that describe the kernel's view of the route, not something a command sets. */
const STATE_FLAGS = new Set(["linkdown", "dead", "offload", "trap", "rt_offload", "rt_trap"]);
const KNOWN_FIELDS = new Set(
  "type dst gateway dev protocol scope prefsrc metric pref flags metrics nexthops".split(" "),
);

type Json = Record<string, unknown>;

/** The kernel prints a host route without its length (`10.0.0.1`); personas write it as `10.0.0.1/32`. */
function hostPrefix(dst: string, family: 4 | 6): string {
  return dst === "default" || dst.includes("/") ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

function parseRoute(family: 4 | 6, j: Json, lockLine: string): Route {
  const unsupported = Object.keys(j).filter((k) => !KNOWN_FIELDS.has(k));
  const metrics: Record<string, number | string> = {};
  for (const m of (j.metrics as Json[] | undefined) ?? []) {
    for (const [k, v] of Object.entries(m)) {
      const kw = METRIC_KEYWORDS[k];
      if (kw && (typeof v === "number" || typeof v === "string")) metrics[kw] = v;
      else unsupported.push(`metric ${k}`);
    }
  }
  const locks = [...lockLine.matchAll(/\b([a-z_]+) lock\b/g)].map((m) => m[1]).filter((k) => k in metrics);
  const flags = ((j.flags as string[] | undefined) ?? []).filter((f) => !STATE_FLAGS.has(f));
  const nexthops = (j.nexthops as Json[] | undefined)?.map((n) => ({
    ...(typeof n.gateway === "string" && { gateway: n.gateway }),
    ...(typeof n.dev === "string" && { dev: n.dev }),
    weight: typeof n.weight === "number" ? n.weight : 1,
    flags: ((n.flags as string[] | undefined) ?? []).filter((f) => !STATE_FLAGS.has(f)),
  }));
  return {
    family,
    type: typeof j.type === "string" ? j.type : "unicast",
    dst: hostPrefix(String(j.dst), family),
    ...(typeof j.gateway === "string" && { gateway: j.gateway }),
    ...(typeof j.dev === "string" && { dev: j.dev }),
    ...(typeof j.protocol === "string" && { protocol: j.protocol }),
    ...(typeof j.scope === "string" && { scope: j.scope }),
    ...(typeof j.prefsrc === "string" && { prefsrc: j.prefsrc }),
    ...(typeof j.metric === "number" && { metric: j.metric }),
    ...(typeof j.pref === "string" && { pref: j.pref }),
    flags,
    metrics,
    locks: [...new Set(locks)].sort(),
    ...(nexthops && { nexthops }),
    unsupported,
  };
}

/** Reads the main table of one family: `ip -j -d route show table main`, plus the text form for `lock`. */
export async function readRoutes(family: 4 | 6, netns?: string): Promise<Route[]> {
  const fam = family === 4 ? "-4" : "-6";
  const [j, t] = await Promise.all([
    run(["ip", fam, "-j", "-d", "route", "show", "table", "main"], { netns }),
    run(["ip", fam, "-d", "route", "show", "table", "main"], { netns }),
  ]);
  return parseRoutes(family, j.stdout, t.stdout);
}

/** The routes of one family from `ip -j -d route show` (`json`) and its text form (`text`, which alone shows
 *  `lock`). */
export function parseRoutes(family: 4 | 6, json: string, text: string): Route[] {
  const entries = JSON.parse(json || "[]") as Json[];
  // One text block per route: a first line, then indented `nexthop` lines; same order as the JSON.
  const blocks = text.split("\n").filter((l) => l.trim() !== "" && !/^\s/.test(l));
  if (blocks.length !== entries.length) {
    throw new Error(
      `ip route: ${entries.length} JSON routes but ${blocks.length} text routes; cannot pair them`,
    );
  }
  return entries.map((e, i) => parseRoute(family, e, blocks[i]));
}

/** The kernel's identity of a route in the main table: family, destination, metric. */
export function routeKey(r: Pick<Route, "family" | "dst" | "metric">): string {
  const metric = r.metric ?? (r.family === 6 ? 1024 : 0);
  return `${r.family}|${r.dst}|${metric}`;
}

function metricArgs(r: Route): string[] {
  const out: string[] = [];
  for (const kw of Object.keys(r.metrics).sort()) {
    out.push(kw, ...(r.locks.includes(kw) ? ["lock"] : []), String(r.metrics[kw]));
  }
  return out;
}

/** The `ip route replace` argument vector that recreates `r` exactly. Throws when it cannot. */
export function renderRoute(r: Route, verb: "replace" | "del" = "replace"): string[] {
  if (r.unsupported.length > 0) {
    throw new Error(`route ${r.dst}: cannot rewrite it exactly (unsupported: ${r.unsupported.join(", ")})`);
  }
  const argv = ["ip", r.family === 4 ? "-4" : "-6", "route", verb, r.type, r.dst];
  if (verb === "del") return [...argv, ...(r.metric !== undefined ? ["metric", String(r.metric)] : [])];
  if (r.gateway) argv.push("via", r.gateway);
  if (r.dev) argv.push("dev", r.dev);
  if (r.protocol) argv.push("proto", r.protocol);
  if (r.scope) argv.push("scope", r.scope);
  if (r.prefsrc) argv.push("src", r.prefsrc);
  if (r.metric !== undefined) argv.push("metric", String(r.metric));
  if (r.pref) argv.push("pref", r.pref);
  argv.push(...metricArgs(r));
  for (const f of r.flags) argv.push(f);
  for (const n of r.nexthops ?? []) {
    argv.push("nexthop");
    if (n.gateway) argv.push("via", n.gateway);
    if (n.dev) argv.push("dev", n.dev);
    argv.push("weight", String(n.weight), ...n.flags);
  }
  return argv;
}

/** True when the `current` route has every attribute `desired` sets; attributes `desired` leaves out (a device
 *  the kernel picks, the scope it defaults to) are not compared. Metrics, locks, flags and nexthops must match. */
export function routeSatisfies(current: Route, desired: Route): boolean {
  if (routeKey(current) !== routeKey(desired) || current.type !== desired.type) return false;
  for (const k of ["gateway", "dev", "protocol", "scope", "prefsrc", "pref"] as const) {
    if (desired[k] !== undefined && current[k] !== desired[k]) return false;
  }
  if (canon(current.metrics) !== canon(desired.metrics)) return false;
  if (canon([...current.locks].sort()) !== canon([...desired.locks].sort())) return false;
  if (canon([...current.flags].sort()) !== canon([...desired.flags].sort())) return false;
  const cn = current.nexthops ?? [];
  const dn = desired.nexthops ?? [];
  if (cn.length !== dn.length) return false;
  return dn.every(
    (n, i) =>
      cn[i].weight === n.weight &&
      (n.gateway === undefined || cn[i].gateway === n.gateway) &&
      (n.dev === undefined || cn[i].dev === n.dev),
  );
}

/** True when two routes are identical for every attribute the model reads. */
export function sameRoute(a: Route, b: Route): boolean {
  return routeSatisfies(a, b) && routeSatisfies(b, a);
}

function canon(v: unknown): string {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return JSON.stringify(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  }
  return JSON.stringify(v);
}

/** The primary IPv4 default route: the one with the lowest metric. */
export function primaryDefault(routes: readonly Route[]): Route | undefined {
  return routes
    .filter((r) => r.family === 4 && r.dst === "default" && r.type === "unicast")
    .sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
}
