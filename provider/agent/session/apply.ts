// Puts an engine blend plan on the host for real: at weight 0 or 1 the plan is one persona (a plain apply);
// in between, traffic is split: weighted ECMP nexthops when the gateways differ, the target QoS class on a
// flow-consistent share of TCP flows, the target congestion control on the plan's target routes (per-route
// congctl), and the rest (stepped MTU, blended DNS, routes) as a persona view through HostController.apply.
import type { BlendPlan } from "../../engine";
import type { CongestionControl, Persona } from "../../persona/schema";
import { VerifyError, type Action } from "../host/actions";
import type { PlanStep } from "../host/api";
import type { NetpersonaHostController } from "../host/controller";
import { routeActions } from "../host/route-applier";
import { primaryDefault, readRoutes, routeSatisfies, type Route } from "../host/routes";

type CcPlan = NonNullable<BlendPlan["congestionControl"]>;

/** True when the plan's congestion control differs between the route groups. */
function ccSplits(cc: BlendPlan["congestionControl"]): cc is CcPlan {
  return cc !== undefined && cc.source !== cc.target;
}

/** The persona the plan puts on the host through a plain apply; the split parts are left out of it. */
export function personaView(plan: BlendPlan): Persona {
  const view: Persona = structuredClone(plan.persona);
  if (plan.weight === 0 || plan.weight === 1) return view;
  if (plan.qos) delete view.qos;
  if (ccSplits(plan.congestionControl)) delete view.congestionControl;
  if (plan.ecmp && plan.ecmp.length > 1 && view.routes) {
    const { preferredGateway: _g, preferredDevice: _d, ...rest } = view.routes;
    view.routes = rest;
  }
  return view;
}

function findRoute(routes: readonly Route[], key: string): Route | undefined {
  if (key === "default") return primaryDefault(routes);
  return routes.find((r) => r.dst === key || `${r.dst}/32` === key || `${r.dst}/128` === key);
}

/** The routes of `keys` with `congctl alg` (or without congctl when `alg` is undefined). */
function withCc(
  routes: readonly Route[],
  keys: readonly string[],
  alg: CongestionControl | undefined,
): Route[] {
  return keys.flatMap((k) => {
    const r = findRoute(routes, k);
    if (!r) return [];
    const metrics = { ...r.metrics };
    if (alg) metrics.congctl = alg;
    else delete metrics.congctl;
    return [{ ...r, metrics }];
  });
}

/** Per-route congestion control: the target algorithm on `targetRoutes`, the source's on the others. */
export async function applyRouteCc(cc: CcPlan, netns?: string): Promise<PlanStep[]> {
  const read = async () => [...(await readRoutes(4, netns)), ...(await readRoutes(6, netns))];
  const want = (routes: Route[]) => [
    ...withCc(routes, cc.targetRoutes, cc.target),
    ...withCc(routes, cc.sourceRoutes, cc.source),
  ];
  const before = await read();
  const actions: Action[] = routeActions(want(before), before, netns);
  for (const a of actions) await a.run();
  const after = await read();
  const left = want(after).filter((d) => {
    const cur = findRoute(after, d.dst === "default" ? "default" : d.dst);
    return !cur || !routeSatisfies(cur, d);
  });
  if (left.length > 0) {
    throw new VerifyError(
      left.map((r) => ({ field: "congestionControl", description: `congctl on ${r.dst}`, command: [] })),
    );
  }
  return actions.map((a) => a.step);
}

/** Applies the plan and returns the kernel steps that ran (empty when the host already matched). */
export async function applyPlan(host: NetpersonaHostController, plan: BlendPlan): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  steps.push(...(await host.apply(personaView(plan))).steps);
  if (plan.weight === 0 || plan.weight === 1) return steps;
  if (plan.ecmp && plan.ecmp.length > 1) {
    const hops = plan.ecmp.map((n) => ({
      via: n.via,
      ...(n.dev !== undefined && { dev: n.dev }),
      weight: n.weight,
    }));
    steps.push(...(await host.applyEcmp(hops)).steps);
  }
  if (plan.qos) {
    const { source, target, targetSharePct: share } = plan.qos;
    // One class per table: the target class on `share`% of TCP flows; the other flows keep their own marks
    // (with a source class other than standard, they are left unmarked until the target takes over).
    const q = share >= 100 ? target : share > 0 && target ? target : source;
    const pct = q === target && share > 0 ? Math.min(100, share) : 100;
    steps.push(...(await host.applyQos(q, pct)).steps);
  }
  if (ccSplits(plan.congestionControl))
    steps.push(...(await applyRouteCc(plan.congestionControl, host.netns)));
  return steps;
}
