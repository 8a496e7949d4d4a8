// Who may call what: the ONE place where the agent checks the caller's role, for every RPC, unary and
// streaming alike. A grpc-js server interceptor (registered when the server is created) reads the role
// from the client certificate (URI SAN `urn:netpersona:role:<role>`, see provider/pki/roles.ts) and looks
// the RPC up in RPC_POLICY; anything not listed there is refused. A refusal never reaches a handler: it is
// PERMISSION_DENIED, logged like any request, with `{role, rpc}` in the `netpersona-error` metadata.
// An agent certificate's feedback stream also needs a grant (feedback-grants.ts): the grant store is given
// to the interceptor, never reached through a global.
import { createHash } from "node:crypto";
import { BlockList, isIP } from "node:net";

import * as grpc from "@grpc/grpc-js";

import { ROLES, ipsInSubjectAltName, rolesInSubjectAltName, type Role } from "../../pki/roles";
import { AgentError, toServiceError } from "./errors";
import type { FeedbackGrantRecord } from "../session/records";
import { FEEDBACK_PROBES } from "./limits";
import { logRequest, type Log } from "./calls";

/** What the interceptor asks: the grant that lets this certificate stream now, if any. */
export interface FeedbackGrantCheck {
  holding(fingerprint: string, now?: number): FeedbackGrantRecord | undefined;
}

/** The caller as its certificate and connection show it. */
export interface Caller {
  role: Role;
  /** The certificate's CN, for messages. */
  name: string;
  /** The addresses that are the caller's own: the connection's source and the certificate's IP SANs. */
  own: string[];
  /** SHA-256 of the certificate (DER), lower-case hex: what a feedback grant names. */
  fingerprint: string;
}

/** A condition on the request: undefined allows it, a string is the refusal's reason. */
type Condition = (
  req: unknown,
  caller: Caller,
  rpc: string,
  grants: FeedbackGrantCheck | undefined,
) => string | undefined;

interface RpcPolicy {
  /** The roles that may call the RPC: `true`, or a condition checked on every request message. */
  allow: Partial<Record<Role, true | Condition>>;
  /** Why the others may not, said after "role 'x' may not call Rpc: ". */
  otherwise: string;
}

const CHANGE = "only the provider may change a host";

const noGrant = (caller: Caller, rpc: string) =>
  `role 'agent' may not call ${rpc}: no active session on this host granted feedback to certificate ${caller.name} (sha256 ${caller.fingerprint})`;

/** An agent's certificate may open StreamMetrics only as the feedback stream a session's destination opens
 *  to its source, and only while a session asked for it: the provider granted feedback to that certificate
 *  on this (source) agent (GrantFeedback, unexpired, not revoked). Then one peer, that peer the caller itself
 *  (the connection's source address or an IP SAN of its certificate), at most FEEDBACK_PROBES probes per
 *  sample. So an agent key (stolen, or of a deleted Agent) opens nothing here unless a running session
 *  points at it, and even then measures only the path back to its own host. */
export const ownFeedbackStream: Condition = (req, caller, rpc, grants) => {
  if (!grants?.holding(caller.fingerprint)) return noGrant(caller, rpc);
  const r = req as { peers?: { address?: string }[]; probes_per_sample?: number };
  const peers = r.peers ?? [];
  const rule = `an agent may only open its own feedback stream (one peer, its own address ${caller.own.join(" or ")}, at most ${FEEDBACK_PROBES} probes per sample)`;
  if (peers.length !== 1) return `role 'agent' may not call ${rpc} with ${peers.length} peers: ${rule}`;
  const address = peers[0].address ?? "";
  if (!sameAddress(address, caller.own)) {
    return `role 'agent' may not call ${rpc} towards ${JSON.stringify(address)}: ${rule}`;
  }
  const probes = r.probes_per_sample ?? 0;
  if (probes > FEEDBACK_PROBES) {
    return `role 'agent' may not call ${rpc} with probes_per_sample ${probes}: ${rule}`;
  }
  return undefined;
};

/** Every RPC of netpersona.agent.v1.Agent and who may call it. */
export const RPC_POLICY: Readonly<Record<string, RpcPolicy>> = {
  GetInfo: {
    allow: { provider: true, monitoring: true },
    otherwise: "only the provider and monitoring may read a host's health",
  },
  GetPersona: { allow: { provider: true }, otherwise: "only the provider may read a host's persona" },
  PlanPersona: { allow: { provider: true }, otherwise: "only the provider may plan a host's persona" },
  ApplyPersona: { allow: { provider: true }, otherwise: CHANGE },
  ConfirmApply: { allow: { provider: true }, otherwise: CHANGE },
  RollbackApply: { allow: { provider: true }, otherwise: CHANGE },
  RestoreSnapshot: { allow: { provider: true }, otherwise: CHANGE },
  StartSession: { allow: { provider: true }, otherwise: CHANGE },
  AbortSession: { allow: { provider: true }, otherwise: CHANGE },
  GetSession: { allow: { provider: true }, otherwise: "only the provider may read a host's sessions" },
  WatchSession: { allow: { provider: true }, otherwise: "only the provider may read a host's sessions" },
  Feedback: { allow: { provider: true }, otherwise: "only the provider may feed a session" },
  GrantFeedback: { allow: { provider: true }, otherwise: "only the provider may grant a feedback stream" },
  RevokeFeedback: { allow: { provider: true }, otherwise: "only the provider may revoke a feedback stream" },
  Discover: { allow: { provider: true }, otherwise: "only the provider may sample a host's flows" },
  StreamMetrics: {
    allow: { provider: true, monitoring: true, agent: ownFeedbackStream },
    otherwise: "only the provider, monitoring and an agent's granted feedback stream may",
  },
};

function unmapped(ip: string): string {
  return ip.toLowerCase().startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function sameAddress(address: string, own: string[]): boolean {
  const a = unmapped(address);
  const family = isIP(a);
  if (family === 0) return false;
  const list = new BlockList();
  for (const o of own) {
    const f = isIP(o);
    if (f !== 0) list.addAddress(o, f === 6 ? "ipv6" : "ipv4");
  }
  return list.check(a, family === 6 ? "ipv6" : "ipv4");
}

/** The caller's identity, or the reason it has none this agent accepts. */
export function callerOf(
  auth: ReturnType<grpc.ServerInterceptingCallInterface["getAuthContext"]>,
  remoteAddress: string | undefined,
): { caller: Caller } | { refusal: string } {
  const cert = auth.sslPeerCertificate;
  if (!cert || !cert.raw) {
    return {
      refusal: "no client certificate: every call needs a certificate from the stack CA naming a role",
    };
  }
  const name = JSON.stringify(cert.subject?.CN ?? "");
  const roles = rolesInSubjectAltName(cert.subjectaltname);
  if (roles.length === 0) {
    return {
      refusal: `certificate ${name} names no role: it was issued before roles (or not by netpersona); run \`pulumi up\` so the provider and every agent get new certificates`,
    };
  }
  if (roles.length > 1) {
    return {
      refusal: `certificate ${name} names ${roles.length} roles (${roles.join(", ")}): a certificate names exactly one`,
    };
  }
  const role = roles[0];
  if (!(ROLES as readonly string[]).includes(role)) {
    return {
      refusal: `certificate ${name} names role '${role}', which this agent does not know (${ROLES.join(", ")})`,
    };
  }
  const own = [
    ...(remoteAddress ? [unmapped(remoteAddress)] : []),
    ...ipsInSubjectAltName(cert.subjectaltname),
  ];
  const fingerprint = createHash("sha256").update(cert.raw).digest("hex");
  return { caller: { role: role as Role, name, own: [...new Set(own)], fingerprint } };
}

/** For a StreamMetrics call under way: the error that ends it when the caller is an agent whose feedback
 *  grant was revoked or expired since the call was allowed; undefined while it may go on. */
export function lapsedFeedback(
  grants: FeedbackGrantCheck,
  auth: ReturnType<grpc.ServerInterceptingCallInterface["getAuthContext"]>,
): AgentError | undefined {
  const who = callerOf(auth, undefined);
  if ("refusal" in who || who.caller.role !== "agent") return undefined;
  const c = who.caller;
  if (grants.holding(c.fingerprint)) return undefined;
  return new AgentError(
    grpc.status.PERMISSION_DENIED,
    `role 'agent' may not call StreamMetrics any more: the feedback grant to certificate ${c.name} (sha256 ${c.fingerprint}) was revoked or has expired`,
    { role: "agent", rpc: "StreamMetrics" },
  );
}

/** The verdict before the request message is read: refused, or allowed with the condition (if any) that
 *  each request message must pass. */
export function authorize(
  rpc: string,
  who: ReturnType<typeof callerOf>,
): { refusal: string; role?: Role } | { caller: Caller; condition?: Condition } {
  if ("refusal" in who) return who;
  const policy = RPC_POLICY[rpc];
  const role = who.caller.role;
  if (!policy) {
    return {
      refusal: `role '${role}' may not call ${rpc}: the agent's authorization table does not list it`,
      role,
    };
  }
  const rule = policy.allow[role];
  if (!rule) return { refusal: `role '${role}' may not call ${rpc}: ${policy.otherwise}`, role };
  return rule === true ? { caller: who.caller } : { caller: who.caller, condition: rule };
}

/** The server interceptor that enforces RPC_POLICY on every call; `grants` answers whether an agent
 *  certificate holds a feedback grant (without it, no agent stream is allowed). */
export function authorizationInterceptor(log: Log, grants?: FeedbackGrantCheck): grpc.ServerInterceptor {
  return (method, call) => {
    const rpc = method.path.slice(method.path.lastIndexOf("/") + 1);
    const started = Date.now();
    let refused = false;
    const refuse = (message: string, role: string | undefined) => {
      refused = true;
      const err = new AgentError(grpc.status.PERMISSION_DENIED, message, { role: role ?? "", rpc });
      logRequest(log, rpc, call, started, `PERMISSION_DENIED: ${message}`);
      const s = toServiceError(err);
      call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: s.message, metadata: s.metadata });
    };
    const verdict = authorize(rpc, callerOf(call.getAuthContext(), call.getConnectionInfo().remoteAddress));
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if ("refusal" in verdict) refuse(verdict.refusal, verdict.role);
            else nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            if (refused || "refusal" in verdict) return;
            const why = verdict.condition?.(message, verdict.caller, rpc, grants);
            if (why !== undefined) refuse(why, verdict.caller.role);
            else nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            if (!refused) nextHalfClose();
          },
        }),
    });
  };
}
