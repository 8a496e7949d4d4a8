// The UDP echo protocol between agents: the probe datagram's layout and the responder that echoes it.
// The responder answers only well-formed probes (magic, bounded size) so it never reflects stray traffic.
import dgram from "node:dgram";
import { isIP } from "node:net";

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
  /** Datagrams echoed and datagrams ignored (not probes) so far. */
  counts(): { echoed: number; ignored: number };
  close(): Promise<void>;
}

/** Binds a UDP socket on address:port (port 0 picks a free one) and echoes every probe back to its sender. */
export async function startEchoResponder(opts: { address: string; port?: number }): Promise<EchoResponder> {
  const family = isIP(opts.address);
  if (family === 0) throw new Error(`echo responder: '${opts.address}' is not an IPv4 or IPv6 address`);
  const port = opts.port ?? DEFAULT_ECHO_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`echo responder: bad port ${port}`);
  const sock = dgram.createSocket({ type: family === 6 ? "udp6" : "udp4", ipv6Only: family === 6 });
  let echoed = 0;
  let ignored = 0;
  sock.on("message", (msg, rinfo) => {
    if (!decodeProbe(msg)) {
      ignored++;
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
    counts: () => ({ echoed, ignored }),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
