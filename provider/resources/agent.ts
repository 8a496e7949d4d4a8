// Agent: bootstraps the netpersona agent on a host over SSH (host key pinned), waits until it answers over
// mutual TLS, and reports its endpoint, version, interfaces and live persona. Update upgrades the agent in
// place without touching the host's network state; delete stops and removes it.
import { isIP } from "node:net";

import type * as pulumi from "@pulumi/pulumi";

import type { AgentConnection } from "../agent/client";
import { issuesToFailures, parseWith } from "../persona/validate";
import { agentInputsSchema, type AgentInputs } from "./agent-schema";
import { PACKAGE_VERSION, VERSION_KEY, fieldDiff, progress, userInputs } from "./common";

/** Inputs whose change means another host or another install: replace. */
const REPLACE_ON = [
  "connection",
  "port",
  "listenAddress",
  "serviceManager",
  "installDir",
  "stateDir",
  "caCertPem",
  "caKeyPem",
];
const UPDATE_ON = ["bundleHash", "resolvConfPath", "nodePath", "clientCertPem", "clientKeyPem"];

export const AGENT_SECRETS = ["connection", "caKeyPem", "clientKeyPem"] as const;

const INPUT_KEYS = Object.keys(agentInputsSchema.shape);

function parseInputs(props: Record<string, unknown>): AgentInputs {
  return agentInputsSchema.parse(
    Object.fromEntries(INPUT_KEYS.filter((k) => k in props).map((k) => [k, props[k]])),
  );
}

function listenOf(i: AgentInputs): { listen: string; endpoint: string } {
  const addr = i.listenAddress ?? (isIP(i.connection.host) ? i.connection.host : "0.0.0.0");
  const fmt = (a: string) => (isIP(a) === 6 ? `[${a}]` : a);
  return {
    listen: `${fmt(addr)}:${i.port}`,
    endpoint: `${fmt(i.listenAddress ?? i.connection.host)}:${i.port}`,
  };
}

function specOf(i: AgentInputs, serviceManager: "systemd" | "supervisor") {
  return {
    installDir: i.installDir,
    stateDir: i.stateDir,
    nodePath: i.nodePath,
    listen: listenOf(i).listen,
    resolvConfPath: i.resolvConfPath,
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

/** Connects over mTLS and waits (up to `timeoutMs`) until the agent answers GetInfo. */
export async function waitForAgent(
  i: { endpoint: string; caCertPem: string; clientCertPem: string; clientKeyPem: string },
  name: string,
  timeoutMs = 30_000,
): Promise<{ conn: AgentConnection; info: Awaited<ReturnType<AgentConnection["getInfo"]>> }> {
  const { connectAgent } = await import("../agent/client");
  const conn = connectAgent({
    endpoint: i.endpoint,
    caPem: i.caCertPem,
    certPem: i.clientCertPem,
    keyPem: i.clientKeyPem,
  });
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    try {
      const info = await conn.getInfo({ deadlineMs: 5000 });
      return { conn, info };
    } catch (err) {
      last = err as Error;
      if (attempt % 5 === 0)
        progress(name, `waiting for the agent at ${i.endpoint} (${last.message.split("\n")[0]})`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  conn.close();
  throw new Error(
    `the agent at ${i.endpoint} did not answer over mTLS within ${timeoutMs / 1000} s: ${last?.message}`,
  );
}

async function describeAgent(
  i: AgentInputs,
  name: string,
  extra: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { endpoint } = listenOf(i);
  const { conn, info } = await waitForAgent({ ...i, endpoint }, name);
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
    };
  } finally {
    conn.close();
  }
}

async function install(i: AgentInputs, name: string, bundleHash: string): Promise<Record<string, unknown>> {
  const { bundleFiles, preflight, upload, startService, stopService } = await import("../bootstrap/install");
  const { issueAgentCert } = await import("../pki");
  const b = bundleFiles();
  if (bundleHash && b.hash !== bundleHash) {
    throw new Error(
      `the installed agent bundle (${b.hash}) differs from the program's (${bundleHash}): reinstall pulumi-netpersona`,
    );
  }
  return withSsh(i, name, async (ssh) => {
    const pre = await preflight(ssh, i, b.agent.length + b.supervisor.length, i.serviceManager);
    progress(name, `node ${pre.nodeVersion} found; service manager: ${pre.serviceManager}`);
    const host = i.listenAddress ?? i.connection.host;
    const cert = await issueAgentCert(
      { certPem: i.caCertPem, keyPem: i.caKeyPem },
      { commonName: `netpersona-agent ${host}`, ...(isIP(host) ? { ips: [host] } : { dnsNames: [host] }) },
    );
    const spec = specOf(i, pre.serviceManager);
    await stopService(ssh, spec); // an upgrade or a re-run: never two agents
    progress(
      name,
      `uploading the agent (${Math.round((b.agent.length + b.supervisor.length) / 1024)} KiB) to ${i.installDir}`,
    );
    await upload(ssh, spec, { caPem: i.caCertPem, certPem: cert.certPem, keyPem: cert.keyPem });
    await startService(ssh, spec);
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

  async diff(_id, olds, news) {
    const d = fieldDiff(olds, news, [...REPLACE_ON, ...UPDATE_ON], REPLACE_ON);
    // The agent's certificate is short-lived: an update (a reinstall) issues a new one when a third of its
    // life is left, or when it names no role (issued before roles, refused by every agent).
    const { renewalDue } = await import("../pki");
    const due = renewalDue(olds.agentCertPem as string | undefined);
    return !d.changes && due ? { ...d, changes: true } : d;
  },

  async create(inputs) {
    const i = parseInputs(inputs);
    const name = `Agent ${i.connection.host}`;
    const described = await install(i, name, String(inputs.bundleHash ?? ""));
    return { id: `agent-${i.connection.host}-${i.port}`, outs: outputs(inputs, described) };
  },

  async update(_id, _olds, news) {
    // Upgrade in place: stop, upload, start. The agent's state directory (snapshot, current persona) and the
    // host's network state stay as they are.
    const i = parseInputs(news);
    const described = await install(i, `Agent ${i.connection.host}`, String(news.bundleHash ?? ""));
    return { outs: outputs(news, described) };
  },

  async read(id, props) {
    const i = parseInputs(props);
    try {
      const described = await describeAgent(i, `Agent ${i.connection.host}`, {
        agentCertPem: props.agentCertPem ?? null,
        resolvedServiceManager: props.resolvedServiceManager ?? null,
        nodeVersion: props.nodeVersion ?? null,
      });
      return { id, props: { ...props, ...described } };
    } catch (err) {
      // Unreachable is not gone: keep the last known state and say so.
      progress(
        `Agent ${i.connection.host}`,
        `refresh could not reach the agent: ${(err as Error).message.split("\n")[0]}`,
      );
      return { id, props };
    }
  },

  async delete(_id, props) {
    const i = parseInputs(props);
    const { assertRemovable, stopService, removeFiles } = await import("../bootstrap/install");
    const spec = specOf(i, (props.resolvedServiceManager as "systemd" | "supervisor") ?? "supervisor");
    await withSsh(i, `Agent ${i.connection.host}`, async (ssh) => {
      await assertRemovable(ssh, spec); // not the agent's directories: refuse before stopping anything
      await stopService(ssh, spec);
      await removeFiles(ssh, spec);
    });
  },
};
