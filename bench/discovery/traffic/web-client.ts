// Traffic program: web browsing. Page loads at irregular times; each page fetches a handful of objects of
// varied sizes over a few parallel keep-alive connections, then the user reads (think time).
// Usage: node web-client.js --host ADDR --port N --seed S --gapMin s --gapMax s --objMin n --objMax n
//        --kbMin k --kbMax k --parallel p
import { Agent, get } from "node:http";

import { args, between, onStop, rng, sleep } from "./common";

const a = args(
  process.argv.slice(2),
  ["port", "seed", "gapMin", "gapMax", "objMin", "objMax", "kbMin", "kbMax", "parallel"],
  ["host"],
);
const r = rng(a.seed);
const agent = new Agent({ keepAlive: true, maxSockets: a.parallel, keepAliveMsecs: 1000 });

function fetch(size: number): Promise<void> {
  return new Promise((resolve) => {
    const req = get({ host: String(a.host), port: a.port, path: `/bytes/${size}`, agent }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => resolve());
      res.on("error", () => resolve());
    });
    req.on("error", () => resolve());
  });
}

async function page(): Promise<void> {
  const objects = Math.round(between(r, a.objMin, a.objMax));
  // Object sizes are heavy-tailed: most small, a few large (images, scripts).
  const sizes = Array.from({ length: objects }, () =>
    Math.round(1024 * a.kbMin * (a.kbMax / a.kbMin) ** (r() ** 2)),
  );
  await fetch(Math.round(between(r, 8, 40) * 1024));
  await Promise.all(sizes.map(fetch));
}

async function main(): Promise<void> {
  for (;;) {
    await page();
    // Think time: mostly short, sometimes long (a log-uniform draw).
    await sleep(1000 * a.gapMin * (a.gapMax / a.gapMin) ** r());
  }
}
onStop(() => agent.destroy());
void main();
