// `netpersona discover`: sample a host's live TCP flows, classify them, recommend a persona per class.
// `--lab NAME --host h1` samples inside that lab host's namespace; without them, this machine's current
// namespace. Remote hosts go through their agent's Discover RPC.
import type { Command } from "commander";

import { discover, type DiscoveryResult } from "../discovery";
import { labStatus } from "../lab";
import { checkLabName } from "../util/names";

/** `30s`, `2m`, `500ms` or a bare number of `bareUnit`s, in milliseconds. */
export function parseDuration(field: string, v: string, bareUnit: "s" | "ms"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`${field}: '${v}' is not a duration such as 30s, 2m or 500ms`);
  const unit = m[2] ?? bareUnit;
  return Math.round(Number(m[1]) * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000));
}

const HOST_RE = /^h[1-9]\d{0,2}$/;

export function formatDiscovery(r: DiscoveryResult): string {
  const s = r.summary;
  const lines = [
    `discovery on ${s.netns ?? "this host"}: ${s.samples} samples over ${s.windowMs / 1000} s, ` +
      `${s.flowsWithData} flows with data (${s.bytesInFlows} bytes; interfaces moved ${s.interfaceBytes})`,
  ];
  if (r.note) return [...lines, r.note].join("\n");
  for (const c of s.classes)
    lines.push(
      `  ${c.applicationClass.padEnd(16)} ${String(c.flows).padStart(4)} flows ${(c.byteShare * 100).toFixed(1).padStart(5)}% of bytes`,
    );
  lines.push("flows (most bytes first):");
  for (const f of r.flows.slice(0, 25)) {
    const k = f.key;
    const b = f.features.bytesSent + f.features.bytesReceived;
    lines.push(
      `  ${k.localAddress}:${k.localPort} -> ${k.remoteAddress}:${k.remotePort} ${f.features.process ?? "?"} ` +
        `${f.applicationClass} (${f.confidence.toFixed(2)}) ${b} B: ${f.why}`,
    );
  }
  if (r.flows.length > 25) lines.push(`  ... ${r.flows.length - 25} more (use --json)`);
  lines.push("application sessions (flows tied by process and peer service, most bytes first):");
  for (const x of r.sessions.slice(0, 15))
    lines.push(
      `  ${x.tie}: ${x.flows} flow${x.flows === 1 ? "" : "s"}, ${x.bytes} B, ${x.applicationClass} (${x.confidence.toFixed(2)})`,
    );
  if (r.sessions.length > 15) lines.push(`  ... ${r.sessions.length - 15} more (use --json)`);
  if (s.conntrackNote) lines.push(`conntrack not used (${s.conntrackNote}): short connections may be missed`);
  lines.push("recommended personas, one per class, each for its own flows:");
  for (const rec of r.recommendations) {
    lines.push(`  ${rec.applicationClass} (${rec.flowCount} flows): ${JSON.stringify(rec.persona)}`);
    lines.push(`    covers ${rec.covers}`);
    lines.push(`    ${rec.reason}`);
  }
  return lines.join("\n");
}

export function registerDiscover(program: Command): void {
  program
    .command("discover")
    .description("classify a host's live traffic and recommend a persona per kind of application")
    .option("--lab <name>", "sample inside a lab host (with --host)")
    .option("--host <host>", "the lab host, e.g. h1")
    .option("--window <duration>", "how long to sample, e.g. 30s (1s..600s)", "30s")
    .option("--interval <duration>", "time between socket samples, e.g. 200ms", "200ms")
    .option("--no-hints", "classify by traffic features only (ignore process names and well-known ports)")
    .option("--json", "print the full result as JSON")
    .action(
      async (o: {
        lab?: string;
        host?: string;
        window: string;
        interval: string;
        hints: boolean;
        json?: boolean;
      }) => {
        let netns: string | undefined;
        if (o.lab !== undefined || o.host !== undefined) {
          if (o.lab === undefined || o.host === undefined)
            throw new Error(
              "discover: --lab NAME and --host hN go together; remote hosts are sampled by their agent (Discover RPC)",
            );
          checkLabName("--lab", o.lab);
          if (!HOST_RE.test(o.host))
            throw new Error(`--host: '${o.host}' must be a lab host name such as h1`);
          const inv = await labStatus(o.lab);
          const h = inv.hosts.find((x) => x.name === o.host);
          if (!h)
            throw new Error(
              `--host: lab ${o.lab} has no host ${o.host} (it has ${inv.hosts.map((x) => x.name).join(", ")})`,
            );
          netns = h.netns;
        }
        const result = await discover({
          netns,
          windowMs: parseDuration("--window", o.window, "s"),
          sampleEveryMs: parseDuration("--interval", o.interval, "ms"),
          hints: o.hints,
        });
        process.stdout.write(
          o.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatDiscovery(result)}\n`,
        );
      },
    );
}
