// Entry point of the agent bundle (dist/agent/netpersona-agent.js):
//   node netpersona-agent.js --listen ADDR:PORT --state-dir DIR --ca FILE --cert FILE --key FILE
//                            [--netns-resolv-conf PATH] [--probe-dns-name NAME] [--probe-timeout-ms N]
//                            [--echo-port N] [--echo-address IP] [--echo-allow CIDR,...]
//                            [--metrics-listen ADDR:PORT]
// Run it inside the host's network namespace; it manages the namespace it runs in.
// The same file is the rollback watchdog of safe apply: `node netpersona-agent.js --safe-apply-watchdog DIR ID`
// (the agent starts it, detached, for every apply; the bundle has no separate watchdog-main.js).
import { isIP } from "node:net";

import { Command, CommanderError, InvalidArgumentError } from "commander";

import { runWatchdog, startWatchdog, WATCHDOG_FLAG } from "./safe-apply/watchdog";
import { AGENT_VERSION } from "./version";

interface Flags {
  listen: string;
  stateDir: string;
  ca: string;
  cert: string;
  key: string;
  netnsResolvConf?: string;
  probeDnsName: string;
  probeTimeoutMs: number;
  echoPort: number;
  echoAddress?: string;
  echoAllow: string;
  metricsListen?: string;
}

function echoPort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("give a UDP port 0..65535");
  return n;
}

function concreteIp(v: string): string {
  if (isIP(v) === 0 || v === "0.0.0.0" || v === "::") {
    throw new InvalidArgumentError("give one concrete IPv4 or IPv6 address of this host");
  }
  return v;
}

function probeTimeout(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > 60_000) {
    throw new InvalidArgumentError("give whole milliseconds from 100 to 60000");
  }
  return n;
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
    .option(
      "--probe-dns-name <name>",
      "name the safe-apply DNS probe asks the first nameserver for (any answer passes); '' turns it off",
      "localhost",
    )
    .option("--probe-timeout-ms <n>", "timeout of each safe-apply probe", probeTimeout, 2000)
    .option("--echo-port <port>", "UDP port of the echo responder peers probe (0: none)", echoPort, 7047)
    .option(
      "--echo-address <ip>",
      "address of the echo responder when --listen is 0.0.0.0 or :: (default: the default route's source address)",
      concreteIp,
    )
    .option(
      "--echo-allow <cidr,...>",
      "addresses/prefixes whose echo probes are answered besides session peers and peers this agent probes",
      "",
    )
    .option(
      "--metrics-listen <addr:port>",
      "serve Prometheus metrics over HTTPS (client certificates of the monitoring or provider role) on this address; default: off",
    )
    .exitOverride();
  program.parse(argv, { from: "node" });
  const f = program.opts<Flags>();
  // Loaded here, not at the top: a watchdog (this file run with --safe-apply-watchdog) never loads gRPC.
  const { startDaemon } = await import("./daemon");
  const { createHostController } = await import("./host");
  const host = createHostController(f.netnsResolvConf ? { resolvConfPath: f.netnsResolvConf } : {});
  await startDaemon(
    {
      listen: f.listen,
      stateDir: f.stateDir,
      caFile: f.ca,
      certFile: f.cert,
      keyFile: f.key,
      echoPort: f.echoPort,
      echoAddress: f.echoAddress,
      echoAllow: f.echoAllow,
      metricsListen: f.metricsListen,
    },
    host,
    {
      // The watchdog is this very file run again: it survives the agent (detached, its own session).
      env: { startWatchdog: (dir, id) => startWatchdog(dir, id, [__filename, WATCHDOG_FLAG]) },
      dnsName: f.probeDnsName,
      probeTimeoutMs: f.probeTimeoutMs,
    },
  );
}

if (process.argv[2] === WATCHDOG_FLAG) {
  runWatchdog(process.argv[3], process.argv[4]);
} else {
  main(process.argv).catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`netpersona-agent: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
}
