// The ONE parser of iproute2's `ss` output, shared by the metrics stream and discovery (pure): `ss -tin[p]`
// into one record per TCP socket with the kernel's tcp_info figures (and the owning process with -p), the
// per-peer aggregate the metrics stream reports, and the listening ports of `ss -tlnH`.

export interface Endpoint {
  address: string;
  port: number;
}

export interface TcpFlow {
  state: string;
  recvQ: number;
  sendQ: number;
  local: Endpoint;
  peer: Endpoint;
  /** The owning process (`users:(("name",pid=N,fd=M))`, with `ss -p`). */
  process?: string;
  pid?: number;
  congestionControl?: string;
  rttMs?: number;
  rttVarMs?: number;
  rtoMs?: number;
  minRttMs?: number;
  mss?: number;
  pmtu?: number;
  cwnd?: number;
  ssthresh?: number;
  bytesSent?: number;
  bytesRetrans?: number;
  bytesAcked?: number;
  bytesReceived?: number;
  segsOut?: number;
  segsIn?: number;
  /** Segments that carried data, each way (data_segs_out / data_segs_in). */
  dataSegsOut?: number;
  dataSegsIn?: number;
  /** retrans:CURRENT/TOTAL: segments retransmitted and not yet acknowledged / over the socket's life. */
  retransCurrent?: number;
  retransTotal?: number;
  lost?: number;
  unacked?: number;
  delivered?: number;
  /** `send`: cwnd * mss / srtt, bits per second. */
  sendBps?: number;
  pacingRateBps?: number;
  deliveryRateBps?: number;
  appLimited: boolean;
}

/** Words ss prints without a value that are not the congestion control algorithm. */
const FLAGS = new Set(["ts", "sack", "ecn", "ecnseen", "fastopen", "app_limited", "ece", "cwr"]);
/** Words followed by their value as the next token. */
const PAIRS: Record<string, "sendBps" | "pacingRateBps" | "deliveryRateBps"> = {
  send: "sendBps",
  pacing_rate: "pacingRateBps",
  delivery_rate: "deliveryRateBps",
};
const NUMBERS: Record<string, keyof TcpFlow> = {
  rto: "rtoMs",
  minrtt: "minRttMs",
  mss: "mss",
  pmtu: "pmtu",
  cwnd: "cwnd",
  ssthresh: "ssthresh",
  bytes_sent: "bytesSent",
  bytes_retrans: "bytesRetrans",
  bytes_acked: "bytesAcked",
  bytes_received: "bytesReceived",
  segs_out: "segsOut",
  segs_in: "segsIn",
  data_segs_out: "dataSegsOut",
  data_segs_in: "dataSegsIn",
  lost: "lost",
  unacked: "unacked",
  delivered: "delivered",
};

/** "12385993bps", "12.4Mbps", "500Kbps" → bits per second. */
export function parseRate(text: string): number | undefined {
  const m = /^([\d.]+)([KMGT]?)bps$/.exec(text);
  if (!m) return undefined;
  const scale = { "": 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * scale;
}

/** "10.0.0.1:22", "[::1]:22", "[::ffff:10.0.0.1]:22", "[fe80::1%eth0]:22" → address and port. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const i = text.lastIndexOf(":");
  if (i <= 0) return undefined;
  const port = Number(text.slice(i + 1));
  let address = text
    .slice(0, i)
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "");
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) address = address.slice(7);
  return Number.isInteger(port) ? { address, port } : undefined;
}

function parseInfo(flow: TcpFlow, line: string): void {
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t in PAIRS && i + 1 < tokens.length) {
      const v = parseRate(tokens[i + 1]);
      if (v !== undefined) flow[PAIRS[t]] = v;
      i++;
      continue;
    }
    const colon = t.indexOf(":");
    if (colon < 0) {
      if (t === "app_limited") flow.appLimited = true;
      else if (!FLAGS.has(t) && /^[a-z][a-z0-9_]*$/.test(t) && flow.congestionControl === undefined) {
        flow.congestionControl = t;
      }
      continue;
    }
    const key = t.slice(0, colon);
    const value = t.slice(colon + 1);
    if (key === "rtt") {
      const [rtt, rttVar] = value.split("/").map(Number);
      flow.rttMs = rtt;
      flow.rttVarMs = rttVar;
    } else if (key === "retrans") {
      const [cur, total] = value.split("/").map(Number);
      flow.retransCurrent = cur;
      flow.retransTotal = total;
    } else if (key in NUMBERS && /^[\d.]+$/.test(value)) {
      (flow as unknown as Record<string, number>)[NUMBERS[key]] = Number(value);
    }
  }
}

/** Parses `ss -tin[p]` (with or without its header line) into one record per socket. */
export function parseSsTcpInfo(text: string): TcpFlow[] {
  const flows: TcpFlow[] = [];
  let current: TcpFlow | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (/^\s/.test(line)) {
      if (current) parseInfo(current, line);
      continue;
    }
    current = undefined;
    const cols = line.trim().split(/\s+/);
    if (cols[0] === "State" || cols.length < 5) continue;
    const local = parseEndpoint(cols[3]);
    const peer = parseEndpoint(cols[4]);
    if (!local || !peer) continue;
    current = {
      state: cols[0],
      recvQ: Number(cols[1]),
      sendQ: Number(cols[2]),
      local,
      peer,
      appLimited: false,
    };
    const proc = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    if (proc) {
      current.process = proc[1];
      current.pid = Number(proc[2]);
    }
    flows.push(current);
  }
  return flows;
}

export interface TcpAggregate {
  connections: number;
  /** Sum of the sockets' lifetime retransmitted segments (retrans:_/TOTAL). */
  retransmits: number;
  segmentsOut: number;
  bytesSent: number;
  bytesAcked: number;
  bytesReceived: number;
  bytesRetrans: number;
  /** Mean of the sockets' smoothed RTT; 0 without sockets. */
  srttMs: number;
  /** Mean congestion window in segments; 0 without sockets. */
  cwnd: number;
  deliveryRateBps: number;
  pacingRateBps: number;
  congestionControls: string[];
}

/** Sums (and for srtt and cwnd averages) the flows; pass the flows towards one peer for a per-peer figure. */
export function aggregateFlows(flows: readonly TcpFlow[]): TcpAggregate {
  const sum = (f: (x: TcpFlow) => number | undefined) => flows.reduce((s, x) => s + (f(x) ?? 0), 0);
  const n = flows.length;
  return {
    connections: n,
    retransmits: sum((x) => x.retransTotal),
    segmentsOut: sum((x) => x.segsOut),
    bytesSent: sum((x) => x.bytesSent),
    bytesAcked: sum((x) => x.bytesAcked),
    bytesReceived: sum((x) => x.bytesReceived),
    bytesRetrans: sum((x) => x.bytesRetrans),
    srttMs: n ? sum((x) => x.rttMs) / n : 0,
    cwnd: n ? sum((x) => x.cwnd) / n : 0,
    deliveryRateBps: sum((x) => x.deliveryRateBps),
    pacingRateBps: sum((x) => x.pacingRateBps),
    congestionControls: [
      ...new Set(flows.flatMap((x) => (x.congestionControl ? [x.congestionControl] : []))),
    ].sort(),
  };
}

/** Local ports in LISTEN state, from `ss -tlnH`. */
export function parseListening(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== "LISTEN" || cols.length < 4) continue;
    const port = parseEndpoint(cols[3])?.port;
    if (port !== undefined) ports.add(port);
  }
  return ports;
}
