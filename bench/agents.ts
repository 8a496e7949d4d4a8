// Real agents in lab hosts for the benchmarks that need them (convergence, footprint): the bundle
// (dist/agent/netpersona-agent.js) started inside the host's namespace with certificates from a fresh stack CA,
// exactly as the Agent resource starts it, minus SSH. Removed with the lab (lab down kills what runs inside).
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { connectAgent, type AgentConnection } from "../provider/agent/rpc/client";
import { AGENT_NODE_FLAGS, agentProcessEnv } from "../provider/bootstrap/agent-launch";
import type { LabHost, LabInventory } from "../provider/lab";
import { createCa, issueAgentCert, issueClientCert } from "../provider/pki";
import type { AgentReach } from "../provider/resources/agent";
import {
  grantFeedback as provideFeedbackGrant,
  revokeFeedback,
} from "../provider/resources/migration-feedback";
import { start } from "../provider/util/exec";

/** The agent the benchmarks start; NETPERSONA_BENCH_AGENT_BUNDLE points at another build (before/after runs). */
export const AGENT_BUNDLE =
  process.env.NETPERSONA_BENCH_AGENT_BUNDLE ?? path.join(__dirname, "..", "agent", "netpersona-agent.js");
export const AGENT_PORT = 7443;

export interface BenchAgent {
  host: LabHost;
  endpoint: string;
  pid: number;
  /** Keeps the certificate the agent presents (a session's source grants feedback to it). */
  client: AgentConnection;
  /** How the provider reaches the agent (a Migration's `source`/`destination`). */
  reach: AgentReach;
  /** The agent's state directory (--state-dir). */
  stateDir: string;
  /** Everything the agent wrote to stdout and stderr (Node's warnings go to stderr). */
  logText(): string;
  stop(): Promise<void>;
}

export async function benchPki() {
  const ca = await createCa({ commonName: "netpersona bench" });
  const client = await issueClientCert(ca, { commonName: "bench" });
  return { ca, client };
}

function listening(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`agent did not start in ${timeoutMs} ms: ${out}`)),
      timeoutMs,
    );
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(" listening on ")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited ${code}: ${out}`));
    });
  });
}

/** Starts the agent in `host` (listening on its address, port 7443, echo responder on 7047). */
export async function startBenchAgent(
  inv: LabInventory,
  host: LabHost,
  pki: Awaited<ReturnType<typeof benchPki>>,
): Promise<BenchAgent> {
  const dir = path.join(inv.stateDir, "bench-agents", host.name);
  mkdirSync(path.join(dir, "state"), { recursive: true, mode: 0o700 });
  const cert = await issueAgentCert(pki.ca, { commonName: host.name, ips: [host.address] });
  const files = { ca: pki.ca.certPem, cert: cert.certPem, key: cert.keyPem };
  for (const [name, pem] of Object.entries(files))
    writeFileSync(path.join(dir, `${name}.pem`), pem, { mode: 0o600 });
  // Node flags and environment as an installed agent runs (provider/bootstrap/agent-launch.ts).
  // NETPERSONA_BENCH_AGENT_NODE_ARGS: more node options for the agent, after those (a later flag wins);
  // NETPERSONA_BENCH_AGENT_PLAIN=1 leaves the flags and the environment out: both for experiments.
  const plain = process.env.NETPERSONA_BENCH_AGENT_PLAIN === "1";
  const nodeArgs = [
    ...(plain ? [] : AGENT_NODE_FLAGS),
    ...(process.env.NETPERSONA_BENCH_AGENT_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ];
  const argv = [process.execPath, ...nodeArgs, AGENT_BUNDLE, "--listen", `${host.address}:${AGENT_PORT}`];
  argv.push(
    "--state-dir",
    path.join(dir, "state"),
    "--netns-resolv-conf",
    `/etc/netns/${host.netns}/resolv.conf`,
  );
  for (const name of Object.keys(files)) argv.push(`--${name}`, path.join(dir, `${name}.pem`));
  const env = plain ? process.env : agentProcessEnv();
  const child = start(argv, { netns: host.netns, env, stdio: ["ignore", "pipe", "pipe"] });
  const logPath = path.join(dir, "agent.log");
  const logFile = createWriteStream(logPath);
  child.stdout!.pipe(logFile);
  child.stderr!.on("data", (d: Buffer) => {
    logFile.write(d);
    process.stderr.write(d);
  });
  await listening(child, 30_000);
  const endpoint = `${host.address}:${AGENT_PORT}`;
  const reach = {
    endpoint,
    caCertPem: pki.ca.certPem,
    clientCertPem: pki.client.certPem,
    clientKeyPem: pki.client.keyPem,
  };
  const client = connectAgent({
    endpoint,
    caPem: pki.ca.certPem,
    certPem: pki.client.certPem,
    keyPem: pki.client.keyPem,
    keepServerCertificate: true,
  });
  return {
    host,
    endpoint,
    pid: child.pid!,
    client,
    reach,
    stateDir: path.join(dir, "state"),
    logText: () => readFileSync(logPath, "utf8"),
    stop: async () => {
      client.close();
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** What the Migration provider does before StartSession, with its own function: the source agent lets the
 *  destination's certificate (as `dst.client` sees it) stream feedback for `sessionId`. Throws when it does
 *  not: the benchmarks measure sessions with feedback. Returns the revoke for when the session has ended. */
export async function grantFeedback(
  src: BenchAgent,
  dst: BenchAgent,
  sessionId: string,
  maxDurationMs: number,
): Promise<() => Promise<void>> {
  const name = `bench ${sessionId}`;
  if (!(await provideFeedbackGrant(src.reach, dst.client, sessionId, maxDurationMs, name)))
    throw new Error(`the source agent at ${src.endpoint} did not grant session ${sessionId}'s feedback`);
  return () => revokeFeedback(src.reach, sessionId, name);
}
