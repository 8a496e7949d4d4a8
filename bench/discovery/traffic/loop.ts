// Traffic program: runs a real client program again and again: every `--period` seconds (paced, e.g. video
// segments fetched by curl) or after a random pause in [gapMin, gapMax] seconds once the last run ended
// (page loads, benchmark batches, file copies). `{}` in the command is replaced by `--count` items drawn
// from `--pick` (comma-separated), e.g. the objects of a page.
// Usage: node loop.js --seed S (--period P | --gapMin A --gapMax B) [--pick a,b,c --count N] -- ARGV...
import { spawn } from "node:child_process";

import { args, between, onStop, rng, sleep } from "./common";

const sep = process.argv.indexOf("--");
const a = args(process.argv.slice(2, sep), ["seed"], ["pick"]);
const argv = process.argv.slice(sep + 1);
const r = rng(a.seed);
const pick = a.pick ? String(a.pick).split(",") : [];
const count = Number(a.count ?? 1);
let current: ReturnType<typeof spawn> | undefined;

function once(): Promise<void> {
  const items = Array.from({ length: count }, () => pick[Math.floor(r() * pick.length)] ?? "");
  const full = argv.flatMap((x) => (x.includes("{}") ? items.map((it) => x.replace("{}", it)) : [x]));
  return new Promise((resolve) => {
    current = spawn(full[0], full.slice(1), { stdio: "ignore" });
    current.on("exit", () => resolve());
    current.on("error", () => resolve());
  });
}

async function main(): Promise<void> {
  let next = Date.now();
  for (;;) {
    if (a.period) {
      void once();
      next += Number(a.period) * 1000;
      await sleep(Math.max(0, next - Date.now()));
    } else {
      await once();
      await sleep(1000 * between(r, Number(a.gapMin ?? 1), Number(a.gapMax ?? 3)));
    }
  }
}
onStop(() => current?.kill("SIGTERM"));
void main();
