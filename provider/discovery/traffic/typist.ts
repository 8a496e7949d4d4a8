// Traffic program: an interactive ssh session. Runs the real ssh client to `cat` on the peer (which echoes
// every keystroke back) and types words a character at a time, pausing between words and lines.
// Usage: node typist.js --seed S --cps CHARS_PER_SECOND -- ssh ARGV...
import { spawn } from "node:child_process";

import { args, between, onStop, rng, sleep } from "./common";

const sep = process.argv.indexOf("--");
const a = args(process.argv.slice(2, sep), ["seed", "cps"]);
const sshArgv = process.argv.slice(sep + 1);
const r = rng(a.seed);
const ssh = spawn(sshArgv[0], sshArgv.slice(1), { stdio: ["pipe", "ignore", "ignore"] });
ssh.on("exit", () => process.exit(0));
ssh.stdin.on("error", () => undefined);

async function main(): Promise<void> {
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (;;) {
    const word = Array.from({ length: Math.round(between(r, 2, 9)) }, () => letters[Math.floor(r() * 26)]);
    for (const ch of word) {
      ssh.stdin.write(ch);
      await sleep(between(r, 0.5, 1.5) * (1000 / a.cps));
    }
    ssh.stdin.write(r() < 0.2 ? "\n" : " ");
    // Pauses between words; now and then a longer one (reading output, thinking).
    await sleep(r() < 0.15 ? between(r, 1500, 4000) : between(r, 150, 600));
  }
}
onStop(() => ssh.kill("SIGTERM"));
void main();
