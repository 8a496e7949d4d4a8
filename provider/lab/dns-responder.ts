// A tiny authoritative DNS responder for a lab network: answers A queries for the lab's names over UDP.
// Run as `node dns-responder.js CONFIG.json` (inside the router namespace); CONFIG is
// {"address": "10.200.1.2", "names": {"h1.lab1.lab": "10.200.1.10", ...}}.
import dgram from "node:dgram";
import { readFileSync } from "node:fs";

const TYPE_A = 1;
const TYPE_ANY = 255;

export interface Question {
  id: number;
  flags: number;
  name: string;
  type: number;
  /** Offset just past the question section. */
  end: number;
}

/** Parses the header and first question of a DNS message; undefined when malformed or compressed. */
export function parseQuery(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  while (off < msg.length) {
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.toString("latin1", off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 5 > msg.length) return undefined;
  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    name: labels.join(".").toLowerCase(),
    type: msg.readUInt16BE(off + 1),
    end: off + 5,
  };
}

/** Builds the answer: A record when known, NODATA for other types of a known name, NXDOMAIN otherwise. */
export function buildResponse(msg: Buffer, q: Question, names: Record<string, string>): Buffer {
  const addr = names[q.name];
  const answer = addr !== undefined && (q.type === TYPE_A || q.type === TYPE_ANY);
  const rcode = addr === undefined ? 3 : 0;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, opcode copied, AA=1, RD copied, RA=0.
  header.writeUInt16BE(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answer ? 1 : 0, 6);
  const question = msg.subarray(12, q.end);
  if (!answer) return Buffer.concat([header, question]);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(TYPE_A, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(5, 6);
  rr.writeUInt16BE(4, 10);
  addr.split(".").forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
  return Buffer.concat([header, question, rr]);
}

function main(configPath: string): void {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as {
    address: string;
    names: Record<string, string>;
  };
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, rinfo) => {
    const q = parseQuery(msg);
    if (q) sock.send(buildResponse(msg, q, config.names), rinfo.port, rinfo.address);
  });
  sock.on("error", (err) => {
    process.stderr.write(`dns-responder: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind(53, config.address);
  process.on("SIGTERM", () => process.exit(0));
}

if (require.main === module) main(process.argv[2]);
