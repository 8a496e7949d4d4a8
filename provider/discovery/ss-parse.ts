// Parses `ss -tinpH` (TCP sockets with internal TCP info and owning process, no header) into samples.
import type { SocketSample } from "./types";

const STATE_RE =
  /^(ESTAB|SYN-SENT|SYN-RECV|FIN-WAIT-1|FIN-WAIT-2|TIME-WAIT|CLOSE-WAIT|LAST-ACK|CLOSING|CLOSED)\s/;

/** Splits `addr:port` where addr may be `[v6]`, `v4`, `v4%dev` or `*`. */
export function splitEndpoint(s: string): { address: string; port: number } | undefined {
  const m = /^\[?(.*?)\]?(?:%[^:]+)?:(\d+|\*)$/.exec(s);
  if (!m || m[2] === "*") return undefined;
  const address = m[1].startsWith("::ffff:") && m[1].includes(".") ? m[1].slice(7) : m[1];
  return { address, port: Number(m[2]) };
}

function num(info: string, key: string): number {
  const m = new RegExp(`(?:^|\\s)${key}:(\\d+)`).exec(info);
  return m ? Number(m[1]) : 0;
}

/** One sample per socket line (state line, then its indented info line). Listening sockets are skipped. */
export function parseSs(output: string): SocketSample[] {
  const lines = output.split("\n");
  const out: SocketSample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i];
    if (!STATE_RE.test(head)) continue;
    const info = i + 1 < lines.length && /^\s/.test(lines[i + 1]) ? lines[++i] : "";
    const cols = head.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const local = splitEndpoint(cols[3]);
    const remote = splitEndpoint(cols[4]);
    if (!local || !remote) continue;
    const proc = /users:\(\("([^"]+)",pid=(\d+)/.exec(head);
    const rtt = /(?:^|\s)rtt:([\d.]+)\//.exec(info);
    const s: SocketSample = {
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: cols[0],
      // bytes_sent includes retransmissions; older kernels only report bytes_acked (which counts the SYN).
      bytesSent: /bytes_sent:/.test(info)
        ? num(info, "bytes_sent") - num(info, "bytes_retrans")
        : Math.max(0, num(info, "bytes_acked") - 1),
      bytesReceived: num(info, "bytes_received"),
      bytesRetrans: num(info, "bytes_retrans"),
      dataSegsOut: num(info, "data_segs_out"),
      dataSegsIn: num(info, "data_segs_in"),
    };
    if (proc) {
      s.process = proc[1];
      s.pid = Number(proc[2]);
    }
    if (rtt) s.rttMs = Number(rtt[1]);
    const pmtu = num(info, "pmtu");
    if (pmtu) s.pmtu = pmtu;
    out.push(s);
  }
  return out;
}

/** Local ports in LISTEN state, from `ss -tlnH`. */
export function parseListening(output: string): Set<number> {
  const ports = new Set<number>();
  for (const line of output.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] !== "LISTEN" || cols.length < 4) continue;
    const ep = /:(\d+)$/.exec(cols[3]);
    if (ep) ports.add(Number(ep[1]));
  }
  return ports;
}

export function flowId(s: {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}) {
  return `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}`;
}
