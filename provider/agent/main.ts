// Entry point of the agent bundle (dist/agent/netpersona-agent.js):
//   node netpersona-agent.js --listen ADDR:PORT --state-dir DIR --ca FILE --cert FILE --key FILE
//                            [--netns-resolv-conf PATH]
// Run it inside the host's network namespace; it manages the namespace it runs in.
import { Command, CommanderError } from "commander";

import { startDaemon } from "./daemon";
import { createHostController } from "./host/controller";
import { AGENT_VERSION } from "./version";

interface Flags {
  listen: string;
  stateDir: string;
  ca: string;
  cert: string;
  key: string;
  netnsResolvConf?: string;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command("netpersona-agent")
    .description("netpersona agent: applies network personas and measures the network, over gRPC + mTLS")
    .version(AGENT_VERSION)
    .requiredOption("--listen <addr:port>", "address to serve on, e.g. 10.0.0.2:7443 ([v6]:port for IPv6)")
    .requiredOption("--state-dir <dir>", "where the agent keeps its state (snapshot, persona, sessions)")
    .requiredOption("--ca <file>", "stack CA certificate (PEM): clients must present a certificate it signed")
    .requiredOption("--cert <file>", "this agent's certificate (PEM)")
    .requiredOption("--key <file>", "this agent's private key (PEM)")
    .option(
      "--netns-resolv-conf <path>",
      "the resolv.conf this host's processes read (default /etc/resolv.conf)",
    )
    .exitOverride();
  program.parse(argv, { from: "node" });
  const f = program.opts<Flags>();
  const host = createHostController(f.netnsResolvConf ? { resolvConfPath: f.netnsResolvConf } : {});
  await startDaemon(
    { listen: f.listen, stateDir: f.stateDir, caFile: f.ca, certFile: f.cert, keyFile: f.key },
    host,
  );
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`netpersona-agent: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
