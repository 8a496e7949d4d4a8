// Adds up the CPU profiles of a directory (provider-hook.ts's parts) and prints the functions with the most
// self time, grouped by where their code lives (our provider, @pulumi/pulumi, grpc, node-ssh, node itself).
//   node dist/bench/profile/summarise.js <dir> [top=25]
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function area(url: string): string {
  if (url === "") return "(native / idle / gc)";
  if (/node_modules\/pulumi-netpersona\/|\/dist\/provider\//.test(url)) return "netpersona provider";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return m[1];
  if (url.startsWith("node:")) return "node";
  return "other";
}

export function summarise(dir: string, top = 25): string {
  const self = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalMs = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".cpuprofile"))) {
    const p = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const n = byId.get(samples[i]);
      if (!n) continue;
      const ms = (deltas[i] ?? 0) / 1000;
      totalMs += ms;
      const fr = n.callFrame;
      const key = `${fr.functionName || "(anonymous)"} ${fr.url ? `${fr.url.replace(/^.*node_modules\//, "")}:${fr.lineNumber + 1}` : ""}`;
      self.set(key, (self.get(key) ?? 0) + ms);
      const a = fr.functionName === "(idle)" ? "(idle)" : area(fr.url);
      byArea.set(a, (byArea.get(a) ?? 0) + ms);
    }
  }
  const pct = (ms: number) => `${((100 * ms) / totalMs).toFixed(1)} %`;
  const lines = [`profiled ${(totalMs / 1000).toFixed(1)} s of the provider process`, "", "by area:"];
  for (const [a, ms] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 12))
    lines.push(`  ${pct(ms).padStart(7)}  ${(ms / 1000).toFixed(2)} s  ${a}`);
  lines.push("", `top ${top} functions by self time:`);
  for (const [k, ms] of [...self].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    lines.push(`  ${pct(ms).padStart(7)}  ${ms.toFixed(0).padStart(6)} ms  ${k}`);
  }
  return lines.join("\n");
}

if (require.main === module) {
  const [dir, top] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: summarise.js <dir> [top]");
    process.exit(2);
  }
  console.log(summarise(dir, top ? Number(top) : 25));
}
