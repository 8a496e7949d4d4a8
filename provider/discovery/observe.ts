// One list of observed flows from the two sources: `ss` series (rhythm, process, RTT, path MTU) for flows
// that lived across several samples, conntrack records (start, end, packets and bytes each way) for every
// connection. A flow ss saw fewer than SHORT_SIGHTINGS times is judged on its conntrack totals instead.
import { headerBytes, type ConnRecord } from "./conntrack";
import { flowFeatures } from "./features";
import type { SampleWindow } from "./sampler";
import type { ConnectionFeatures, FlowFeatures, FlowKey, FlowSeries } from "./types";

/** ss sightings below which a flow's rhythm is not trusted (a flow seen once looks 100% busy). */
export const SHORT_SIGHTINGS = 5;

export interface ObservedFlow {
  key: FlowKey;
  features: FlowFeatures;
}

const keyId = (
  k: Pick<FlowKey, "protocol" | "localAddress" | "localPort" | "remoteAddress" | "remotePort">,
) => `${k.protocol}|${k.localAddress}|${k.localPort}|${k.remoteAddress}|${k.remotePort}`;

/** Strips an IPv4-mapped prefix so ss's `::ffff:10.0.0.1` meets conntrack's `10.0.0.1`. */
const plain = (a: string) => a.replace(/^::ffff:/, "");

function connectionOf(r: ConnRecord, windowSeconds: number, listening: boolean): ConnectionFeatures {
  const hdr = headerBytes(r);
  // A connection picked up mid-stream has its first packet seen as "original", whichever end opened it:
  // then the host's listening port says who the server is.
  const initiatedHere = r.preexisting ? !listening : r.initiatedHere;
  const payload = (bytes: number, packets: number) => Math.max(0, bytes - packets * hdr);
  const sent = payload(r.bytesSent, r.packetsSent);
  const received = payload(r.bytesReceived, r.packetsReceived);
  const end = r.end ?? windowSeconds;
  return {
    initiatedHere,
    lifetimeSeconds: Math.max(0.001, end - r.start),
    whole: !r.preexisting && r.end !== undefined,
    requestBytes: initiatedHere ? sent : received,
    responseBytes: initiatedHere ? received : sent,
    requestPackets: initiatedHere ? r.packetsSent : r.packetsReceived,
    responsePackets: initiatedHere ? r.packetsReceived : r.packetsSent,
    start: r.start,
  };
}

/** A series built from conntrack's once-a-second polls (UDP, or TCP flows ss did not see). */
export function seriesFromPolls(r: ConnRecord): { series: FlowSeries; times: number[] } {
  const hdr = headerBytes(r);
  // Poll counters are counted from the window's start (or the connection's): prepend that zero.
  const polls = [[r.preexisting ? 0 : r.start, 0, 0, 0, 0], ...r.polls];
  const times = polls.map((p) => p[0]);
  const d = (k: 1 | 2 | 3 | 4) => polls.map((p, i) => (i === 0 ? 0 : Math.max(0, p[k] - polls[i - 1][k])));
  const [bs, br, ps, pr] = [d(1), d(2), d(3), d(4)];
  const series: FlowSeries = {
    key: {
      protocol: "tcp",
      localAddress: r.localAddress,
      localPort: r.localPort,
      remoteAddress: r.remoteAddress,
      remotePort: r.remotePort,
    },
    preexisting: false,
    first: Math.min(1, times.length - 1),
    last: times.length - 1,
    sent: bs.map((b, i) => Math.max(0, b - ps[i] * hdr)),
    received: br.map((b, i) => Math.max(0, b - pr[i] * hdr)),
    segsOut: ps,
    segsIn: pr,
    retransBytes: 0,
  };
  return { series, times };
}

/** Features of a flow known only by its whole-life totals (a short connection). */
function shortFeatures(r: ConnRecord, c: ConnectionFeatures, listening: boolean): FlowFeatures {
  const [sent, received] = c.initiatedHere
    ? [c.requestBytes, c.responseBytes]
    : [c.responseBytes, c.requestBytes];
  const [pSent, pRecv] = c.initiatedHere
    ? [c.requestPackets, c.responsePackets]
    : [c.responsePackets, c.requestPackets];
  const total = sent + received;
  return {
    direction: listening || !c.initiatedHere ? "inbound" : "outbound",
    servicePort: c.initiatedHere ? r.remotePort : r.localPort,
    durationSeconds: c.lifetimeSeconds,
    bytesSent: sent,
    bytesReceived: received,
    meanRateBps: (8 * total) / c.lifetimeSeconds,
    rateVariance: 0,
    rateCv: 0,
    dutyCycle: 1,
    requestResponseRatio: sent > 0 && received > 0 ? 1 : 0,
    bursts: 1,
    burstPeriodSeconds: 0,
    burstPeriodCv: 1,
    burstSizeCv: 1,
    requestsPerBurst: c.requestPackets,
    meanBurstBytes: total,
    meanSegmentSent: pSent ? sent / pSent : 0,
    meanSegmentReceived: pRecv ? received / pRecv : 0,
    asymmetry: total > 0 ? Math.max(sent, received) / total : 0.5,
    retransRatio: 0,
    observedBy: "conntrack",
    shortLived: true,
    connection: c,
  };
}

/** Every flow of the window, each with its features, from ss series and conntrack records together. */
export function observeFlows(w: SampleWindow): ObservedFlow[] {
  const bySs = new Map<string, FlowSeries>();
  for (const s of w.flows)
    bySs.set(
      keyId({
        ...s.key,
        localAddress: plain(s.key.localAddress),
        remoteAddress: plain(s.key.remoteAddress),
      }),
      s,
    );
  const out: ObservedFlow[] = [];
  const used = new Set<FlowSeries>();
  for (const r of w.connections) {
    const key: FlowKey = {
      protocol: r.protocol,
      localAddress: r.localAddress,
      localPort: r.localPort,
      remoteAddress: r.remoteAddress,
      remotePort: r.remotePort,
    };
    const ss = r.protocol === "tcp" ? bySs.get(keyId(key)) : undefined;
    if (ss) used.add(ss);
    const sightings = ss ? ss.last - ss.first + 1 : 0;
    const listening = r.protocol === "tcp" ? w.listening.has(r.localPort) : w.udpListening.has(r.localPort);
    const c = connectionOf(r, w.seconds, listening);
    let features: FlowFeatures;
    if (ss && sightings >= SHORT_SIGHTINGS) {
      features = {
        ...flowFeatures(ss, w.times, w.listening),
        observedBy: "both",
        shortLived: false,
        connection: c,
      };
    } else if (r.protocol === "udp" || (!ss && r.polls.length >= SHORT_SIGHTINGS && !c.whole)) {
      // A long flow ss did not sample (UDP): its rhythm from conntrack's polls.
      const { series, times } = seriesFromPolls(r);
      const lp = new Set(listening || !c.initiatedHere ? [r.localPort] : []);
      features = {
        ...flowFeatures(series, times, lp),
        observedBy: "conntrack",
        shortLived: series.last < SHORT_SIGHTINGS - 1,
        connection: c,
      };
    } else {
      features = shortFeatures(r, c, listening);
      if (ss) features.observedBy = "both";
    }
    if (ss?.process !== undefined) features.process = ss.process;
    if (ss?.pid !== undefined) features.pid = ss.pid;
    if (ss?.rttMs !== undefined) features.rttMs = ss.rttMs;
    if (ss?.pmtu !== undefined) features.pmtu = ss.pmtu;
    if (ss) features.retransRatio = features.bytesSent > 0 ? ss.retransBytes / features.bytesSent : 0;
    out.push({ key, features });
  }
  // Flows only ss saw (conntrack off or unavailable, or opened before tracking and idle at its listings).
  for (const s of w.flows) {
    if (used.has(s)) continue;
    const sightings = s.last - s.first + 1;
    const f: FlowFeatures = {
      ...flowFeatures(s, w.times, w.listening),
      observedBy: "ss",
      shortLived: sightings < SHORT_SIGHTINGS && !s.preexisting,
      ...(s.pid !== undefined && { pid: s.pid }),
    };
    if (f.shortLived) {
      // No conntrack: the totals ss saw stand in for the connection's whole life.
      const here = f.direction === "outbound";
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const [segsOut, segsIn] = [sum(s.segsOut), sum(s.segsIn)];
      f.connection = {
        initiatedHere: here,
        lifetimeSeconds: f.durationSeconds,
        whole: false,
        requestBytes: here ? f.bytesSent : f.bytesReceived,
        responseBytes: here ? f.bytesReceived : f.bytesSent,
        requestPackets: here ? segsOut : segsIn,
        responsePackets: here ? segsIn : segsOut,
        start: w.times[s.first] ?? 0,
      };
    }
    out.push({ key: s.key, features: f });
  }
  return out;
}
