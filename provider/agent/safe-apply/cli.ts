// Safe apply from a shell (operators, tests): the same functions the agent uses.
//   node cli.js apply --state-dir D --timeout-ms N --persona JSON [--netns NS] [--probes JSON] [--hold]
//   node cli.js confirm --state-dir D --id ID
//   node cli.js rollback --state-dir D
//   node cli.js recover --state-dir D
// `apply` prints its result as one JSON line; with --hold it then stays alive (like an agent awaiting the
// controller's confirm) until it is signalled.
import { parseArgs } from "node:util";

import { personaSchema } from "../../persona/schema";
import { createHostController } from "../host/controller";
import type { ProbeSpec } from "./probes";
import { confirm, recoverOnStart, rollback, safeApply } from "./safe-apply";

async function main(): Promise<unknown> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "state-dir": { type: "string" },
      "timeout-ms": { type: "string", default: "60000" },
      persona: { type: "string" },
      netns: { type: "string" },
      "resolv-conf": { type: "string" },
      probes: { type: "string" },
      id: { type: "string" },
      hold: { type: "boolean", default: false },
    },
  });
  const stateDir = values["state-dir"];
  if (!stateDir) throw new Error("--state-dir is required");
  switch (positionals[0]) {
    case "apply": {
      const controller = createHostController({ netns: values.netns, resolvConfPath: values["resolv-conf"] });
      const result = await safeApply({
        controller,
        persona: personaSchema.parse(JSON.parse(values.persona ?? "{}")),
        stateDir,
        confirmTimeoutMs: Number(values["timeout-ms"]),
        probes: values.probes ? (JSON.parse(values.probes) as ProbeSpec) : undefined,
      });
      if (values.hold) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        await new Promise(() => setInterval(() => undefined, 60_000));
      }
      return result;
    }
    case "confirm":
      if (!values.id) throw new Error("--id is required");
      return confirm(stateDir, values.id);
    case "rollback":
      return rollback(stateDir);
    case "recover":
      return recoverOnStart(stateDir);
    default:
      throw new Error("usage: cli.js apply|confirm|rollback|recover --state-dir DIR [...]");
  }
}

main().then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
