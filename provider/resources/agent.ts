// Agent: bootstraps the netpersona agent on a host over SSH (host key pinned), waits until it answers over
// mutual TLS, and reports its endpoint, version, interfaces and live persona. Update upgrades the agent in
// place without touching the host's network state; delete stops and removes it.
import { isIP } from "node:net";
import { isDeepStrictEqual } from "node:util";

import type * as pulumi from "@pulumi/pulumi";

import type { AgentConnection } from "../agent/rpc/client";
import { issuesToFailures, parseWith } from "../persona/validate";
import { errorLine } from "../util/errors";
import { agentInputsSchema, type AgentInputs } from "./agent-schema";
import {
  PACKAGE_VERSION,
  VERSION_KEY,
  fieldDiff,
  knownDiffers,
  normalisedKnown,
  progress,
  userInputs,
} from "./common";

/**
 * Inputs whose change means another install: replace (and `connection.host`, another host). On the same host
 * the old agent goes first (deleteBeforeReplace): both would share the service name and the port.
 */
const REPLACE_ON = ["serviceManager", "installDir", "stateDir"];
/**
 * Inputs an update handles in place (stop, upload, start; the host's network state and the agent's state
 * directory stay): the package version and the bundle's hash (an upgrade), the CA and the provider's
 * certificate (a rotation or a renewal), the port and listen address, resolv.conf path, node and the echo
 * responder's settings (flags of the agent's command line).
 */
const REINSTALL_ON = [
  VERSION_KEY,
  "bundleHash",
  "port",
  "listenAddress",
  "caCertPem",
  "caKeyPem",
  "clientCertPem",
  "clientKeyPem",
  "resolvConfPath",
  "nodePath",
  "echo",
  "metrics",
];
/** A connection change other than its host (port, user, keys, dial settings) is only how to reach the host:
 *  an update that checks the new connection and leaves the agent running. */
const UPDATE_ON = [...REINSTALL_ON, "connection"];

export const AGENT_SECRETS = ["connection", "caKeyPem", "clientKeyPem"] as const;

const INPUT_KEYS = Object.keys(agentInputsSchema.shape);

function parseInputs(props: Record<string, unknown>): AgentInputs {
  return agentInputsSchema.parse(
    Object.fromEntries(INPUT_KEYS.filter((k) => k in props).map((k) => [k, props[k]])),
  );
}

const fmtHost = (a: string) => (isIP(a) === 6 ? `[${a}]` : a);

/** host:port where the provider reaches the agent. The SDK computes it from the Agent's arguments too, so that
 *  it stays known during a preview in which the Agent updates (see sdk/agent.ts plannedEndpoint). */
export function endpointOf(host: string, port: number | undefined, listenAddress?: string): string {
  return `${fmtHost(listenAddress ?? host)}:${port ?? 7443}`;
}

function listenOf(i: AgentInputs): { listen: string; endpoint: string } {
  const addr = i.listenAddress ?? (isIP(i.connection.host) ? i.connection.host : "0.0.0.0");
  return {
    listen: `${fmtHost(addr)}:${i.port}`,
    endpoint: endpointOf(i.connection.host, i.port, i.listenAddress),
  };
}

/** ADDR:PORT of the metrics endpoint (`--metrics-listen`), when `metrics` is set. */
function metricsListenOf(i: AgentInputs): string | undefined {
  if (!i.metrics) return undefined;
  const addr =
    i.metrics.address ??
    listenOf(i)
      .listen.replace(/:\d+$/, "")
      .replace(/^\[(.*)\]$/, "$1");
  return `${fmtHost(addr)}:${i.metrics.port}`;
}

/** Where Prometheus scrapes the agent: https://HOST:PORT/metrics (HOST as the provider reaches the agent). */
export function metricsUrlOf(i: AgentInputs): string | null {
  if (!i.metrics) return null;
  const host = i.metrics.address ?? i.listenAddress ?? i.connection.host;
  return `https://${fmtHost(host)}:${i.metrics.port}/metrics`;
}

function specOf(i: AgentInputs, serviceManager: "systemd" | "supervisor") {
  return {
    metricsListen: metricsListenOf(i),
    installDir: i.installDir,
    stateDir: i.stateDir,
    nodePath: i.nodePath,
    listen: listenOf(i).listen,
    resolvConfPath: i.resolvConfPath,
    echoAddress: i.echo?.address,
    echoAllow: i.echo?.allow,
    serviceManager,
    unitName: "netpersona-agent",
  };
}

async function withSsh<T>(
  i: AgentInputs,
  name: string,
  fn: (ssh: import("../ssh/connection").SshSession) => Promise<T>,
): Promise<T> {
  const { SshSession } = await import("../ssh/connection");
  progress(name, `connecting to ${i.connection.user}@${i.connection.host}:${i.connection.port}`);
  const ssh = await SshSession.open(i.connection, (line) => progress(name, line));
  try {
    return await fn(ssh);
  } finally {
    ssh.dispose();
  }
}

/** Where an agent answers and the certificates to reach it with (the inputs of the resources that use it). */
export interface AgentReach {
  endpoint: string;
  caCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** An mTLS connection to the agent (lazy: nothing is sent until the first call). With
 *  `keepServerCertificate`, the certificate the agent presents is kept (a Migration grants feedback to it). */
export async function connectTo(
  i: AgentReach,
  o: { keepServerCertificate?: boolean } = {},
): Promise<AgentConnection> {
  const { connectAgent } = await import("../agent/rpc/client");
  return connectAgent({
    endpoint: i.endpoint,
    caPem: i.caCertPem,
    certPem: i.clientCertPem,
    keyPem: i.clientKeyPem,
    ...o,
  });
}

/** Connects over mTLS and waits (up to `timeoutMs`) until the agent answers GetInfo. */
export async function waitForAgent(
  i: AgentReach,
  name: string,
  timeoutMs = 30_000,
  o: { keepServerCertificate?: boolean } = {},
): Promise<{ conn: AgentConnection; info: Awaited<ReturnType<AgentConnection["getInfo"]>> }> {
  const conn = await connectTo(i, o);
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      const info = await conn.getInfo({ deadlineMs: 5000 });
      return { conn, info };
    } catch (err) {
      // Said once per distinct reason (grpc-js stamps each failure with the time), not every few attempts:
      // a dead agent is one line, not twenty.
      const why = errorLine(err as Error);
      if (last === undefined || why !== errorLine(last))
        progress(name, `waiting for the agent at ${i.endpoint} (${why})`);
      last = err as Error;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  conn.close();
  throw new Error(
    `the agent at ${i.endpoint} did not answer over mTLS within ${timeoutMs / 1000} s: ${last?.message}. ` +
      "If its daemon died (killed, or a reboot on a host without systemd), `pulumi refresh` records it as " +
      "not running and `pulumi up` then restarts it over SSH: run `pulumi refresh && pulumi up`",
  );
}

async function describeAgent(
  i: AgentInputs,
  name: string,
  extra: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const { endpoint } = listenOf(i);
  const { conn, info } = await waitForAgent({ ...i, endpoint }, name, timeoutMs);
  for (const w of info.network_manager_warnings) progress(name, w);
  try {
    const { personaFromWire } = await import("../proto/persona");
    const g = await conn.getPersona();
    const live = personaFromWire(g.live, "live");
    return {
      ...extra,
      endpoint,
      agentVersion: info.version,
      hostname: info.hostname,
      interfaces: info.interfaces.map((n) => ({
        name: n.name,
        mtu: n.mtu,
        operState: n.oper_state,
        addresses: n.addresses,
      })),
      livePersona: live.ok ? live.value : null,
      networkManagers: info.network_managers.map((m) => ({
        name: m.name,
        running: m.running,
        interfaces: m.interfaces,
        configFiles: m.config_files,
        renderer: m.renderer,
        notes: m.notes,
      })),
      networkManagerWarnings: info.network_manager_warnings,
      metricsUrl: metricsUrlOf(i),
      running: true,
    };
  } finally {
    conn.close();
  }
}

/** The endpoint and CA an update's previous outputs name (its directories may still carry them as owner). */
function previousOwner(olds: Record<string, unknown>): { endpoint?: string; caCertPem?: string } {
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  return { endpoint: str(olds.endpoint), caCertPem: str(olds.caCertPem) };
}

async function install(
  i: AgentInputs,
  name: string,
  bundleHash: string,
  previous: { endpoint?: string; caCertPem?: string } = {},
): Promise<Record<string, unknown>> {
  const { bundleFiles, preflight, upload, startService } = await import("../bootstrap/install");
  const { caFingerprintOf, ownerRecordOf } = await import("../bootstrap/owner");
  const { issueAgentCert } = await import("../pki");
  const b = bundleFiles();
  if (bundleHash && b.hash !== bundleHash) {
    throw new Error(
      `the installed agent bundle (${b.hash}) differs from the program's (${bundleHash}): reinstall pulumi-netpersona`,
    );
  }
  // This Agent owns directories whose record names its endpoint and CA, or (an update: a port change, a CA
  // rotation) the previous ones; any other record is another Agent's, refused before anything is written.
  const owner = ownerRecordOf(listenOf(i).endpoint, i.caCertPem);
  const self = {
    endpoints: [owner.endpoint, ...(previous.endpoint ? [previous.endpoint] : [])],
    caFingerprints: [
      owner.caFingerprint,
      ...(previous.caCertPem ? [caFingerprintOf(previous.caCertPem)] : []),
    ],
  };
  return withSsh(i, name, async (ssh) => {
    const pre = await preflight(ssh, i, b.agent.length + b.supervisor.length, i.serviceManager, self);
    progress(name, `node ${pre.nodeVersion} found; service manager: ${pre.serviceManager}`);
    const host = i.listenAddress ?? i.connection.host;
    const cert = await issueAgentCert(
      { certPem: i.caCertPem, keyPem: i.caKeyPem },
      { commonName: `netpersona-agent ${host}`, ...(isIP(host) ? { ips: [host] } : { dnsNames: [host] }) },
    );
    const spec = { ...specOf(i, pre.serviceManager), owner };
    progress(
      name,
      `uploading the agent (${Math.round((b.agent.length + b.supervisor.length) / 1024)} KiB) to ${i.installDir}`,
    );
    await upload(ssh, spec, { caPem: i.caCertPem, certPem: cert.certPem, keyPem: cert.keyPem });
    await startService(ssh, spec); // stops a previous agent of this install first: never two agents
    progress(name, `agent started; waiting for it to answer over mTLS at ${listenOf(i).endpoint}`);
    return describeAgent(i, name, {
      agentCertPem: cert.certPem,
      resolvedServiceManager: pre.serviceManager,
      nodeVersion: pre.nodeVersion,
    });
  });
}

function outputs(
  inputs: Record<string, unknown>,
  described: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...userInputs(inputs),
    bundleHash: inputs.bundleHash ?? "",
    [VERSION_KEY]: PACKAGE_VERSION,
    ...described,
  };
}

export const agentProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const raw = userInputs(news);
    const bundleHash = raw.bundleHash;
    delete raw.bundleHash;
    const r = parseWith(agentInputsSchema, raw);
    if (!r.success) return { inputs: news, failures: issuesToFailures(r.error.issues, raw) };
    return {
      inputs: {
        ...r.data,
        ...(bundleHash !== undefined && { bundleHash }),
        [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION,
      },
    };
  },

  async diff(_id, olds, given) {
    const news = normalisedKnown(agentInputsSchema.shape, given, olds);
    const d = fieldDiff(olds, news, [...REPLACE_ON, ...UPDATE_ON], REPLACE_ON);
    const host = (v: unknown) =>
      v && typeof v === "object" ? (v as Record<string, unknown>).host : undefined;
    const otherHost = knownDiffers(host(olds.connection), host(news.connection));
    const replaces = [...(d.replaces ?? []), ...(otherHost ? ["connection"] : [])];
    // A daemon that did not answer at refresh (`running: false`) is restarted by an update.
    const dead = olds.running === false;
    // The agent's certificate is short-lived: an update (a reinstall) issues a new one when a third of its
    // life is left, or when it names no role (issued before roles, refused by every agent).
    const { renewalDue } = await import("../pki");
    const due = renewalDue(olds.agentCertPem as string | undefined);
    return {
      changes: Boolean(d.changes) || dead || Boolean(due),
      replaces,
      deleteBeforeReplace: replaces.length > 0 && !otherHost,
    };
  },

  async create(inputs) {
    const i = parseInputs(inputs);
    const name = `Agent ${i.connection.host}`;
    const described = await install(i, name, String(inputs.bundleHash ?? ""));
    return { id: `agent-${i.connection.host}-${i.port}`, outs: outputs(inputs, described) };
  },

  async update(_id, olds, news) {
    const i = parseInputs(news);
    const name = `Agent ${i.connection.host}`;
    const { renewalDue } = await import("../pki");
    const why = [
      ...REINSTALL_ON.filter((k) => !isDeepStrictEqual(olds[k] ?? null, news[k] ?? null)),
      ...(olds.running === false ? ["not running"] : []),
      ...(renewalDue(olds.agentCertPem as string | undefined) ? ["certificate renewal"] : []),
    ];
    if (why.length === 0) {
      // Only the connection changed (port, user, keys, dial settings): prove the new one works; the agent
      // keeps running untouched.
      await withSsh(i, name, (ssh) => ssh.run(["true"]));
      const described = await describeAgent(i, name, {
        agentCertPem: olds.agentCertPem ?? null,
        resolvedServiceManager: olds.resolvedServiceManager ?? null,
        nodeVersion: olds.nodeVersion ?? null,
      });
      return { outs: outputs(news, described) };
    }
    // Upgrade or restart in place: stop, upload, start. The agent's state directory (snapshot, current
    // persona) and the host's network state stay as they are.
    progress(name, `updating the agent in place (${why.join(", ")})`);
    const described = await install(i, name, String(news.bundleHash ?? ""), previousOwner(olds));
    return { outs: outputs(news, described) };
  },

  async read(id, props) {
    const i = parseInputs(props);
    const name = `Agent ${i.connection.host}`;
    try {
      // Only what the Agent manages: that it runs, which version, where. The interfaces and live persona stay
      // as read at install, so that a persona applied since then is not reported as the Agent's drift.
      const d = await describeAgent(i, name, {}, 10_000);
      const { endpoint, agentVersion, hostname, running } = d;
      return { id, props: { ...props, endpoint, agentVersion, hostname, running } };
    } catch (err) {
      // Unreachable is not gone: the Agent is still there, but not running. Recorded as drift, so that the
      // next `pulumi up` restarts it over SSH (or reinstalls it when its files are gone).
      progress(
        name,
        `the agent does not answer (${errorLine(err)}): recorded as ` +
          "running: false; `pulumi up` restarts it over SSH",
      );
      return { id, props: { ...props, running: false } };
    }
  },

  async delete(_id, props) {
    const i = parseInputs(props);
    const { assertRemovable, readOwners, stopService, removeFiles } = await import("../bootstrap/install");
    const { caFingerprintOf, isOwnedBy, leftForOwner } = await import("../bootstrap/owner");
    const spec = specOf(i, (props.resolvedServiceManager as "systemd" | "supervisor") ?? "supervisor");
    const name = `Agent ${i.connection.host}`;
    const prev = previousOwner(props);
    const self = {
      endpoints: [listenOf(i).endpoint, ...(prev.endpoint ? [prev.endpoint] : [])],
      caFingerprints: [caFingerprintOf(i.caCertPem)],
    };
    await withSsh(i, name, async (ssh) => {
      await assertRemovable(ssh, spec); // not the agent's directories: refuse before stopping anything
      // A directory whose owner record names another Agent (same dirs from another host or stack) stays; so
      // does that agent: its installDir holds its pid file, so this Agent stops nothing there.
      const owners = await readOwners(ssh, spec);
      const keep: string[] = [];
      for (const [field, path] of [
        ["installDir", spec.installDir],
        ["stateDir", spec.stateDir],
      ] as const) {
        const record = owners[field];
        if (record && !isOwnedBy(record, self)) {
          progress(name, leftForOwner(field, path, record));
          keep.push(path);
        }
      }
      if (!keep.includes(spec.installDir)) await stopService(ssh, spec);
      await removeFiles(ssh, spec, keep);
    });
  },
};
