// Routes, per-route congestion control and per-route MTU: the default route and the hinted prefixes.
// The merged routes are the desired persona applied over the current ones, so every attribute the persona does
// not set is kept.
import { isIP } from "node:net";

import type { Persona } from "../../persona/schema";
import { checkIfname } from "../../util/names";
import { commandAction, type Action } from "./actions";
import {
  NETPERSONA_PROTO,
  primaryDefault,
  renderRoute,
  routeKey,
  routeSatisfies,
  type Route,
} from "./routes";

/** A default route the agent creates when there is none: IPv4, its own protocol, nothing else set. */
const newDefault = (): Route => ({
  family: 4,
  type: "unicast",
  dst: "default",
  protocol: NETPERSONA_PROTO,
  flags: [],
  metrics: {},
  locks: [],
  unsupported: [],
});

/** Sets the desired persona's congctl and `mtu lock` on a route's metrics. */
function withPersonaMetrics(r: Route, desired: Persona): Route {
  const metrics = { ...r.metrics };
  const locks = new Set(r.locks);
  if (desired.congestionControl) metrics.congctl = desired.congestionControl;
  if (desired.mtu !== undefined && desired.mtuScope !== "link") {
    metrics.mtu = desired.mtu;
    locks.add("mtu");
  }
  return { ...r, metrics, locks: [...locks].sort() };
}

function touchesDefault(desired: Persona): boolean {
  const r = desired.routes;
  return (
    desired.congestionControl !== undefined ||
    (desired.mtu !== undefined && desired.mtuScope !== "link") ||
    r?.preferredGateway !== undefined ||
    r?.preferredDevice !== undefined ||
    r?.metric !== undefined
  );
}

/** The merged default route (the desired persona over the current one), or undefined when the persona leaves
 *  the default route alone. */
export function mergedDefault(desired: Persona, current: readonly Route[]): Route | undefined {
  if (!touchesDefault(desired)) return undefined;
  const currentDefault = primaryDefault(current);
  const r = desired.routes ?? { prefixes: [] };
  const moves = r.preferredGateway !== undefined || r.preferredDevice !== undefined;
  // No default route to carry congctl or mtu: the sysctl/link cover it.
  if (!currentDefault && !moves) return undefined;
  const base: Route = currentDefault ?? newDefault();
  const next: Route = { ...base, metric: r.metric ?? base.metric };
  if (moves) {
    const sameGateway = r.preferredGateway === undefined || r.preferredGateway === base.gateway;
    next.gateway = r.preferredGateway ?? (r.preferredDevice !== undefined ? undefined : base.gateway);
    next.dev = r.preferredDevice ?? (sameGateway ? base.dev : undefined);
    if (next.dev !== base.dev) delete next.prefsrc;
    delete next.nexthops;
  }
  return withPersonaMetrics(next, desired);
}

/** The merged hinted prefix routes: the desired persona's prefixes, sent through the preferred gateway or the
 *  merged default's gateway (of the prefix's own family) when they name neither their own nor a device. */
export function mergedPrefixes(desired: Persona, current: readonly Route[]): Route[] {
  const hints = desired.routes?.prefixes ?? [];
  const def = mergedDefault(desired, current) ?? primaryDefault(current);
  return hints.map((h) => {
    const family = h.prefix.includes(":") ? 6 : 4;
    const ofFamily = (gw: string | undefined) => (gw !== undefined && isIP(gw) === family ? gw : undefined);
    if (h.via !== undefined && !ofFamily(h.via)) {
      throw new Error(`routes.prefixes ${h.prefix}: via ${h.via} is not an IPv${family} address`);
    }
    const via =
      h.via ?? ofFamily(desired.routes?.preferredGateway) ?? (h.dev ? undefined : ofFamily(def?.gateway));
    if (!via && !h.dev) {
      throw new Error(
        family === 6
          ? `routes.prefixes ${h.prefix}: no IPv6 gateway to send it to: set its 'via' (an IPv6 address) or 'dev'`
          : `routes.prefixes ${h.prefix}: no gateway to send it to: set its 'via' or 'dev', or routes.preferredGateway`,
      );
    }
    const route: Route = {
      family,
      type: "unicast",
      dst: h.prefix,
      ...(via && { gateway: via }),
      ...(h.dev && { dev: h.dev }),
      protocol: NETPERSONA_PROTO,
      ...(h.metric !== undefined && { metric: h.metric }),
      flags: [],
      metrics: {},
      locks: [],
      unsupported: [],
    };
    return withPersonaMetrics(route, desired);
  });
}

/** Replace-then-delete actions that turn the `current` routes into the `merged` ones; `drop` lists routes to
 *  remove (a default route that moved to another metric, the agent's own prefix routes the persona no longer
 *  lists). */
export function routeActions(
  merged: readonly Route[],
  current: readonly Route[],
  netns: string | undefined,
  drop: readonly Route[] = [],
): Action[] {
  const byKey = new Map(current.map((r) => [routeKey(r), r]));
  const actions: Action[] = [];
  for (const m of merged) {
    const c = byKey.get(routeKey(m));
    if (c && routeSatisfies(c, m)) continue;
    actions.push(commandAction("routes", describeRouteChange(c, m), renderRoute(m), netns));
  }
  for (const r of drop) {
    actions.push(commandAction("routes", `remove ${routeName(r)}`, renderRoute(r, "del"), netns));
  }
  return actions;
}

function routeName(r: Route): string {
  return `route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}${r.metric !== undefined ? ` metric ${r.metric}` : ""}`;
}

/** One route metric as `ip route` writes it: "mtu lock 1400", "congctl bbr"; "" when unset. */
function metricText(r: Route | undefined, kw: string): string {
  const v = r?.metrics[kw];
  return v === undefined ? "" : `${kw}${r!.locks.includes(kw) ? " lock" : ""} ${v}`;
}

/** What a route action changes, as a reviewer reads it: "change route default via 10.0.1.1: mtu lock 1400 →
 *  mtu lock 1360, congctl cubic → congctl bbr", or "add route 10.9.0.0/16 via 10.0.1.1: congctl bbr". */
export function describeRouteChange(current: Route | undefined, merged: Route): string {
  const kws = [...new Set([...Object.keys(merged.metrics), ...Object.keys(current?.metrics ?? {})])].sort();
  if (!current) {
    const attrs = kws.map((kw) => metricText(merged, kw)).filter(Boolean);
    return `add ${routeName(merged)}${attrs.length > 0 ? `: ${attrs.join(", ")}` : ""}`;
  }
  const parts: string[] = [];
  for (const [k, label] of [
    ["gateway", "via"],
    ["dev", "dev"],
    ["metric", "metric"],
  ] as const) {
    if (merged[k] !== undefined && current[k] !== merged[k]) {
      parts.push(`${label} ${current[k] ?? "(none)"} → ${merged[k]}`);
    }
  }
  for (const kw of kws) {
    const [a, b] = [metricText(current, kw), metricText(merged, kw)];
    if (a !== b) parts.push(`${a || `${kw} (unset)`} → ${b || `${kw} (unset)`}`);
  }
  const hops = (r: Route) =>
    (r.nexthops ?? []).map((n) => `${n.gateway ?? n.dev} weight ${n.weight}`).join(" + ");
  if (hops(current) !== hops(merged)) {
    parts.push(`nexthops ${hops(current) || "(none)"} → ${hops(merged) || "(none)"}`);
  }
  return `change ${routeName(current)}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

/** Everything the desired persona changes in the current routing table. */
export function planRoutes(desired: Persona, current: readonly Route[], netns?: string): Action[] {
  const def = mergedDefault(desired, current);
  const merged = [...(def ? [def] : []), ...mergedPrefixes(desired, current)];
  const keep = new Set(merged.map(routeKey));
  const drop: Route[] = [];
  const currentDefault = primaryDefault(current);
  // The default route moved to a new metric: the old one goes.
  if (def && currentDefault && routeKey(currentDefault) !== routeKey(def)) drop.push(currentDefault);
  if (desired.routes) {
    for (const r of current) {
      if (r.protocol === NETPERSONA_PROTO && r.dst !== "default" && !keep.has(routeKey(r))) drop.push(r);
    }
  }
  return routeActions(merged, current, netns, drop);
}

export interface EcmpNexthop {
  via: string;
  dev?: string;
  /** 1-256 */
  weight: number;
}

/** Refuses nexthops that `ip route` cannot take: 1 to 16 of them, IPv4 gateways, weights 1-256. */
export function checkEcmp(nexthops: readonly EcmpNexthop[]): void {
  if (nexthops.length < 1 || nexthops.length > 16) throw new Error("ecmp: give 1 to 16 nexthops");
  for (const n of nexthops) {
    if (isIP(n.via) !== 4) throw new Error(`ecmp: '${n.via}' is not an IPv4 gateway address`);
    if (n.dev !== undefined) checkIfname("ecmp dev", n.dev);
    if (!Number.isInteger(n.weight) || n.weight < 1 || n.weight > 256) {
      throw new Error(`ecmp: weight ${n.weight} of ${n.via} must be a whole number from 1 to 256`);
    }
  }
}

/** Weighted ECMP on the default route, for blending: the `desired` nexthops over the current default route,
 *  whose other attributes are kept. */
export function planEcmp(
  desired: readonly EcmpNexthop[],
  current: readonly Route[],
  netns?: string,
): Action[] {
  checkEcmp(desired);
  const merged: Route = { ...(primaryDefault(current) ?? newDefault()) };
  delete merged.prefsrc;
  if (desired.length === 1) {
    merged.gateway = desired[0].via;
    if (desired[0].dev) merged.dev = desired[0].dev;
    else delete merged.dev;
    delete merged.nexthops;
  } else {
    delete merged.gateway;
    delete merged.dev;
    merged.nexthops = desired.map((n) => ({
      gateway: n.via,
      ...(n.dev && { dev: n.dev }),
      weight: n.weight,
      flags: [],
    }));
  }
  return routeActions([merged], current, netns);
}
