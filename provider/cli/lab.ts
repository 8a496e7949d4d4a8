// `netpersona lab ...`: owned by the Lab work (issue 3); registered here so the CLI compiles meanwhile.
import type { Command } from "commander";

export function registerLab(_program: Command): void {}
