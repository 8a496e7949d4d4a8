// Traffic program: a live video stream over UDP, like RTP or MPEG-TS: 25 frames a second, each frame cut
// into datagrams of at most 1316 bytes (7 TS packets), a larger key frame every `--gop` frames, the bit rate
// `--kbps`.
// Usage: node udp-stream.js --host ADDR --port N --kbps K [--gop G --seed S]
import { createSocket } from "node:dgram";

import { args, between, onStop, rng, sleep } from "./common";

const a = args(process.argv.slice(2), ["port", "kbps"], ["host"]);
const r = rng(Number(a.seed ?? 1));
const gop = Number(a.gop ?? 12);
const sock = createSocket("udp4");
const payload = Buffer.alloc(1316, 0x47);

async function main(): Promise<void> {
  const perFrame = (a.kbps * 1000) / 8 / 25;
  let next = Date.now();
  for (let frame = 0; ; frame++) {
    // Key frames carry about 4x a predicted frame; the mean stays at the bit rate.
    const weight = frame % gop === 0 ? 4 : 1;
    const bytes = Math.round(((perFrame * weight * gop) / (gop + 3)) * between(r, 0.85, 1.15));
    for (let left = bytes; left > 0; left -= payload.length)
      sock.send(payload.subarray(0, Math.min(left, payload.length)), a.port, String(a.host));
    next += 40;
    await sleep(Math.max(0, next - Date.now()));
  }
}
onStop(() => sock.close());
void main();
