// The `netpersona` command: one surface for the lab, the environment check, discovery and reports.
import { Command, CommanderError } from "commander";

import { registerDiscover } from "./discover";
import { registerDoctor } from "./doctor";
import { registerLab } from "./lab";
import { registerMonitoring } from "./monitoring";
import { registerFormats } from "./formats";
import { registerReport } from "./report";
import { registerReview } from "./review";

export function buildProgram(): Command {
  const program = new Command("netpersona")
    .description("Network personas for Linux hosts: lab, environment check, discovery, reports, reviews")
    .version(require("../../../package.json").version)
    .showHelpAfterError();
  registerDoctor(program);
  registerLab(program);
  registerDiscover(program);
  registerReport(program);
  registerReview(program);
  registerMonitoring(program);
  registerFormats(program);
  return program;
}

/** Runs the CLI; errors print one clear line (no stack trace) and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`netpersona: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.NETPERSONA_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}
