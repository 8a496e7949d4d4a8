// A typed client of the agent API over mutual TLS, for the Pulumi provider and for agents calling each other
// (feedback). Promise methods with a deadline on every call; errors arrive as AgentError (status code + details).
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";

import * as grpc from "@grpc/grpc-js";

import { loadAgentApi } from "../../proto/load";
import type { AgentClient } from "../../proto/gen/netpersona/agent/v1/Agent";
import type { AbortSessionRequest } from "../../proto/gen/netpersona/agent/v1/AbortSessionRequest";
import type { ApplyPersonaResponse__Output } from "../../proto/gen/netpersona/agent/v1/ApplyPersonaResponse";
import type { ConfirmApplyResponse__Output } from "../../proto/gen/netpersona/agent/v1/ConfirmApplyResponse";
import type { DiscoverRequest } from "../../proto/gen/netpersona/agent/v1/DiscoverRequest";
import type { DiscoverResponse__Output } from "../../proto/gen/netpersona/agent/v1/DiscoverResponse";
import type { FeedbackAck__Output } from "../../proto/gen/netpersona/agent/v1/FeedbackAck";
import type { FeedbackReport } from "../../proto/gen/netpersona/agent/v1/FeedbackReport";
import type { GetInfoResponse__Output } from "../../proto/gen/netpersona/agent/v1/GetInfoResponse";
import type { GetPersonaResponse__Output } from "../../proto/gen/netpersona/agent/v1/GetPersonaResponse";
import type { GrantFeedbackRequest } from "../../proto/gen/netpersona/agent/v1/GrantFeedbackRequest";
import type { GrantFeedbackResponse__Output } from "../../proto/gen/netpersona/agent/v1/GrantFeedbackResponse";
import type { MetricsSample__Output } from "../../proto/gen/netpersona/agent/v1/MetricsSample";
import type { Persona } from "../../proto/gen/netpersona/agent/v1/Persona";
import type { PlanStep__Output } from "../../proto/gen/netpersona/agent/v1/PlanStep";
import type { RestoreSnapshotResponse__Output } from "../../proto/gen/netpersona/agent/v1/RestoreSnapshotResponse";
import type { RevokeFeedbackResponse__Output } from "../../proto/gen/netpersona/agent/v1/RevokeFeedbackResponse";
import type { RollbackApplyResponse__Output } from "../../proto/gen/netpersona/agent/v1/RollbackApplyResponse";
import type { Session__Output } from "../../proto/gen/netpersona/agent/v1/Session";
import type { SessionEvent__Output } from "../../proto/gen/netpersona/agent/v1/SessionEvent";
import type { StartSessionRequest } from "../../proto/gen/netpersona/agent/v1/StartSessionRequest";
import type { StreamMetricsRequest } from "../../proto/gen/netpersona/agent/v1/StreamMetricsRequest";
import { AgentError, fromServiceError } from "./errors";
import { clientStream, type FeedbackChannel } from "./client-streams";

export interface ConnectOptions {
  /** host:port of the agent, e.g. 10.0.0.2:7443 or [fd00::2]:7443. */
  endpoint: string;
  /** The stack CA (PEM): the agent's certificate must chain to it. */
  caPem: string;
  /** Our client certificate and key (PEM), signed by the same CA. */
  certPem: string;
  keyPem: string;
  /** Name to check the agent's certificate against, when it differs from the endpoint's host. */
  serverName?: string;
  /** Deadline of unary calls without their own (default 30 s). */
  deadlineMs?: number;
  /** Keep the certificate the agent presents (`serverCertificateSha256()`). Off by default: the check that
   *  keeps it is a function of this connection, so its channel shares no connection with others. */
  keepServerCertificate?: boolean;
}

export interface CallOptions {
  /** This call's deadline in milliseconds. */
  deadlineMs?: number;
}

export type { FeedbackChannel };

/** A connection to one agent. Every method rejects with an AgentError carrying the gRPC status code. */
export class AgentConnection {
  constructor(
    readonly raw: AgentClient,
    private readonly defaultDeadlineMs: number,
    private readonly seenCertificate: () => Buffer | undefined = () => undefined,
  ) {}

  /** SHA-256 (lower-case hex) of the certificate the agent presented in the last TLS handshake (after a first
   *  call or `ready()`; connected with `keepServerCertificate`): the agent's own certificate, the one it also
   *  uses as a client towards other agents (daemon-sessions.ts: one TLS pair for both). */
  serverCertificateSha256(): string | undefined {
    const der = this.seenCertificate();
    return der && createHash("sha256").update(der).digest("hex");
  }

  private unary<Req, Res>(method: keyof AgentClient, req: Req, o: CallOptions = {}): Promise<Res> {
    const deadline = new Date(Date.now() + (o.deadlineMs ?? this.defaultDeadlineMs));
    const fn = this.raw[method] as unknown as (
      r: Req,
      md: grpc.Metadata,
      co: grpc.CallOptions,
      cb: (e: grpc.ServiceError | null, res?: Res) => void,
    ) => void;
    return new Promise((resolve, reject) => {
      fn.call(this.raw, req, new grpc.Metadata(), { deadline }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res as Res),
      );
    });
  }

  /** Waits until the channel is connected (TLS handshake done) or the deadline passes. */
  ready(deadlineMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) =>
      this.raw.waitForReady(Date.now() + deadlineMs, (err) =>
        err ? reject(new AgentError(grpc.status.UNAVAILABLE, err.message)) : resolve(),
      ),
    );
  }

  getInfo(o?: CallOptions): Promise<GetInfoResponse__Output> {
    return this.unary("GetInfo", {}, o);
  }
  getPersona(o?: CallOptions): Promise<GetPersonaResponse__Output> {
    return this.unary("GetPersona", {}, o);
  }
  async planPersona(persona: Persona, o?: CallOptions): Promise<PlanStep__Output[]> {
    return (await this.planPersonaWithWarnings(persona, o)).steps;
  }
  /** The plan and the warnings of network managers that may revert it (NetworkManager, networkd, netplan). */
  planPersonaWithWarnings(
    persona: Persona,
    o?: CallOptions,
  ): Promise<{ steps: PlanStep__Output[]; warnings: string[] }> {
    return this.unary("PlanPersona", { persona }, o);
  }
  applyPersona(
    persona: Persona,
    confirmTimeoutSeconds = 0,
    o?: CallOptions,
  ): Promise<ApplyPersonaResponse__Output> {
    return this.unary("ApplyPersona", { persona, confirm_timeout_seconds: confirmTimeoutSeconds }, o);
  }
  confirmApply(applyId: string, o?: CallOptions): Promise<ConfirmApplyResponse__Output> {
    return this.unary("ConfirmApply", { apply_id: applyId }, o);
  }
  rollbackApply(applyId: string, o?: CallOptions): Promise<RollbackApplyResponse__Output> {
    return this.unary("RollbackApply", { apply_id: applyId }, o);
  }
  restoreSnapshot(o?: CallOptions): Promise<RestoreSnapshotResponse__Output> {
    return this.unary("RestoreSnapshot", {}, o);
  }
  discover(req: DiscoverRequest, o?: CallOptions): Promise<DiscoverResponse__Output> {
    return this.unary("Discover", req, o);
  }
  startSession(req: StartSessionRequest, o?: CallOptions): Promise<Session__Output> {
    return this.unary("StartSession", req, o);
  }
  getSession(sessionId: string, o?: CallOptions): Promise<Session__Output> {
    return this.unary("GetSession", { session_id: sessionId }, o);
  }
  abortSession(req: AbortSessionRequest, o?: CallOptions): Promise<Session__Output> {
    return this.unary("AbortSession", req, o);
  }
  grantFeedback(req: GrantFeedbackRequest, o?: CallOptions): Promise<GrantFeedbackResponse__Output> {
    return this.unary("GrantFeedback", req, o);
  }
  revokeFeedback(sessionId: string, o?: CallOptions): Promise<RevokeFeedbackResponse__Output> {
    return this.unary("RevokeFeedback", { session_id: sessionId }, o);
  }

  /** Samples until `max_samples` or until the loop breaks (which cancels the call). No deadline by default. */
  streamMetrics(req: StreamMetricsRequest, o: CallOptions = {}): AsyncIterable<MetricsSample__Output> {
    return clientStream((md, co) => this.raw.StreamMetrics(req, md, co), o.deadlineMs);
  }

  /** The session's events from `fromSeq` (1: all), then live ones until the session ends. */
  watchSession(sessionId: string, fromSeq = 1, o: CallOptions = {}): AsyncIterable<SessionEvent__Output> {
    return clientStream(
      (md, co) => this.raw.WatchSession({ session_id: sessionId, from_seq: fromSeq }, md, co),
      o.deadlineMs,
    );
  }

  /** Opens the feedback stream (source agent → destination agent). */
  feedback(o: CallOptions = {}): FeedbackChannel {
    const co: grpc.CallOptions = o.deadlineMs ? { deadline: new Date(Date.now() + o.deadlineMs) } : {};
    const call = this.raw.Feedback(new grpc.Metadata(), co);
    // Errors reach the caller through `acks`; this listener only keeps an unread stream from crashing the process.
    call.on("error", () => undefined);
    return {
      send: (r: FeedbackReport) => call.write(r),
      end: () => call.end(),
      acks: clientStream<FeedbackAck__Output>(() => call),
    };
  }

  close(): void {
    this.raw.close();
  }
}

/** The TLS server name sent when an agent is reached by IP address: RFC 6066 forbids an IP there (Node warns,
 *  DEP0123), so a name that can never resolve goes instead; the certificate is still checked against the IP. */
export const IP_SNI_PLACEHOLDER = "agent.netpersona.invalid";

/** The host part of "10.0.0.1:7443", "[fd00::1]:7443" or "agent.example:7443". */
function endpointHost(endpoint: string): string {
  return endpoint.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
}

/** How the client checks the agent's certificate: against `serverName` when given, else against the
 *  endpoint's host (an IP address included, whatever name went in the handshake). */
export function serverIdentityCheck(
  endpoint: string,
  serverName?: string,
): (presented: string, cert: PeerCertificate) => Error | undefined {
  const expected = serverName ?? endpointHost(endpoint);
  return (_presented, cert) => checkServerIdentity(expected, cert);
}

/** Connects (lazily: the first call or `ready()` does the TLS handshake) to an agent over mutual TLS. */
export function connectAgent(o: ConnectOptions): AgentConnection {
  let seen: Buffer | undefined;
  const check = serverIdentityCheck(o.endpoint, o.serverName);
  // Node's own check of the server's name, keeping the certificate it passed.
  const checkAndKeep = (presented: string, cert: PeerCertificate) => {
    const err = check(presented, cert);
    if (!err && o.keepServerCertificate) seen = cert.raw;
    return err;
  };
  const creds = grpc.credentials.createSsl(
    Buffer.from(o.caPem),
    Buffer.from(o.keyPem),
    Buffer.from(o.certPem),
    {
      checkServerIdentity: checkAndKeep,
    },
  );
  const options: grpc.ClientOptions = {};
  if (o.serverName) {
    options["grpc.ssl_target_name_override"] = o.serverName;
    options["grpc.default_authority"] = o.serverName;
  } else if (isIP(endpointHost(o.endpoint)) !== 0) {
    options["grpc.ssl_target_name_override"] = IP_SNI_PLACEHOLDER;
  }
  const { Client } = loadAgentApi();
  return new AgentConnection(new Client(o.endpoint, creds, options), o.deadlineMs ?? 30_000, () => seen);
}
