// The daemon's session parts: the echo responder every agent runs (peers probe it; bound to the agent's own
// address, answering only whom echo-allow.ts allows, rate-limited per source), the metrics source behind
// StreamMetrics (it notes whom it probes: they may probe us back), and the session runner with its
// mutual-TLS connections to other agents (this agent's own certificate as the client certificate: agent
// certificates carry clientAuth).
import { isIP } from "node:net";

import type { Persona } from "../../persona/schema";
import { connectAgent } from "../rpc/client";
import type { TlsMaterial } from "../rpc/tls";
import { chooseEchoAddress, createEchoAllow, parseAllowList, RecentPeers } from "./echo-allow";
import { localAddressTowards } from "./feedback";
import type { HostSnapshot } from "../host/api";
import type { NetpersonaHostController } from "../host/controller";
import { createMetricsSource, DEFAULT_ECHO_PORT, startEchoResponder, type EchoResponder } from "../metrics";
import type { MetricsSource } from "./handlers";
import { createSessionRunner } from "./runner";
import type { SessionRunner } from "./store";
import type { StateStore } from "../state";

export interface SessionPartsOptions {
  host: NetpersonaHostController;
  store: StateStore;
  stateDir: string;
  tls: TlsMaterial;
  /** The address the agent listens on (the echo responder binds the same one). */
  listenHost: string;
  /** UDP port of the echo responder (default 7047); 0: no responder (peers cannot probe this host). */
  echoPort?: number;
  /** The responder's address when listenHost is a wildcard (default: the default route's source address). */
  echoAddress?: string;
  /** Addresses and CIDR prefixes whose probes are answered besides session peers (`--echo-allow`). */
  echoAllow?: string;
  /** The name sessions ask the target's new DNS servers for (the safe-apply probe's name). */
  dnsName?: string;
  log: (line: string) => void;
}

export interface SessionParts {
  sessionRunner: SessionRunner;
  metrics: MetricsSource;
  echo?: EchoResponder;
  close(): Promise<void>;
}

/** Records a converged session's final persona as the agent's current persona; the host as it was before
 *  the session becomes the pre-persona snapshot when there was none (RestoreSnapshot goes back there). */
export function recordSessionPersona(store: StateStore) {
  return async (persona: Persona, sessionStart: HostSnapshot): Promise<void> => {
    await store.update((d) => {
      d.committed = persona;
      d.preSnapshot ??= sessionStart;
    });
  };
}

export async function startSessionParts(o: SessionPartsOptions): Promise<SessionParts> {
  const port = o.echoPort ?? DEFAULT_ECHO_PORT;
  const configured = parseAllowList(o.echoAllow ?? "");
  const probed = new RecentPeers();
  const allowed = createEchoAllow({
    sessions: () => o.store.get().sessions,
    probed,
    configured: configured.list,
  });
  const where =
    port === 0 ? undefined : await chooseEchoAddress(o.listenHost, o.echoAddress, localAddressTowards);
  if (where && !where.address)
    o.log(`echo responder off: ${where.why} (peers' probes of this host go unanswered)`);
  const echo =
    where?.address === undefined
      ? undefined
      : await startEchoResponder({ address: where.address, port, allowed }).catch((err: Error) => {
          throw new Error(
            `echo responder on ${where.address}:${port}/udp: ${err.message} (--echo-port 0 turns it off)`,
            { cause: err },
          );
        });
  if (echo) {
    const also = configured.entries.length > 0 ? configured.entries.join(",") : "nobody else";
    o.log(
      `echo responder on ${echo.address}:${echo.port}/udp (${where?.why}); answers session peers, peers it probes, and ${also}`,
    );
  }
  const sessionRunner = createSessionRunner({
    host: o.host,
    stateDir: o.stateDir,
    connectPeerAgent: (endpoint) => connectAgent({ endpoint, ...o.tls, deadlineMs: 10_000 }),
    recordPersona: recordSessionPersona(o.store),
    ...(o.dnsName !== undefined && { dnsName: o.dnsName }),
    log: o.log,
  });
  return {
    sessionRunner,
    metrics: notingPeers(createMetricsSource({ port: port || DEFAULT_ECHO_PORT }), probed),
    echo,
    close: async () => {
      await echo?.close();
    },
  };
}

/** The metrics source, noting each peer it probes (the responder answers them for a while: the feedback
 *  path, where the destination probes the source agent that probes it). */
function notingPeers(source: MetricsSource, probed: RecentPeers): MetricsSource {
  return {
    sample(peers, probesPerSample, signal) {
      for (const p of peers) probed.touch(p.address);
      return source.sample(peers, probesPerSample, signal);
    },
  };
}

/** The host part of a listen address ("10.0.0.2:7443" → "10.0.0.2", "[::1]:7443" → "::1"). */
export function listenHostOf(listen: string): string {
  const host = listen.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) === 0) throw new Error(`listen address '${listen}' has no IP host`);
  return host;
}
