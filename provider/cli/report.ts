// `netpersona report`: an SVG chart of a migration session from its history (Migration.history).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import type { Command } from "commander";

import { renderSessionSvg } from "../report/svg";
import type { HistoryEntry } from "../resources/migration";

/** Reads a history: a JSON array of entries, or an object with a `history` array (e.g. stack outputs). */
export function readHistory(file: string): HistoryEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(data) ? data : (data as { history?: unknown })?.history;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((e) => e && typeof e.time === "string" && typeof e.weight === "number")
  ) {
    throw new Error(
      `${file} holds no session history: give a JSON array of history entries, or \`pulumi stack output --json\` of a stack that exports a Migration's history`,
    );
  }
  return list as HistoryEntry[];
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write an SVG chart of a migration session (metrics, blend weight, adjustments over time)")
    .requiredOption("--history <file>", "JSON: Migration.history, or stack outputs with a `history` field")
    .option("--out <file>", "where to write the SVG", "out/report/session.svg")
    .option("--title <text>", "chart title", "netpersona migration session")
    .action((opts: { history: string; out: string; title: string }) => {
      const history = readHistory(opts.history);
      mkdirSync(dirname(opts.out), { recursive: true });
      writeFileSync(opts.out, renderSessionSvg(history, opts.title));
      process.stdout.write(`wrote ${opts.out} (${history.length} events)\n`);
    });
}
