// The echo prober: numbered probes to named peers at an interval, replies matched by sequence number,
// and per peer a sliding window of the most recent probes summarised by window.ts.
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import { isIP } from "node:net";

import { decodeProbe, encodeProbe, PROBE_HEADER_BYTES } from "./echo";
import { ProbeWindow, summarizeWindow, type WindowStats } from "./window";

export interface EchoPeer {
  /** A label echoed in the statistics (e.g. the peer host's name). */
  name: string;
  address: string;
  port: number;
}

export interface ProberOptions {
  /** Time between rounds (one probe to every peer per round), ms. */
  intervalMs: number;
  /** A probe unanswered this long after sending is lost; a later reply counts as late. */
  timeoutMs: number;
  /** Probes per peer kept in the sliding window. */
  window: number;
  /** Datagram payload size in bytes (default 64). */
  payloadBytes?: number;
  /** Local address to send from (default: the kernel's choice). */
  bindAddress?: string;
  /** Sockets (source ports) per address family, used in turn (default 1): a multipath route spreads them. */
  sourcePorts?: number;
}

export interface PeerProbeStats extends WindowStats {
  name: string;
  address: string;
  port: number;
  /** Since the prober started (not limited to the window). */
  totals: { sent: number; received: number; late: number; duplicate: number };
}

interface PeerState {
  peer: EchoPeer;
  nextSeq: number;
  window: ProbeWindow;
  totals: PeerProbeStats["totals"];
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** IPv6 in the compressed form the kernel reports in a datagram's source, so replies match their peer. */
function canonical(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** A peer's name: a label echoed in every sample. */
export const PEER_NAME_RE = /^[\w.:@-]{1,64}$/;

export function checkPeers(peers: readonly EchoPeer[]): void {
  const names = new Set<string>();
  peers.forEach((p, i) => {
    if (!PEER_NAME_RE.test(p.name)) throw new Error(`peers.${i}.name: use 1-64 of letters, digits, _.:@-`);
    if (names.has(p.name)) throw new Error(`peers.${i}.name: '${p.name}' is listed twice`);
    names.add(p.name);
    if (isIP(p.address) === 0) throw new Error(`peers.${i}.address: '${p.address}' is not an IP address`);
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      throw new Error(`peers.${i}.port: 1..65535`);
  });
}

export class EchoProber {
  private readonly token = randomInt(0, 2 ** 32);
  private readonly peers = new Map<string, PeerState>();
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly extra = new Map<4 | 6, dgram.Socket[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    peers: readonly EchoPeer[],
    readonly opts: ProberOptions,
  ) {
    checkPeers(peers);
    if (!(opts.intervalMs >= 1)) throw new Error(`intervalMs must be at least 1, got ${opts.intervalMs}`);
    if (!(opts.timeoutMs >= 1)) throw new Error(`timeoutMs must be at least 1, got ${opts.timeoutMs}`);
    encodeProbe({ token: 0, seq: 0, sentNs: 0n }, opts.payloadBytes ?? 64); // validates the size
    for (const peer of peers) {
      const key = `${canonical(peer.address)}|${peer.port}`;
      this.peers.set(key, {
        peer,
        nextSeq: 0,
        window: new ProbeWindow(opts.window),
        totals: { sent: 0, received: 0, late: 0, duplicate: 0 },
      });
    }
  }

  /** Binds one socket per address family in use. */
  async open(): Promise<void> {
    const families = new Set([...this.peers.values()].map((s) => (isIP(s.peer.address) === 6 ? 6 : 4)));
    for (const family of families) {
      if (this.sockets.has(family)) continue;
      const sock = dgram.createSocket(family === 6 ? "udp6" : "udp4");
      sock.on("message", (msg, rinfo) => this.onReply(msg, `${rinfo.address}|${rinfo.port}`));
      sock.on("error", () => undefined); // ICMP errors surface as send errors: they are losses, not crashes
      const bind =
        this.opts.bindAddress && isIP(this.opts.bindAddress) === family ? this.opts.bindAddress : undefined;
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(0, bind, () => {
          sock.off("error", reject);
          resolve();
        });
      });
      this.sockets.set(family, sock);
      const more: dgram.Socket[] = [];
      for (let i = 1; i < (this.opts.sourcePorts ?? 1); i++) {
        const x = dgram.createSocket(family === 6 ? "udp6" : "udp4");
        x.on("message", (msg, rinfo) => this.onReply(msg, `${rinfo.address}|${rinfo.port}`));
        x.on("error", () => undefined);
        await new Promise<void>((resolve) => x.bind(0, bind, () => resolve()));
        more.push(x);
      }
      this.extra.set(family, [sock, ...more]);
    }
  }

  /** Sends a round every intervalMs until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sendRound(), this.opts.intervalMs);
    this.sendRound();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One probe to every peer. */
  sendRound(): void {
    for (const s of this.peers.values()) {
      const fam = isIP(s.peer.address) === 6 ? 6 : 4;
      const all = this.extra.get(fam);
      const sock = all?.[s.nextSeq % all.length] ?? this.sockets.get(fam);
      if (!sock) throw new Error("EchoProber: call open() before sending");
      const seq = s.nextSeq++;
      const sentNs = process.hrtime.bigint();
      s.window.add(seq, Number(sentNs) / 1e6);
      s.totals.sent++;
      sock.send(
        encodeProbe({ token: this.token, seq, sentNs }, this.opts.payloadBytes ?? 64),
        s.peer.port,
        s.peer.address,
      );
    }
  }

  private onReply(msg: Buffer, from: string): void {
    const probe = msg.length >= PROBE_HEADER_BYTES ? decodeProbe(msg) : undefined;
    const s = this.peers.get(from);
    if (!probe || !s || probe.token !== this.token) return;
    const rttMs = Number(process.hrtime.bigint() - probe.sentNs) / 1e6;
    const kind = s.window.reply(probe.seq, rttMs);
    if (kind === "duplicate") s.totals.duplicate++;
    else if (kind === "first" && rttMs > this.opts.timeoutMs) s.totals.late++;
    else if (kind === "first") s.totals.received++;
  }

  /** The window statistics of every peer, now. */
  stats(): PeerProbeStats[] {
    const now = nowMs();
    return [...this.peers.values()].map((s) => ({
      name: s.peer.name,
      address: s.peer.address,
      port: s.peer.port,
      ...summarizeWindow(s.window.list(), now, this.opts.timeoutMs),
      totals: { ...s.totals },
    }));
  }

  /** The local UDP ports of the open sockets (what a firewall or routing rule has to match). */
  localPorts(): number[] {
    return [...this.extra.values()].flat().map((s) => s.address().port);
  }

  /** Empties every window (totals stay). */
  resetWindows(): void {
    for (const s of this.peers.values()) s.window.clear();
  }

  async close(): Promise<void> {
    this.stop();
    const socks = [...this.extra.values()].flat();
    this.sockets.clear();
    this.extra.clear();
    await Promise.all(socks.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
