// Application sessions: flows tied by what really ties them, never by a program's name. On this host a
// session is the owning process (pid, from ss) and the peer service it talks to; a connection too short for
// ss to see its owner joins the one process seen talking to that service, if there is exactly one. Inbound
// flows are tied by client address and the host's service port (the client's process is on another host).
import type { ObservedFlow } from "./observe";
import type { TrainFeatures } from "./classify";
import type { AppClass, ClassifiedFlow, SessionSummary } from "./types";

export interface SessionTie {
  id: string;
  tie: string;
  pid?: number;
  process?: string;
}

const service = (f: ObservedFlow) =>
  f.features.direction === "outbound"
    ? `${f.key.protocol} ${f.key.remoteAddress}:${f.key.remotePort}`
    : `${f.key.protocol} port ${f.key.localPort}`;

/** The session of every flow, in the order given. */
export function tieSessions(flows: readonly ObservedFlow[]): SessionTie[] {
  const pidsOf = new Map<string, Map<number, string | undefined>>();
  for (const f of flows) {
    if (f.features.direction !== "outbound" || f.features.pid === undefined) continue;
    const m = pidsOf.get(service(f)) ?? new Map<number, string | undefined>();
    m.set(f.features.pid, f.features.process);
    pidsOf.set(service(f), m);
  }
  return flows.map((f) => {
    const svc = service(f);
    if (f.features.direction === "inbound") {
      return { id: `${f.key.remoteAddress} -> ${svc}`, tie: `client ${f.key.remoteAddress} of ${svc}` };
    }
    let pid = f.features.pid;
    let proc = f.features.process;
    let how = "owner";
    const seen = pidsOf.get(svc);
    if (pid === undefined && seen?.size === 1) {
      [[pid, proc]] = [...seen.entries()];
      how = "only process seen talking to it";
    }
    if (pid === undefined)
      return { id: `${f.key.localAddress} -> ${svc}`, tie: `unattributed connections to ${svc}` };
    const name = proc ? ` (${proc})` : "";
    return {
      id: `pid ${pid} -> ${svc}`,
      tie: `pid ${pid}${name} to ${svc}${how === "owner" ? "" : ` (short connections: the ${how})`}`,
      pid,
      ...(proc !== undefined && { process: proc }),
    };
  });
}

function cv(xs: readonly number[]): number {
  if (xs.length < 2) return 1;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean <= 0) return 0;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) / mean;
}

/** Per session: its train of short connections (start regularity, response sizes). */
export function trains(
  flows: readonly ObservedFlow[],
  ties: readonly SessionTie[],
): Map<string, TrainFeatures> {
  const by = new Map<string, { start: number; response: number }[]>();
  flows.forEach((f, i) => {
    const c = f.features.connection;
    if (!f.features.shortLived || !c) return;
    const list = by.get(ties[i].id) ?? [];
    list.push({ start: c.start, response: c.responseBytes });
    by.set(ties[i].id, list);
  });
  const out = new Map<string, TrainFeatures>();
  for (const [id, list] of by) {
    const starts = list.map((x) => x.start).sort((a, b) => a - b);
    const gaps = starts.slice(1).map((t, k) => t - starts[k]);
    const responses = list.map((x) => x.response).sort((a, b) => a - b);
    out.set(id, {
      connections: list.length,
      startCv: gaps.length >= 2 ? cv(gaps) : 1,
      responseCv: cv(responses),
      medianResponse: responses[Math.floor(responses.length / 2)] ?? 0,
    });
  }
  return out;
}

const bytesOf = (c: ClassifiedFlow) => c.features.bytesSent + c.features.bytesReceived;

/** Below this confidence a flow's own evidence is weak and it may take its session's class. */
export const WEAK = 0.45;

/**
 * A flow whose own evidence is weak (too few bytes, or a low confidence) takes its session's class when the
 * session's confident flows (>= 0.5) agree on one class for at least 80% of their bytes: iperf3's control
 * channel, an idle keep-alive connection of a browser. Only flows of the same process and peer service count.
 */
export function inheritWithinSessions(flows: ClassifiedFlow[]): ClassifiedFlow[] {
  const by = new Map<string, ClassifiedFlow[]>();
  for (const c of flows) if (c.session) by.set(c.session, [...(by.get(c.session) ?? []), c]);
  return flows.map((c) => {
    const weak = c.applicationClass === "other" || c.confidence < WEAK;
    if (!weak || !c.session) return c;
    const sure = (by.get(c.session) ?? []).filter(
      (x) => x !== c && x.confidence >= 0.5 && x.applicationClass !== "other",
    );
    const total = sure.reduce((a, x) => a + bytesOf(x) + 1, 0);
    if (total === 0) return c;
    const byClass = new Map<AppClass, number>();
    for (const x of sure)
      byClass.set(x.applicationClass, (byClass.get(x.applicationClass) ?? 0) + bytesOf(x) + 1);
    const [cls, b] = [...byClass.entries()].sort((x, y) => y[1] - x[1])[0];
    if (b < 0.8 * total || cls === c.applicationClass) return c;
    const share = b / total;
    const mean =
      sure.filter((x) => x.applicationClass === cls).reduce((a, x) => a + x.confidence, 0) / sure.length;
    return {
      ...c,
      applicationClass: cls,
      confidence: Math.round(Math.min(0.75, share * mean * 0.9) * 100) / 100,
      why: `its own evidence is weak (${c.why}); the confident flows of its session (${c.session}) are ${cls}`,
    };
  });
}

/** One summary per session: the class carrying most of its bytes, and how sure. */
export function summariseSessions(
  flows: readonly ClassifiedFlow[],
  ties: Map<string, SessionTie>,
): SessionSummary[] {
  const by = new Map<string, ClassifiedFlow[]>();
  for (const c of flows) if (c.session) by.set(c.session, [...(by.get(c.session) ?? []), c]);
  const out: SessionSummary[] = [];
  for (const [id, list] of by) {
    const bytes = list.reduce((a, x) => a + bytesOf(x), 0);
    const byClass = new Map<AppClass, { b: number; conf: number; n: number }>();
    for (const x of list) {
      const e = byClass.get(x.applicationClass) ?? { b: 0, conf: 0, n: 0 };
      e.b += bytesOf(x) + 1;
      e.conf += x.confidence * (bytesOf(x) + 1);
      e.n++;
      byClass.set(x.applicationClass, e);
    }
    const total = [...byClass.values()].reduce((a, e) => a + e.b, 0);
    const [cls, e] = [...byClass.entries()].sort((x, y) => y[1].b - x[1].b)[0];
    const t = ties.get(id);
    out.push({
      id,
      tie: t?.tie ?? id,
      ...(t?.pid !== undefined && { pid: t.pid }),
      ...(t?.process !== undefined && { process: t.process }),
      flows: list.length,
      bytes,
      applicationClass: cls,
      confidence: Math.round((e.b / total) * (e.conf / e.b) * 100) / 100,
    });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}
