// Handler plumbing shared by the agent's RPCs: one log line per request (method, peer, client certificate,
// status, duration; never request bodies or keys) and every failure turned into a typed gRPC status.
import type * as grpc from "@grpc/grpc-js";

import { clip, invalidArgument, toAgentError, toServiceError, type AgentError } from "./errors";
import type { StreamSlots } from "./limits";
import { trackSignal } from "../runtime";

export type Log = (line: string) => void;

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

function clientName(call: Pick<AnyCall, "getAuthContext">): string {
  const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  return cn ? JSON.stringify(cn) : "-";
}

export function logRequest(
  log: Log,
  method: string,
  call: Pick<AnyCall, "getAuthContext" | "getPeer">,
  started: number,
  outcome: string,
): void {
  log(
    `${method} peer=${call.getPeer()} client=${clientName(call)} ${clip(outcome)} ${Date.now() - started}ms`,
  );
}

function outcomeOf(err: AgentError): string {
  return `${err.codeName}: ${err.message.split("\n")[0]}`;
}

const UNDECODABLE = Symbol("undecodable request");

/** The service with total request decoders: bytes that are not the method's message (random, truncated, a
 *  wrong wire type) decode to a marker that the handlers below refuse INVALID_ARGUMENT. A decoder that
 *  throws would make grpc-js answer INTERNAL "Error deserializing request", which says nothing to fix. */
export function tolerantDecoding<S extends grpc.ServiceDefinition>(service: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(service) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const type = (m as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? "request";
    const pkg = m.path.slice(1, m.path.lastIndexOf(".", m.path.indexOf("/", 1)) + 1);
    const requestDeserialize = (bytes: Buffer): unknown => {
      try {
        return m.requestDeserialize(bytes);
      } catch (err) {
        const why = `the ${bytes.length} bytes are not a ${pkg}${type} message (${(err as Error).message}): encode requests from proto/${pkg.replace(/\./g, "/")}*.proto`;
        return { [UNDECODABLE]: why };
      }
    };
    out[name] = { ...m, requestDeserialize };
  }
  return out as S;
}

/** The refusal of a request that did not decode (see tolerantDecoding), or undefined for a real one. */
export function undecodable(req: unknown): AgentError | undefined {
  const why = (req as { [UNDECODABLE]?: string } | null)?.[UNDECODABLE];
  return why === undefined ? undefined : invalidArgument([{ property: "request", reason: why }]);
}

/** A unary handler from an async function. */
export function unary<Req, Res>(
  log: Log,
  method: string,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = Date.now();
    const bad = undecodable(call.request);
    (bad ? Promise.reject(bad) : fn(call.request, call)).then(
      (res) => {
        logRequest(log, method, call, started, "OK");
        callback(null, res);
      },
      (err: unknown) => {
        const e = toAgentError(err);
        logRequest(log, method, call, started, outcomeOf(e));
        callback(toServiceError(e));
      },
    );
  };
}

/** A server-streaming handler from an async function that writes to the call and resolves when done. With
 *  `slots`, the call holds one of its client's stream slots while it runs (RESOURCE_EXHAUSTED when none). */
export function serverStream<Req, Res>(
  log: Log,
  method: string,
  fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>, signal: AbortSignal) => Promise<void>,
  slots?: StreamSlots,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const started = Date.now();
    const ac = new AbortController();
    call.on("cancelled", () => ac.abort(new Error("cancelled by the client")));
    const run = async () => {
      const bad = undecodable(call.request);
      if (bad) throw bad;
      const client = call.getAuthContext().sslPeerCertificate?.fingerprint256 ?? "-";
      const release = slots?.take(client, method);
      const untrack = trackSignal(ac.signal);
      try {
        await fn(call.request, call, ac.signal);
      } finally {
        untrack();
        release?.();
      }
    };
    run().then(
      () => {
        logRequest(log, method, call, started, ac.signal.aborted ? "CANCELLED" : "OK");
        if (!ac.signal.aborted) call.end();
      },
      (err: unknown) => {
        const e = toAgentError(err);
        logRequest(log, method, call, started, outcomeOf(e));
        if (!ac.signal.aborted) call.emit("error", toServiceError(e));
      },
    );
  };
}

/** Writes one message, waiting for the stream to drain when its buffer is full. */
export function write<Res>(call: grpc.ServerWritableStream<unknown, Res>, msg: Res): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(msg) || call.cancelled) {
      resolve();
      return;
    }
    const done = () => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.on("drain", done);
    call.on("cancelled", done);
  });
}

export { toAgentError };
