// The agent daemon: loads its certificates and state, serves the agent API over mutual TLS only (clients must
// present a certificate signed by the stack CA; plaintext and unknown CAs are refused in the handshake), and
// shuts down cleanly on SIGTERM/SIGINT. State survives kill -9 (see state.ts); so does an apply awaiting
// confirmation, whose watchdog process rolls it back at the deadline whether the agent lives or not.
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";

import { listenHostOf, startSessionParts } from "./session/parts";
import type { NetpersonaHostController } from "./host/controller";
import type { SafeApplyConfig } from "./persona/probes";
import { createAgentServer, type AgentServer } from "./server";
import type { DiscoverySource, MetricsSource } from "./session/handlers";
import { serverCredentials, type TlsMaterial } from "./rpc/tls";
import { StateStore } from "./state";
import { hostName } from "./info";
import { AGENT_VERSION } from "./version";

export interface DaemonOptions {
  /** host:port or [v6]:port; port 0 picks a free port (printed on the "listening" line). */
  listen: string;
  stateDir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** UDP port of the echo responder that peers probe (default 7047); 0 turns it off. */
  echoPort?: number;
  /** The echo responder's address when `listen` is 0.0.0.0 or :: (default: the default route's source). */
  echoAddress?: string;
  /** Addresses/CIDR prefixes (comma-separated) the responder answers besides session peers (default none). */
  echoAllow?: string;
  /** host:port (or [v6]:port) of the HTTPS metrics endpoint for Prometheus; absent: no endpoint. */
  metricsListen?: string;
}

/** Checks `host:port` / `[v6]:port` and returns it unchanged. */
export function checkListenAddress(addr: string): string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(addr);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const family = host ? isIP(host) : 0;
  if (!m || family === 0 || (m[1] !== undefined && family !== 6) || port > 65535) {
    throw new Error(`--listen: '${addr}' must be IPv4:PORT or [IPv6]:PORT, e.g. 10.0.0.2:7443 or [::1]:7443`);
  }
  return addr;
}

async function readPem(flag: string, path: string, kind: RegExp): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!kind.test(text))
    throw new Error(`${flag}: ${path} holds no ${kind.source.replace(/\\/g, "")} PEM block`);
  return text;
}

export async function loadTls(o: DaemonOptions): Promise<TlsMaterial> {
  return {
    caPem: await readPem("--ca", o.caFile, /-----BEGIN CERTIFICATE-----/),
    certPem: await readPem("--cert", o.certFile, /-----BEGIN CERTIFICATE-----/),
    keyPem: await readPem("--key", o.keyFile, /-----BEGIN (EC |)PRIVATE KEY-----/),
  };
}

export function logLine(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** Starts the daemon; resolves once it listens, with the server and the bound port. */
/** Discover RPC: samples this host's flows (the agent runs in the host's namespace) and classifies them. */
const discoverySource: DiscoverySource = {
  async discover(req, signal) {
    const { discover, toDiscoverResponse } = await import("../discovery");
    const r = await discover({
      windowMs: req.window_seconds * 1000,
      sampleEveryMs: req.sample_interval_ms || 200,
      signal,
    });
    return toDiscoverResponse(r);
  },
};

export async function startDaemon(
  o: DaemonOptions,
  host: NetpersonaHostController,
  safeApply: SafeApplyConfig = {},
): Promise<{ agent: AgentServer; port: number }> {
  const listen = checkListenAddress(o.listen);
  const tls = await loadTls(o);
  const store = await StateStore.open(o.stateDir);
  // Finishes and folds what a crash or kill -9 left in the safe-apply journal before serving (recoverOnStart).
  // Migration sessions: echo responder, StreamMetrics probes, the session runner (feedback over mTLS).
  const parts = await startSessionParts({
    host,
    store,
    stateDir: o.stateDir,
    tls,
    listenHost: listenHostOf(listen),
    echoPort: o.echoPort,
    echoAddress: o.echoAddress,
    echoAllow: o.echoAllow,
    ...(safeApply.dnsName !== undefined && { dnsName: safeApply.dnsName }),
    log: logLine,
  });
  const metricsListen = o.metricsListen === undefined ? undefined : checkListenAddress(o.metricsListen);
  const exporter = metricsListen ? await import("./exporter") : undefined;
  const peers = exporter ? new exporter.PeerBook() : undefined;
  const agent = await createAgentServer({
    host,
    store,
    version: AGENT_VERSION,
    log: logLine,
    safeApply,
    sessionRunner: parts.sessionRunner,
    metrics: peers ? notingSamples(parts.metrics, peers) : parts.metrics,
    discovery: discoverySource,
  });
  const port = await agent.listen(listen, serverCredentials(tls));
  agent.sessions.resumeAll(parts.sessionRunner, logLine); // sessions a stop or kill -9 interrupted
  const shown = listen.replace(/:\d+$/, `:${port}`);
  logLine(`netpersona-agent ${AGENT_VERSION} listening on ${shown} (mTLS), state in ${o.stateDir}`);
  let closeMetrics = async () => {};
  if (exporter && peers && metricsListen) {
    const reg = exporter.createAgentRegistry({
      version: AGENT_VERSION,
      hostname: hostName(),
      state: () => store.get(),
      observeEvents: (cb) => agent.sessions.observe(cb),
      watchState: (cb) => store.watch(cb),
      peers,
      interfaces: exporter.readInterfaces,
    });
    const m = await exporter
      .startMetricsServer({
        host: listenHostOf(metricsListen),
        port: Number(/:(\d+)$/.exec(metricsListen)?.[1]),
        tls,
        registry: reg.registry,
        log: logLine,
      })
      .catch((err: Error) => {
        throw new Error(`--metrics-listen ${metricsListen}: ${err.message}`, { cause: err });
      });
    closeMetrics = async () => {
      reg.close();
      await m.close();
    };
    const where = metricsListen.replace(/:\d+$/, `:${m.port}`);
    logLine(`metrics on https://${where}/metrics (client certificates of the monitoring or provider role)`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logLine(`${signal}: stopping`);
    agent
      .close()
      .then(() => closeMetrics())
      .then(() => parts.close())
      .then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return { agent, port };
}

/** The metrics source, keeping each sample's peers for the exporter. */
function notingSamples(source: MetricsSource, peers: import("./exporter").PeerBook): MetricsSource {
  return {
    async sample(p, probesPerSample, signal) {
      const s = await source.sample(p, probesPerSample, signal);
      peers.noteSample(s);
      return s;
    },
  };
}
