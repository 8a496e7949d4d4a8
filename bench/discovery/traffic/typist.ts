// Traffic program: an interactive session. Runs a real client (ssh to `cat` or a shell, socat to a remote
// shell) and types into it like a person: a character at a time with pauses between words and lines
// (`--mode char`, the default), or whole command lines after a pause to read the output (`--mode line`,
// what a terminal in canonical mode or a line-mode telnet sends), or machine-paced lines (`--mode feed`, a
// program feeding a database client one statement every few tens of milliseconds).
// Usage: node typist.js --seed S --cps CHARS_PER_SECOND [--mode char|line|feed --lines "a|b" --gapMin s
//        --gapMax s] -- ARGV...
import { spawn } from "node:child_process";

import { args, between, onStop, rng, sleep } from "./common";

const sep = process.argv.indexOf("--");
const a = args(process.argv.slice(2, sep), ["seed", "cps"], ["mode", "lines"]);
const argv = process.argv.slice(sep + 1);
const r = rng(a.seed);
const mode = String(a.mode ?? "char");
const lines = String(a.lines ?? "ls -l /|echo hello|cat /etc/hostname|uptime|date|ls /tmp|pwd").split("|");
const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "ignore", "ignore"] });
child.on("exit", () => process.exit(0));
child.stdin.on("error", () => undefined);

async function typeChars(): Promise<void> {
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (;;) {
    const word = Array.from({ length: Math.round(between(r, 2, 9)) }, () => letters[Math.floor(r() * 26)]);
    for (const ch of word) {
      child.stdin.write(ch);
      await sleep(between(r, 0.5, 1.5) * (1000 / a.cps));
    }
    child.stdin.write(r() < 0.2 ? "\n" : " ");
    // Pauses between words; now and then a longer one (reading output, thinking).
    await sleep(r() < 0.15 ? between(r, 1500, 4000) : between(r, 150, 600));
  }
}

async function typeLines(): Promise<void> {
  const [lo, hi] = [Number(a.gapMin ?? 1), Number(a.gapMax ?? 4)];
  for (;;) {
    const line = lines[Math.floor(r() * lines.length)];
    if (mode === "line") {
      // A person types the line (the terminal holds it), then it goes at once on Enter.
      await sleep((line.length * 1000) / a.cps);
    }
    child.stdin.write(`${line}\n`);
    await sleep(1000 * between(r, lo, hi));
  }
}

onStop(() => child.kill("SIGTERM"));
void (mode === "char" ? typeChars() : typeLines());
