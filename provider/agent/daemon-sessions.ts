// The daemon's session parts: the echo responder every agent runs (peers probe it), the metrics source
// behind StreamMetrics, and the session runner with its mutual-TLS connections to other agents (this agent's
// own certificate as the client certificate: agent certificates carry clientAuth).
import { isIP } from "node:net";

import type { Persona } from "../persona/schema";
import { connectAgent } from "./client";
import type { TlsMaterial } from "./daemon";
import type { HostSnapshot } from "./host/api";
import type { NetpersonaHostController } from "./host/controller";
import { createMetricsSource, DEFAULT_ECHO_PORT, startEchoResponder, type EchoResponder } from "./metrics";
import type { MetricsSource } from "./server-sessions";
import { createSessionRunner } from "./session-runner";
import type { SessionRunner } from "./sessions";
import type { StateStore } from "./state";

export interface SessionPartsOptions {
  host: NetpersonaHostController;
  store: StateStore;
  stateDir: string;
  tls: TlsMaterial;
  /** The address the agent listens on (the echo responder binds the same one). */
  listenHost: string;
  /** UDP port of the echo responder (default 7047); 0: no responder (peers cannot probe this host). */
  echoPort?: number;
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
      d.current = persona;
      d.preSnapshot ??= sessionStart;
    });
  };
}

export async function startSessionParts(o: SessionPartsOptions): Promise<SessionParts> {
  const port = o.echoPort ?? DEFAULT_ECHO_PORT;
  const echo =
    port === 0
      ? undefined
      : await startEchoResponder({ address: o.listenHost, port }).catch((err: Error) => {
          throw new Error(`echo responder on ${o.listenHost}:${port}/udp: ${err.message} (--echo-port 0 turns it off)`, { cause: err }); // prettier-ignore
        });
  if (echo) o.log(`echo responder on ${echo.address}:${echo.port}/udp`);
  const sessionRunner = createSessionRunner({
    host: o.host,
    stateDir: o.stateDir,
    connectPeerAgent: (endpoint) => connectAgent({ endpoint, ...o.tls, deadlineMs: 10_000 }),
    recordPersona: recordSessionPersona(o.store),
    log: o.log,
  });
  return {
    sessionRunner,
    metrics: createMetricsSource({ port: port || DEFAULT_ECHO_PORT }),
    echo,
    close: async () => {
      await echo?.close();
    },
  };
}

/** The host part of a listen address ("10.0.0.2:7443" → "10.0.0.2", "[::1]:7443" → "::1"). */
export function listenHostOf(listen: string): string {
  const host = listen.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) === 0) throw new Error(`listen address '${listen}' has no IP host`);
  return host;
}
