// The plugin's progress lines in the CLI's output. The engine shows a dynamic provider's stdout, but keeps a
// resource plugin's stdout and stderr in its debug log only (sdk/go/common/resource/plugin/plugin.go): a
// plugin reports through the engine's Log service instead, which the engine started it with the address of.
// Each line is attributed to its resource's URN, so the CLI shows it next to that resource while it runs and
// under it in the diagnostics.
import { dirname } from "node:path";

import type { EngineClient } from "@pulumi/pulumi/proto/engine_grpc_pb";

/** Sends one line for a resource; `flush` resolves once every line sent so far reached the engine. */
export interface ResourceLog {
  (urn: string, line: string): void;
  flush(): Promise<void>;
}

/** The engine's address among a resource plugin's arguments, as the Node SDK's own provider server reads it. */
export function engineAddress(args: string[]): string | undefined {
  const { parseArgs } = require("@pulumi/pulumi/provider/internals") as {
    parseArgs(args: string[]): { engineAddress: string } | undefined;
  };
  return parseArgs(args)?.engineAddress;
}

/** Info messages to the engine at `address`, in the order sent. A line the engine does not take goes to
 *  stderr, which the engine keeps in its debug log (`pulumi up -v=9 --logtostderr`). */
export function engineLog(address: string): ResourceLog {
  // The gRPC library the SDK's generated client was built against (one copy in any sane install).
  const sdk = dirname(require.resolve("@pulumi/pulumi/package.json"));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdk] })) as typeof import("@grpc/grpc-js");
  const { EngineClient: Client } =
    require("@pulumi/pulumi/proto/engine_grpc_pb") as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
  const { LogRequest, LogSeverity } =
    require("@pulumi/pulumi/proto/engine_pb") as typeof import("@pulumi/pulumi/proto/engine_pb");
  const client: EngineClient = new Client(address, grpc.credentials.createInsecure());
  let last = Promise.resolve();
  const log = (urn: string, line: string) => {
    const req = new LogRequest().setSeverity(LogSeverity.INFO).setMessage(line).setUrn(urn);
    last = last.then(
      () =>
        new Promise<void>((resolve) =>
          client.log(req, (err) => {
            if (err) console.error(`${line} (not delivered to the engine: ${err.message})`);
            resolve();
          }),
        ),
    );
  };
  return Object.assign(log, { flush: () => last });
}
