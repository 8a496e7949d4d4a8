// From a sampled window to a discovery result: features, classes, the side-connection rule, the per-host
// summary and one recommended persona per class. Pure: the evaluation and the tests feed it recorded windows.
import { validatePersona } from "../persona/validate";
import { recommendPersona, pathOf } from "./catalogue";
import { classifyFlow } from "./classify";
import { flowFeatures } from "./features";
import type { HintOptions } from "./hints";
import type { SampleWindow } from "./sampler";
import { APP_CLASSES, type ClassifiedFlow, type DiscoveryResult, type Recommendation } from "./types";

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

/** A connection carrying under 2% of what its process exchanged with the same peer service, where one class
 *  carries 90% or more, is a side connection of that application (iperf3's control channel, an idle
 *  keep-alive connection) and takes its class. */
export function applySideConnections(flows: ClassifiedFlow[]): ClassifiedFlow[] {
  const groups = new Map<string, ClassifiedFlow[]>();
  for (const c of flows) {
    const g = `${c.features.process ?? "?"}|${c.key.remoteAddress}|${c.features.servicePort}`;
    groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  return flows.map((c) => {
    const group =
      groups.get(`${c.features.process ?? "?"}|${c.key.remoteAddress}|${c.features.servicePort}`) ?? [];
    const total = group.reduce((a, x) => a + bytesOf(x), 0);
    if (group.length < 2 || total === 0 || bytesOf(c) >= 0.02 * total) return c;
    const byClass = new Map<string, number>();
    for (const x of group)
      byClass.set(x.applicationClass, (byClass.get(x.applicationClass) ?? 0) + bytesOf(x));
    const [cls, bytes] = [...byClass.entries()].sort((a, b) => b[1] - a[1])[0];
    if (cls === c.applicationClass || cls === "other" || bytes < 0.9 * total) return c;
    const applicationClass = cls as ClassifiedFlow["applicationClass"];
    const why = `side connection of the same process and peer service, whose traffic is ${cls}`;
    return { ...c, applicationClass, confidence: Math.round(0.6 * 100) / 100, why };
  });
}

export function analyse(w: SampleWindow, opts: AnalyseOptions): DiscoveryResult {
  const where = opts.netns ? `namespace ${opts.netns}` : "this host";
  const classified = w.flows
    .map((f) => classifyFlow(f.key, flowFeatures(f, w.times, w.listening), opts))
    .filter((c) => bytesOf(c) > 0);
  const flows = applySideConnections(classified).sort((a, b) => bytesOf(b) - bytesOf(a));
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
  };
  if (flows.length === 0) {
    return { flows, summary, recommendations: [], note: noTrafficNote(where, opts.windowMs) };
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
    recommendations.push({
      applicationClass: c.applicationClass,
      persona: v.value,
      flowCount: c.flows,
      reason,
    });
  }
  return { flows, summary, recommendations };
}
