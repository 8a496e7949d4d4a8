// Reading processes from /proc for the footprint figures: resident memory, CPU time, and the descendants of a
// process (to find the Pulumi engine and the dynamic-provider process a `pulumi up` of this process started).
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100;

function read(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** Resident set size in MB (VmRSS), NaN when the process is gone. */
export function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(read(pid, "status") ?? "");
  return m ? Number(m[1]) / 1024 : NaN;
}

/** User + system CPU time in ms, NaN when the process is gone. */
export function cpuMs(pid: number): number {
  const stat = read(pid, "stat");
  if (!stat) return NaN;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

export function cmdline(pid: number): string {
  return (read(pid, "cmdline") ?? "").split("\0").join(" ").trim();
}

/** Every live descendant of `root`. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(Number(name), "stat");
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parent.set(Number(name), Number(f[1]));
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Samples the RSS of this process's descendants whose command line matches, every `everyMs`; returns the peak. */
export function watchPeakRss(
  match: RegExp,
  everyMs = 250,
): { stop(): { peakMB: number; processes: number } } {
  let peak = 0;
  const seen = new Set<number>();
  const tick = () => {
    let sum = 0;
    for (const pid of descendants(process.pid)) {
      if (!match.test(cmdline(pid))) continue;
      seen.add(pid);
      const r = rssMB(pid);
      if (Number.isFinite(r)) sum += r;
    }
    peak = Math.max(peak, sum);
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      return { peakMB: Math.round(peak * 10) / 10, processes: seen.size };
    },
  };
}
