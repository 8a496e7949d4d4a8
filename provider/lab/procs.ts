// Finding and ending the processes of a lab: everything inside its namespaces, plus anything whose command
// line names its state folder (sshd, DNS responders), even when the namespace is already gone.
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

import { run } from "../util/exec";

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(["ip", "netns", "list"]);
  return stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n);
}

export async function netnsPids(netns: string): Promise<number[]> {
  const { stdout, code } = await run(["ip", "netns", "pids", netns], { check: false });
  if (code !== 0) return [];
  return stdout
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
}

/** Pids of processes whose command line contains `needle`. */
export async function pidsByCmdline(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, "utf8").catch(() => "");
    if (cmd.replace(/\0/g, " ").includes(needle) && alive(Number(e))) out.push(Number(e));
  }
  return out;
}

/** Running (a zombie left for a non-reaping init counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL for those still alive after a grace period. */
export async function killPids(pids: number[], graceMs = 2000): Promise<void> {
  const mine = pids.filter((p) => p !== process.pid && p > 1);
  for (const p of mine) {
    try {
      process.kill(p, "SIGTERM");
    } catch {
      /* already gone */
    }
  }
  const until = Date.now() + graceMs;
  while (mine.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  for (const p of mine.filter(alive)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  const hard = Date.now() + 2000;
  while (mine.some(alive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 25));
}
