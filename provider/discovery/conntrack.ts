// Every connection's whole life from the kernel's connection tracking: `conntrack -E` events (when each
// connection opened and closed) and `conntrack -L` listings with accounting (packets and bytes each way),
// inside the host's namespace. `ss` sampling sees a connection only if it is open at a sample instant;
// conntrack sees every one, short or long, TCP or UDP. See docs/discovery.md ("Seeing every connection").
import type { ChildProcess } from "node:child_process";

import { run, start } from "../util/exec";

export interface ConnTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** One line of `conntrack -E -o timestamp,extended,id` or `conntrack -L -o extended,id`. */
export interface ConnLine {
  /** Event time (epoch seconds) for events; undefined for listings. */
  time?: number;
  /** NEW, UPDATE or DESTROY for events; undefined for listings. */
  event?: "NEW" | "UPDATE" | "DESTROY";
  family: "ipv4" | "ipv6";
  protocol: "tcp" | "udp";
  state?: string;
  orig: ConnTuple;
  reply: ConnTuple;
  /** Accounting (nf_conntrack_acct=1): IP packets and bytes (headers included) each way. */
  origPackets?: number;
  origBytes?: number;
  replyPackets?: number;
  replyBytes?: number;
  id?: number;
}

const EVENT_RE = /^\[(\d+\.\d+)\]\s+\[(NEW|UPDATE|DESTROY)\]\s+(.*)$/;

/** Parses one conntrack line (event or listing); undefined for anything else (summaries, other protocols). */
export function parseConntrackLine(line: string): ConnLine | undefined {
  let rest = line.trim();
  let time: number | undefined;
  let event: ConnLine["event"];
  const m = EVENT_RE.exec(rest);
  if (m) {
    time = Number(m[1]);
    event = m[2] as ConnLine["event"];
    rest = m[3];
  }
  const tok = rest.split(/\s+/);
  if ((tok[0] !== "ipv4" && tok[0] !== "ipv6") || (tok[2] !== "tcp" && tok[2] !== "udp")) return undefined;
  const tuples: Partial<ConnTuple>[] = [];
  const counters: { packets?: number; bytes?: number }[] = [];
  let state: string | undefined;
  let id: number | undefined;
  for (const t of tok.slice(3)) {
    const eq = t.indexOf("=");
    if (eq < 0) {
      if (/^[A-Z_]+$/.test(t) && tuples.length === 0) state = t;
      continue;
    }
    const [k, v] = [t.slice(0, eq), t.slice(eq + 1)];
    if (k === "src") tuples.push({ src: v });
    else if ((k === "dst" || k === "sport" || k === "dport") && tuples.length) {
      const cur = tuples[tuples.length - 1];
      if (k === "dst") cur.dst = v;
      else cur[k] = Number(v);
    } else if (k === "packets") counters[tuples.length - 1] = { packets: Number(v) };
    else if (k === "bytes" && counters[tuples.length - 1]) counters[tuples.length - 1].bytes = Number(v);
    else if (k === "id") id = Number(v);
  }
  const [o, r] = tuples;
  const whole = (x?: Partial<ConnTuple>): x is ConnTuple =>
    !!x && !!x.src && !!x.dst && Number.isInteger(x.sport) && Number.isInteger(x.dport);
  if (!whole(o) || !whole(r)) return undefined;
  const out: ConnLine = { family: tok[0], protocol: tok[2], orig: o, reply: r };
  if (time !== undefined) out.time = time;
  if (event) out.event = event;
  if (state) out.state = state;
  if (counters[0]?.bytes !== undefined) {
    out.origPackets = counters[0].packets;
    out.origBytes = counters[0].bytes;
  }
  if (counters[1]?.bytes !== undefined) {
    out.replyPackets = counters[1].packets;
    out.replyBytes = counters[1].bytes;
  }
  if (id !== undefined) out.id = id;
  return out;
}

/** A connection's life inside the window, oriented from the observed host. */
export interface ConnRecord {
  protocol: "tcp" | "udp";
  family: "ipv4" | "ipv6";
  /** The host's own end and the peer's end. */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** True when the host opened it (its end is the original source). */
  initiatedHere: boolean;
  /** Seconds since the window started; opened before the window when `preexisting`. */
  start: number;
  end?: number;
  preexisting: boolean;
  /** IP packets and bytes (headers included) each way within the window. */
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Counters within the window at each poll, for rhythm: [seconds, bytes sent, received, packets sent, received]. */
  polls: [number, number, number, number, number][];
  lastState?: string;
}

/** Per-packet header bytes to take off IP byte counts to estimate payload (IP + TCP with timestamps, or UDP). */
export function headerBytes(r: Pick<ConnRecord, "protocol" | "family">): number {
  const ip = r.family === "ipv6" ? 40 : 20;
  return ip + (r.protocol === "tcp" ? 32 : 8);
}

export const conntrackKey = (l: Pick<ConnLine, "protocol" | "orig">) =>
  `${l.protocol}|${l.orig.src}|${l.orig.sport}|${l.orig.dst}|${l.orig.dport}`;

interface Counters {
  op: number;
  ob: number;
  rp: number;
  rb: number;
}

const countersOf = (l: ConnLine): Counters | undefined =>
  l.origBytes === undefined
    ? undefined
    : { op: l.origPackets ?? 0, ob: l.origBytes, rp: l.replyPackets ?? 0, rb: l.replyBytes ?? 0 };

/** Folds events and listings into records: `local` are the host's addresses, `t0` the window's start (epoch s). */
export class ConntrackLedger {
  private readonly recs = new Map<
    string,
    {
      line: ConnLine;
      start: number;
      end?: number;
      pre: boolean;
      base?: Counters;
      last?: Counters;
      polls: [number, number, number, number, number][];
      state?: string;
    }
  >();

  constructor(
    private readonly local: ReadonlySet<string>,
    private readonly t0: number,
  ) {}

  /** The listing taken when the window starts: these connections are preexisting, their counters the base. */
  baseline(lines: readonly ConnLine[]): void {
    for (const l of lines) {
      const c = countersOf(l);
      this.recs.set(conntrackKey(l), {
        line: l,
        start: 0,
        pre: true,
        base: c,
        last: c,
        polls: [],
        state: l.state,
      });
    }
  }

  event(l: ConnLine): void {
    const key = conntrackKey(l);
    const t = Math.max(0, (l.time ?? this.t0) - this.t0);
    let r = this.recs.get(key);
    if (!r || (l.event === "NEW" && r.end !== undefined)) {
      // A NEW event past the handshake is a connection picked up mid-stream (it opened before tracking).
      const midStream = l.protocol === "tcp" && !/^SYN_/.test(l.state ?? "SYN_SENT");
      r = { line: l, start: t, pre: l.event !== "NEW" || midStream, polls: [], state: l.state };
      this.recs.set(key, r);
    }
    if (l.state) r.state = l.state;
    if (l.event === "DESTROY") r.end = t;
    else if (
      r.end === undefined &&
      l.state &&
      /^(FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE)$/.test(l.state)
    )
      r.end = t;
    const c = countersOf(l);
    if (c) r.last = c;
  }

  /** A listing during or at the end of the window: the counters so far. */
  poll(lines: readonly ConnLine[], atSeconds: number): void {
    for (const l of lines) {
      const key = conntrackKey(l);
      let r = this.recs.get(key);
      if (!r) {
        // Its events were missed (before the event stream started, or dropped under load): count it whole.
        // Already closing when first listed: it opened and closed since the previous listing.
        const closed = /^(FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE)$/.test(l.state ?? "");
        const since = Math.max(0, atSeconds - 1);
        r = {
          line: l,
          start: since,
          pre: false,
          polls: [],
          state: l.state,
          ...(closed && { end: atSeconds }),
        };
        this.recs.set(key, r);
      }
      const c = countersOf(l);
      if (c) {
        r.last = c;
        const b = r.base ?? { op: 0, ob: 0, rp: 0, rb: 0 };
        r.polls.push([atSeconds, c.ob - b.ob, c.rb - b.rb, c.op - b.op, c.rp - b.rp]);
      }
    }
  }

  records(): ConnRecord[] {
    const out: ConnRecord[] = [];
    for (const r of this.recs.values()) {
      const { orig, reply } = r.line;
      const here = this.local.has(orig.src);
      if (!here && !this.local.has(reply.src) && !this.local.has(orig.dst)) continue;
      if (orig.src === orig.dst) continue;
      const b = r.base ?? { op: 0, ob: 0, rp: 0, rb: 0 };
      const c = r.last ?? b;
      const d = { op: c.op - b.op, ob: c.ob - b.ob, rp: c.rp - b.rp, rb: c.rb - b.rb };
      const rec: ConnRecord = {
        protocol: r.line.protocol,
        family: r.line.family,
        localAddress: here ? orig.src : orig.dst,
        localPort: here ? orig.sport : orig.dport,
        remoteAddress: here ? orig.dst : orig.src,
        remotePort: here ? orig.dport : orig.sport,
        initiatedHere: here,
        start: r.start,
        preexisting: r.pre,
        packetsSent: here ? d.op : d.rp,
        bytesSent: here ? d.ob : d.rb,
        packetsReceived: here ? d.rp : d.op,
        bytesReceived: here ? d.rb : d.ob,
        polls: r.polls.map(([t, ob, rb, op, rp]) => (here ? [t, ob, rb, op, rp] : [t, rb, ob, rp, op])),
      };
      if (r.end !== undefined) rec.end = r.end;
      if (r.state) rec.lastState = r.state;
      out.push(rec);
    }
    return out;
  }
}

/** The namespace's own addresses (`ip -j addr`). */
export async function localAddresses(netns?: string): Promise<Set<string>> {
  const { stdout } = await run(["ip", "-j", "addr", "show"], { netns });
  const links = JSON.parse(stdout) as { addr_info?: { local?: string }[] }[];
  return new Set(links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? "")).filter(Boolean));
}

async function listing(netns?: string): Promise<ConnLine[]> {
  const r = await run(["conntrack", "-L", "-o", "extended,id"], { netns, check: false, timeoutMs: 10_000 });
  return r.stdout
    .split("\n")
    .map(parseConntrackLine)
    .filter((l): l is ConnLine => !!l);
}

/** The nftables table that turns connection tracking on in a namespace where nothing else needs it. */
export const CT_TABLE = "netpersona_discovery";
const CT_RULES = `table inet ${CT_TABLE} {
  chain out { type filter hook output priority -150; ct state new counter; }
  chain in { type filter hook input priority -150; ct state new counter; }
}
`;

export interface ConntrackWatch {
  /** Why conntrack is not used (not installed, not permitted); the sampler falls back to ss alone. */
  unavailable?: string;
  /** A listing now: counters so far (for UDP rhythm). */
  poll(atSeconds: number): Promise<void>;
  /** Final listing, stops the event stream, restores what it changed; returns the records. */
  finish(atSeconds: number): Promise<ConnRecord[]>;
}

async function sysctl(netns: string | undefined, key: string, value?: string): Promise<string | undefined> {
  const argv = value === undefined ? ["sysctl", "-n", key] : ["sysctl", "-q", "-w", `${key}=${value}`];
  const r = await run(argv, { netns, check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * Starts watching: accounting on (`net.netfilter.nf_conntrack_acct=1`, restored after), tracking on (an own
 * nftables table with one `ct state new` rule per hook, removed after), a baseline listing, then
 * `conntrack -E` until `finish`. `t0` is the window's start (ms since the epoch).
 */
export async function watchConntrack(netns: string | undefined, t0: number): Promise<ConntrackWatch> {
  const none = (why: string): ConntrackWatch => ({
    unavailable: why,
    poll: async () => undefined,
    finish: async () => [],
  });
  const probe = await run(["conntrack", "--version"], { check: false });
  if (probe.code !== 0) return none("conntrack is not installed (Debian conntrack)");
  const acct = await sysctl(netns, "net.netfilter.nf_conntrack_acct");
  if (acct === undefined)
    return none("this kernel has no connection tracking (net.netfilter.nf_conntrack_acct)");
  if (acct !== "1" && (await sysctl(netns, "net.netfilter.nf_conntrack_acct", "1")) === undefined)
    return none("could not turn on conntrack accounting (net.netfilter.nf_conntrack_acct=1)");
  const tables = await run(["nft", "list", "tables"], { netns, check: false });
  const ownTable = !tables.stdout.includes(`inet ${CT_TABLE}`);
  if (ownTable) await run(["nft", "-f", "-"], { netns, input: CT_RULES, check: false });
  const restore = async () => {
    if (ownTable) await run(["nft", "delete", "table", "inet", CT_TABLE], { netns, check: false });
    if (acct !== "1") await sysctl(netns, "net.netfilter.nf_conntrack_acct", acct);
  };
  const local = await localAddresses(netns);
  const ledger = new ConntrackLedger(local, t0 / 1000);
  ledger.baseline(await listing(netns));
  // A large socket buffer: hundreds of connections a second must not overflow it (ENOBUFS drops events).
  const child: ChildProcess = start(["conntrack", "-E", "-o", "timestamp,extended,id", "-b", "8388608"], {
    netns,
    stdio: ["ignore", "pipe", "ignore"],
  });
  let buf = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buf += chunk;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) {
      const l = parseConntrackLine(line);
      if (l) ledger.event(l);
    }
  });
  return {
    poll: async (at) => ledger.poll(await listing(netns), at),
    finish: async (at) => {
      try {
        ledger.poll(await listing(netns), at);
        // Let the event stream deliver what the kernel has queued, then stop it.
        await new Promise((r) => setTimeout(r, 100));
        child.kill("SIGTERM");
      } finally {
        await restore();
      }
      return ledger.records();
    },
  };
}
