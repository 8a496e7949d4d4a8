// Weighted blending of the source persona and the (tuned) shadow persona, as a plan that splits real
// traffic: weighted ECMP nexthops, a flow-hash share of DSCP marks, the target congestion control on a share
// of the routes, an MTU stepped from source to target, and DNS with the target servers first past w = 1/2.
// At w = 0 the plan is the source, at w = 1 the target (both capped by a measured path MTU).
import { MTU_MIN, type CongestionControl, type Persona } from "../persona/schema";
import { dnsBlend, ecmpBlend, type EcmpNexthopPlan } from "./blend-parts";

type Qos = NonNullable<Persona["qos"]>;
type Side = "source" | "target";

export interface BlendOptions {
  /** Path MTU the probes measured (0 or absent: not measured); the MTU never goes above it. */
  pathMtu?: number;
  /** MTU assumed for a side whose persona leaves the MTU unset (default 1500). */
  assumedLinkMtu?: number;
}

export interface BlendPlan {
  weight: number;
  /** The side whose routes, DNS order, QoS class and congestion control the persona view takes (w ≥ 1/2: target). */
  leader: Side;
  /** The blend as one persona (validatePersona ok): what a plain apply puts on the host. */
  persona: Persona;
  /** Default route over both preferred gateways, weights from w (only when both sides name a gateway). */
  ecmp?: EcmpNexthopPlan[];
  /** nftables marks `targetSharePct`% of flows (jhash of the 5-tuple) with the target class, the rest with the source's. */
  qos?: { source?: Qos; target?: Qos; targetSharePct: number };
  /** Per-route congctl: `targetRoutes` get the target algorithm ("default" is the default route), the others keep the source's. */
  congestionControl?: {
    source?: CongestionControl;
    target?: CongestionControl;
    targetRoutes: string[];
    sourceRoutes: string[];
  };
  mtu?: { value: number; source: number; target: number; cappedByPathMtu: boolean };
  dns?: NonNullable<Persona["dns"]>;
}

export function checkWeight(w: number): number {
  if (!Number.isFinite(w) || w < 0 || w > 1) throw new RangeError(`blend weight ${w} must lie in [0, 1]`);
  return w;
}

/** Route keys in the order they move to the target: extra prefixes (sorted), the default route last. */
export function routeKeys(source: Persona, target: Persona): string[] {
  const prefixes = new Set(
    [...(source.routes?.prefixes ?? []), ...(target.routes?.prefixes ?? [])].map((h) => h.prefix),
  );
  return [...[...prefixes].sort(), "default"];
}

function mtuBlend(source: Persona, target: Persona, w: number, opts: BlendOptions): BlendPlan["mtu"] {
  if ((w === 0 && source.mtu === undefined) || (w === 1 && target.mtu === undefined)) return undefined;
  if (source.mtu === undefined && target.mtu === undefined) return undefined;
  const assumed = opts.assumedLinkMtu ?? 1500;
  const s = source.mtu ?? assumed;
  const t = target.mtu ?? assumed;
  const stepped = Math.floor(s + (t - s) * w);
  const pmtu = opts.pathMtu ?? 0;
  const capped = pmtu > 0 && pmtu < stepped;
  return { value: Math.max(MTU_MIN, capped ? pmtu : stepped), source: s, target: t, cappedByPathMtu: capped };
}

function ccBlend(source: Persona, target: Persona, w: number): BlendPlan["congestionControl"] {
  const s = source.congestionControl;
  const t = target.congestionControl;
  if (s === undefined && t === undefined) return undefined;
  const keys = routeKeys(source, target);
  const k = s === t ? keys.length : Math.round(w * keys.length);
  return { source: s, target: t, targetRoutes: keys.slice(0, k), sourceRoutes: keys.slice(k) };
}

function qosBlend(source: Persona, target: Persona, w: number): BlendPlan["qos"] {
  if (!source.qos && !target.qos) return undefined;
  const same = JSON.stringify(source.qos) === JSON.stringify(target.qos);
  return { source: source.qos, target: target.qos, targetSharePct: same ? 100 : Math.round(w * 100) };
}

/** The blend of `source` and `target` at weight `w` in [0, 1]. Both personas must be normalised. */
export function blend(source: Persona, target: Persona, w: number, opts: BlendOptions = {}): BlendPlan {
  checkWeight(w);
  const leader: Side = w >= 0.5 ? "target" : "source";
  const lead = leader === "target" ? target : source;
  const mtu = mtuBlend(source, target, w, opts);
  const dns = dnsBlend(source.dns, target.dns, w);
  const persona: Persona = { mtuScope: lead.mtuScope };
  if (lead.congestionControl) persona.congestionControl = lead.congestionControl;
  if (mtu) persona.mtu = mtu.value;
  if (lead.qos) persona.qos = { ...lead.qos };
  if (dns) persona.dns = dns;
  if (lead.routes) persona.routes = structuredClone(lead.routes);
  const plan: BlendPlan = { weight: w, leader, persona };
  const ecmp = ecmpBlend(source.routes, target.routes, w);
  if (ecmp) plan.ecmp = ecmp;
  const qos = qosBlend(source, target, w);
  if (qos) plan.qos = qos;
  const cc = ccBlend(source, target, w);
  if (cc) plan.congestionControl = cc;
  if (mtu) plan.mtu = mtu;
  if (dns) plan.dns = dns;
  return plan;
}
