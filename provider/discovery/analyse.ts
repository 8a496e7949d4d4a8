// From a sampled window to a discovery result: observed flows (ss and conntrack together), per-flow classes,
// application sessions, the per-host summary and one recommended persona per class, scoped to that class's
// flows. Pure: the evaluation and the tests feed it recorded windows.
import { validatePersona } from "../persona/validate";
import { recommendPersona, pathOf } from "./catalogue";
import { classifyFlow } from "./classify";
import type { HintOptions } from "./hints";
import { observeFlows } from "./observe";
import type { SampleWindow } from "./sampler";
import { inheritWithinSessions, summariseSessions, tieSessions, trains, type SessionTie } from "./sessions";
import {
  APP_CLASSES,
  type ClassifiedFlow,
  type DiscoveryResult,
  type Recommendation,
  type ScopeEntry,
} from "./types";

export interface AnalyseOptions extends HintOptions {
  netns?: string;
  windowMs: number;
  sampleEveryMs: number;
}

/** The exact note returned when the window carried no data (asserted by the tests). */
export function noTrafficNote(where: string, windowMs: number): string {
  return `no traffic observed on ${where} during the ${windowMs / 1000} s window: no TCP flow carried data, so there is nothing to classify and no persona is recommended`;
}

const bytesOf = (c: ClassifiedFlow) => c.features.bytesSent + c.features.bytesReceived;
/** Where a class's flows go, one entry per peer service (outbound) or own service port (inbound). */
export function scopeOf(flows: readonly ClassifiedFlow[]): ScopeEntry[] {
  const by = new Map<string, ScopeEntry>();
  for (const f of flows) {
    const out = f.features.direction === "outbound";
    const port = out ? f.key.remotePort : f.features.servicePort;
    const id = `${f.features.direction}|${f.key.protocol}|${out ? f.key.remoteAddress : ""}|${port}`;
    const e = by.get(id) ?? {
      direction: f.features.direction,
      protocol: f.key.protocol,
      ...(out && { address: f.key.remoteAddress }),
      port,
      flows: 0,
      bytes: 0,
    };
    e.flows++;
    e.bytes += bytesOf(f);
    by.set(id, e);
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes);
}

export function describeScope(scope: readonly ScopeEntry[], max = 6): string {
  const one = (e: ScopeEntry) =>
    `${e.direction} ${e.protocol} ${e.address ? `to ${e.address}:${e.port}` : `port ${e.port}`} (${e.flows} flow${e.flows === 1 ? "" : "s"})`;
  const shown = scope.slice(0, max).map(one);
  if (scope.length > max) shown.push(`${scope.length - max} more`);
  return shown.join(", ");
}

export function analyse(w: SampleWindow, opts: AnalyseOptions): DiscoveryResult {
  const where = opts.netns ? `namespace ${opts.netns}` : "this host";
  const observed = observeFlows(w).filter((o) => o.features.bytesSent + o.features.bytesReceived > 0);
  const ties = tieSessions(observed);
  const trainOf = trains(observed, ties);
  const classified = observed.map((o, i) => ({
    ...classifyFlow(o.key, o.features, opts, trainOf.get(ties[i].id)),
    session: ties[i].id,
  }));
  const flows = inheritWithinSessions(classified).sort((a, b) => bytesOf(b) - bytesOf(a));
  const tieById = new Map<string, SessionTie>(ties.map((t) => [t.id, t]));
  const sessions = summariseSessions(flows, tieById);
  const bytesInFlows = flows.reduce((a, c) => a + bytesOf(c), 0);
  const classes = APP_CLASSES.map((applicationClass) => {
    const of = flows.filter((c) => c.applicationClass === applicationClass);
    const bytes = of.reduce((a, c) => a + bytesOf(c), 0);
    return { applicationClass, flows: of.length, bytes, byteShare: bytesInFlows ? bytes / bytesInFlows : 0 };
  }).filter((c) => c.flows > 0);
  const dominant = [...classes].sort((a, b) => b.bytes - a.bytes)[0]?.applicationClass;
  const summary = {
    ...(opts.netns && { netns: opts.netns }),
    windowMs: opts.windowMs,
    sampleEveryMs: opts.sampleEveryMs,
    samples: w.times.length,
    flowsSeen: w.flows.length,
    flowsWithData: flows.length,
    bytesInFlows,
    interfaceBytes: w.interfaceBytes,
    classes,
    ...(dominant && { dominantClass: dominant }),
    connectionsTracked: w.connections.length,
    ...(w.conntrackNote && { conntrackNote: w.conntrackNote }),
    coverage: [] as string[],
  };
  if (flows.length === 0) {
    return { flows, sessions, summary, recommendations: [], note: noTrafficNote(where, opts.windowMs) };
  }
  const recommendations: Recommendation[] = [];
  for (const c of classes) {
    if (c.applicationClass === "other") continue;
    const of = flows.filter((f) => f.applicationClass === c.applicationClass);
    const { persona, reason } = recommendPersona(c.applicationClass, pathOf(of));
    const v = validatePersona(persona);
    if (!v.ok)
      throw new Error(
        `catalogue persona for ${c.applicationClass} is invalid: ${JSON.stringify(v.failures)}`,
      );
    const scope = scopeOf(of);
    const covers = describeScope(scope);
    recommendations.push({
      applicationClass: c.applicationClass,
      persona: v.value,
      flowCount: c.flows,
      reason,
      scope,
      covers,
    });
    const p = v.value;
    summary.coverage.push(
      `${c.applicationClass} persona (${[p.congestionControl, p.qos?.class, p.mtu && `mtu ${p.mtu}`].filter(Boolean).join(", ")}) covers ${covers}`,
    );
  }
  return { flows, sessions, summary, recommendations };
}
