// The UDP echo protocol between agents: the probe datagram's layout and the responder that echoes it.
// The responder answers only well-formed probes (magic, bounded size) so it never reflects stray traffic, only
// from sources the agent allows (echo-allow.ts: peers of its sessions and probes, a configured list), and at
// most LIMITS.echoPerSourcePerSecond per source (rate.ts). Everything else is dropped without an answer.
import dgram from "node:dgram";
import { isIP } from "node:net";

import { ECHO_RATE, SourceLimiter, type SourceLimiterOptions } from "./rate";

/** The port agents answer echo probes on unless configured otherwise. */
export const DEFAULT_ECHO_PORT = 7047;
/** "NPE1": netpersona echo, version 1. */
export const PROBE_MAGIC = 0x4e504531;
/** magic u32 | token u32 | seq u32 | send time u64 (process.hrtime.bigint, ns). */
export const PROBE_HEADER_BYTES = 20;
/** A probe never exceeds what fits in one unfragmented IPv4 datagram on a 1500-byte link. */
export const PROBE_MAX_BYTES = 1472;

export interface Probe {
  /** Identifies the prober instance, so replies meant for another prober are ignored. */
  token: number;
  seq: number;
  /** Send time, nanoseconds of process.hrtime.bigint(). */
  sentNs: bigint;
}

/** Encodes a probe, padded with zeros to `size` bytes (PROBE_HEADER_BYTES..PROBE_MAX_BYTES). */
export function encodeProbe(p: Probe, size = 64): Buffer {
  if (!Number.isInteger(size) || size < PROBE_HEADER_BYTES || size > PROBE_MAX_BYTES) {
    throw new Error(`probe size must be ${PROBE_HEADER_BYTES}..${PROBE_MAX_BYTES} bytes, got ${size}`);
  }
  const b = Buffer.alloc(size);
  b.writeUInt32BE(PROBE_MAGIC, 0);
  b.writeUInt32BE(p.token >>> 0, 4);
  b.writeUInt32BE(p.seq >>> 0, 8);
  b.writeBigUInt64BE(p.sentNs, 12);
  return b;
}

/** Decodes a probe; undefined for anything that is not one. */
export function decodeProbe(b: Buffer): Probe | undefined {
  if (b.length < PROBE_HEADER_BYTES || b.length > PROBE_MAX_BYTES) return undefined;
  if (b.readUInt32BE(0) !== PROBE_MAGIC) return undefined;
  return { token: b.readUInt32BE(4), seq: b.readUInt32BE(8), sentNs: b.readBigUInt64BE(12) };
}

export interface EchoResponder {
  address: string;
  port: number;
  /** Datagrams echoed; ignored (not probes); refused (a source `allowed` said no to); limited (over the
   *  source's rate). */
  counts(): { echoed: number; ignored: number; refused: number; limited: number };
  /** Sources holding a rate-limit bucket now (at most LIMITS.echoSources). */
  sources(): number;
  close(): Promise<void>;
}

export interface EchoResponderOptions {
  /** The address to bind: a concrete IPv4 or IPv6 address. The wildcard is refused (see daemon-sessions.ts,
   *  which chooses the agent's own address). */
  address: string;
  /** UDP port (default DEFAULT_ECHO_PORT; 0 picks a free one). */
  port?: number;
  /** Whether a probe from `address` (the datagram's source, IPv4-mapped IPv6 unmapped) gets an answer.
   *  The agent injects its rule (echo-allow.ts); a hand-run tool may pass `() => true`. */
  allowed: (address: string) => boolean;
  /** Per-source rate limit (default ECHO_RATE, from LIMITS). */
  rate?: SourceLimiterOptions;
  /** Clock in ms (tests). */
  now?: () => number;
}

function unmapped(ip: string): string {
  return ip.toLowerCase().startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** Binds a UDP socket on address:port and echoes each well-formed probe back to its sender when the sender
 *  is allowed and within its rate. Refused and limited datagrams get no answer at all (no error either). */
export async function startEchoResponder(opts: EchoResponderOptions): Promise<EchoResponder> {
  const family = isIP(opts.address);
  if (family === 0) throw new Error(`echo responder: '${opts.address}' is not an IPv4 or IPv6 address`);
  if (opts.address === "0.0.0.0" || opts.address === "::") {
    throw new Error(
      `echo responder: will not bind the wildcard address ${opts.address}: give the host's own address`,
    );
  }
  const port = opts.port ?? DEFAULT_ECHO_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`echo responder: bad port ${port}`);
  const sock = dgram.createSocket({ type: family === 6 ? "udp6" : "udp4", ipv6Only: family === 6 });
  const limiter = new SourceLimiter(opts.rate ?? ECHO_RATE);
  const now = opts.now ?? Date.now;
  let echoed = 0;
  let ignored = 0;
  let refused = 0;
  let limited = 0;
  sock.on("message", (msg, rinfo) => {
    if (!decodeProbe(msg)) {
      ignored++;
      return;
    }
    const source = unmapped(rinfo.address);
    if (!opts.allowed(source)) {
      refused++;
      return;
    }
    if (!limiter.allow(source, now())) {
      limited++;
      return;
    }
    echoed++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, opts.address, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  // A send error (e.g. the sender's host went away) must not kill the agent.
  sock.on("error", () => undefined);
  const bound = sock.address();
  return {
    address: bound.address,
    port: bound.port,
    counts: () => ({ echoed, ignored, refused, limited }),
    sources: () => limiter.size(),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
