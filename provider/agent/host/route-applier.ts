// Routes, per-route congestion control and per-route MTU: the default route and the hinted prefixes.
// Desired routes are computed from the live ones, so every attribute the persona does not set is kept.
import type { Persona } from "../../persona/schema";
import { commandAction, type Action } from "./actions";
import {
  NETPERSONA_PROTO,
  primaryDefault,
  renderRoute,
  routeKey,
  routeSatisfies,
  type Route,
} from "./routes";

/** Sets the persona's congctl and `mtu lock` on a route's metrics. */
function withPersonaMetrics(r: Route, p: Persona): Route {
  const metrics = { ...r.metrics };
  const locks = new Set(r.locks);
  if (p.congestionControl) metrics.congctl = p.congestionControl;
  if (p.mtu !== undefined && p.mtuScope !== "link") {
    metrics.mtu = p.mtu;
    locks.add("mtu");
  }
  return { ...r, metrics, locks: [...locks].sort() };
}

function touchesDefault(p: Persona): boolean {
  const r = p.routes;
  return (
    p.congestionControl !== undefined ||
    (p.mtu !== undefined && p.mtuScope !== "link") ||
    r?.preferredGateway !== undefined ||
    r?.preferredDevice !== undefined ||
    r?.metric !== undefined
  );
}

/** The default route the persona wants, or undefined when it leaves the default route alone. */
export function desiredDefault(p: Persona, routes: readonly Route[]): Route | undefined {
  if (!touchesDefault(p)) return undefined;
  const cur = primaryDefault(routes);
  const r = p.routes ?? { prefixes: [] };
  const moves = r.preferredGateway !== undefined || r.preferredDevice !== undefined;
  if (!cur && !moves) return undefined; // no default route to carry congctl or mtu: the sysctl/link cover it
  const base: Route = cur ?? {
    family: 4, type: "unicast", dst: "default", protocol: NETPERSONA_PROTO, flags: [], metrics: {}, locks: [], unsupported: [],
  }; // prettier-ignore
  const next: Route = { ...base, metric: r.metric ?? base.metric };
  if (moves) {
    const sameGateway = r.preferredGateway === undefined || r.preferredGateway === base.gateway;
    next.gateway = r.preferredGateway ?? (r.preferredDevice !== undefined ? undefined : base.gateway);
    next.dev = r.preferredDevice ?? (sameGateway ? base.dev : undefined);
    if (next.dev !== base.dev) delete next.prefsrc;
    delete next.nexthops;
  }
  return withPersonaMetrics(next, p);
}

/** The hinted prefix routes the persona wants. */
export function desiredPrefixes(p: Persona, routes: readonly Route[]): Route[] {
  const hints = p.routes?.prefixes ?? [];
  const def = desiredDefault(p, routes) ?? primaryDefault(routes);
  return hints.map((h) => {
    const via = h.via ?? p.routes?.preferredGateway ?? (h.dev ? undefined : def?.gateway);
    if (!via && !h.dev) {
      throw new Error(
        `routes.prefixes ${h.prefix}: no gateway to send it to: set its 'via' or 'dev', or routes.preferredGateway`,
      );
    }
    const route: Route = {
      family: h.prefix.includes(":") ? 6 : 4,
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
    return withPersonaMetrics(route, p);
  });
}

/** Replace-then-delete actions that turn `routes` into `desired`; `ownedPrefixes` also removes the agent's
 *  own prefix routes (protocol 78) that the persona no longer lists. */
export function routeActions(
  desired: readonly Route[],
  routes: readonly Route[],
  netns: string | undefined,
  drop: readonly Route[] = [],
): Action[] {
  const byKey = new Map(routes.map((r) => [routeKey(r), r]));
  const actions: Action[] = [];
  for (const d of desired) {
    const cur = byKey.get(routeKey(d));
    if (cur && routeSatisfies(cur, d)) continue;
    actions.push(commandAction("routes", describeRouteChange(cur, d), renderRoute(d), netns));
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
export function describeRouteChange(cur: Route | undefined, d: Route): string {
  const kws = [...new Set([...Object.keys(d.metrics), ...Object.keys(cur?.metrics ?? {})])].sort();
  if (!cur) {
    const attrs = kws.map((kw) => metricText(d, kw)).filter(Boolean);
    return `add ${routeName(d)}${attrs.length > 0 ? `: ${attrs.join(", ")}` : ""}`;
  }
  const parts: string[] = [];
  for (const [k, label] of [
    ["gateway", "via"],
    ["dev", "dev"],
    ["metric", "metric"],
  ] as const) {
    if (d[k] !== undefined && cur[k] !== d[k]) parts.push(`${label} ${cur[k] ?? "(none)"} → ${d[k]}`);
  }
  for (const kw of kws) {
    const [a, b] = [metricText(cur, kw), metricText(d, kw)];
    if (a !== b) parts.push(`${a || `${kw} (unset)`} → ${b || `${kw} (unset)`}`);
  }
  const hops = (r: Route) =>
    (r.nexthops ?? []).map((n) => `${n.gateway ?? n.dev} weight ${n.weight}`).join(" + ");
  if (hops(cur) !== hops(d)) parts.push(`nexthops ${hops(cur) || "(none)"} → ${hops(d) || "(none)"}`);
  return `change ${routeName(cur)}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

/** Everything the persona changes in the routing table. */
export function planRoutes(p: Persona, routes: readonly Route[], netns?: string): Action[] {
  const def = desiredDefault(p, routes);
  const prefixes = desiredPrefixes(p, routes);
  const desired = [...(def ? [def] : []), ...prefixes];
  const keep = new Set(desired.map(routeKey));
  const drop: Route[] = [];
  const cur = primaryDefault(routes);
  if (def && cur && routeKey(cur) !== routeKey(def)) drop.push(cur); // the default route moved to a new metric
  if (p.routes) {
    for (const r of routes) {
      if (r.protocol === NETPERSONA_PROTO && r.dst !== "default" && !keep.has(routeKey(r))) drop.push(r);
    }
  }
  return routeActions(desired, routes, netns, drop);
}

export interface EcmpNexthop {
  via: string;
  dev?: string;
  /** 1-256 */
  weight: number;
}

/** Weighted ECMP on the default route, for blending; keeps the default route's other attributes. */
export function planEcmp(
  nexthops: readonly EcmpNexthop[],
  routes: readonly Route[],
  netns?: string,
): Action[] {
  const cur = primaryDefault(routes);
  const base: Route = cur ?? {
    family: 4, type: "unicast", dst: "default", protocol: NETPERSONA_PROTO, flags: [], metrics: {}, locks: [], unsupported: [],
  }; // prettier-ignore
  const next: Route = { ...base };
  delete next.prefsrc;
  if (nexthops.length === 1) {
    next.gateway = nexthops[0].via;
    if (nexthops[0].dev) next.dev = nexthops[0].dev;
    else delete next.dev;
    delete next.nexthops;
  } else {
    delete next.gateway;
    delete next.dev;
    next.nexthops = nexthops.map((n) => ({
      gateway: n.via,
      ...(n.dev && { dev: n.dev }),
      weight: n.weight,
      flags: [],
    }));
  }
  return routeActions([next], routes, netns);
}
