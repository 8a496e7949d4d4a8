// One planned kernel change: what `plan` shows and what `apply` runs.
import { formatArgv, run } from "../../util/exec";
import type { PlanStep } from "./api";

export interface Action {
  step: PlanStep;
  run(): Promise<void>;
}

/** An action that runs one argument vector (in the controller's namespace). */
export function commandAction(field: string, description: string, argv: string[], netns?: string): Action {
  return {
    step: { field, description, command: argv },
    run: async () => {
      await run(argv, { netns });
    },
  };
}

/** The kernel did not read back as applied. */
export class VerifyError extends Error {
  constructor(readonly remaining: PlanStep[]) {
    super(
      `verify failed: the kernel does not read back as applied; still different:\n` +
        remaining.map((s) => `  [${s.field}] ${s.description}: ${formatArgv(s.command)}`).join("\n"),
    );
    this.name = "VerifyError";
  }
}
