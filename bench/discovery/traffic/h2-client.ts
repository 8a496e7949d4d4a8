// Traffic program: web browsing over HTTP/2: one connection, each page's objects requested at once as
// concurrent streams (heavy-tailed sizes), think time between pages.
// Usage: node h2-client.js --host ADDR --port N --seed S --gapMin s --gapMax s --objMin n --objMax n
//        --kbMin k --kbMax k
import { connect } from "node:http2";

import { args, between, onStop, rng, sleep } from "./common";

const a = args(
  process.argv.slice(2),
  ["port", "seed", "gapMin", "gapMax", "objMin", "objMax", "kbMin", "kbMax"],
  ["host"],
);
const r = rng(a.seed);
const session = connect(`http://${String(a.host)}:${a.port}`);
session.on("error", () => process.exit(0));

function fetch(size: number): Promise<void> {
  return new Promise((resolve) => {
    const req = session.request({ ":path": `/bytes/${size}` });
    req.on("data", () => undefined);
    req.on("end", () => resolve());
    req.on("error", () => resolve());
    req.end();
  });
}

async function main(): Promise<void> {
  for (;;) {
    const objects = Math.round(between(r, a.objMin, a.objMax));
    const sizes = Array.from({ length: objects }, () =>
      Math.round(1024 * a.kbMin * (a.kbMax / a.kbMin) ** (r() ** 2)),
    );
    await fetch(Math.round(between(r, 8, 40) * 1024));
    await Promise.all(sizes.map(fetch));
    await sleep(1000 * a.gapMin * (a.gapMax / a.gapMin) ** r());
  }
}
onStop(() => session.close());
void main();
