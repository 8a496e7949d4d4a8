// Traffic program: video-like streaming. Fetches one segment of `kb` kilobytes every `period` seconds over
// one keep-alive connection (the rhythm of HLS/DASH players once their buffer is full).
// Usage: node video-client.js --host ADDR --port N --kb K --period S [--jitter FRACTION --seed S]
import { Agent, get } from "node:http";

import { args, onStop, rng, sleep } from "./common";

const a = args(process.argv.slice(2), ["port", "kb", "period"], ["host"]);
const r = rng(Number(a.seed ?? 1));
const jitter = Number(a.jitter ?? 0.05);
const agent = new Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 1000 });

function segment(): Promise<void> {
  return new Promise((resolve) => {
    const path = `/bytes/${Math.round(a.kb * 1024 * (1 + jitter * (2 * r() - 1)))}`;
    const req = get({ host: String(a.host), port: a.port, path, agent }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve());
      res.on("error", () => resolve());
    });
    req.on("error", () => resolve());
  });
}

async function main(): Promise<void> {
  let next = Date.now();
  for (;;) {
    await segment();
    next += a.period * 1000;
    await sleep(Math.max(0, next - Date.now()));
  }
}
onStop(() => agent.destroy());
void main();
