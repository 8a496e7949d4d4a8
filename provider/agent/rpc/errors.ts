// Typed errors between the agent and its clients. The server turns every failure into a gRPC status with a
// message that says what to fix and, in the trailing metadata key `netpersona-error`, the same as JSON.
import * as grpc from "@grpc/grpc-js";

import type { Failure } from "../../persona/validate";
import { CommandError } from "../../util/exec";

export const ERROR_METADATA_KEY = "netpersona-error";

/** Structured details of an error; which keys are set depends on the status code. */
export interface ErrorDetails {
  /** INVALID_ARGUMENT: the first failing field, e.g. `persona.mtu`. */
  field?: string;
  /** INVALID_ARGUMENT: every failing field with the reason. */
  failures?: Failure[];
  /** INTERNAL: the command that failed, as an argument vector. */
  command?: string[];
  /** INTERNAL: its combined output (last lines). */
  output?: string;
  /** INTERNAL: its exit status. */
  exitCode?: number;
  /** PERMISSION_DENIED: the caller's role ("" when its certificate names none) and the RPC refused. */
  role?: string;
  rpc?: string;
}

/** An error with a gRPC status code, thrown by handlers and by the client. */
export class AgentError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = "AgentError";
  }

  /** The status name, e.g. "INVALID_ARGUMENT". */
  get codeName(): string {
    return grpc.status[this.code] ?? String(this.code);
  }
}

export function invalidArgument(failures: Failure[]): AgentError {
  const message = failures.map((f) => `${f.property}: ${f.reason}`).join("; ");
  return new AgentError(grpc.status.INVALID_ARGUMENT, message, { field: failures[0]?.property, failures });
}

export function failedPrecondition(message: string): AgentError {
  return new AgentError(grpc.status.FAILED_PRECONDITION, message);
}

export function notFound(message: string): AgentError {
  return new AgentError(grpc.status.NOT_FOUND, message);
}

/** Any error as an AgentError: CommandError (a failing kernel command) becomes INTERNAL with the command. */
export function toAgentError(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  if (err instanceof CommandError) {
    const output = (err.stderr.trim() || err.stdout.trim()).split("\n").slice(-20).join("\n");
    return new AgentError(grpc.status.INTERNAL, err.message, {
      command: [...err.argv],
      output,
      exitCode: err.code,
    });
  }
  const message =
    err instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(err);
  return new AgentError(grpc.status.INTERNAL, message);
}

/** Characters of a status message (and of a request log line's outcome). A refusal may quote the request (an
 *  id, an address, every failing entry of a long list): clipped, its status still fits the client's HTTP/2
 *  header limit (64 KiB) and one request cannot write megabytes to the log. */
export const MAX_MESSAGE_CHARS = 1024;
/** Failures, and characters of each property and reason, in the `netpersona-error` metadata. */
const MAX_DETAIL_FAILURES = 10;
const MAX_DETAIL_CHARS = 200;

/** `text` cut to `max` characters, saying how much was left out. */
export function clip(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function clippedDetails(d: ErrorDetails): ErrorDetails {
  if (!d.failures) return d;
  const failures = d.failures.slice(0, MAX_DETAIL_FAILURES).map((f) => ({
    property: clip(f.property, MAX_DETAIL_CHARS),
    reason: clip(f.reason, MAX_DETAIL_CHARS),
  }));
  return { ...d, failures, ...(d.field !== undefined && { field: clip(d.field, MAX_DETAIL_CHARS) }) };
}

/** The error as a gRPC status for a handler's callback or `call.destroy`. */
export function toServiceError(err: AgentError): Partial<grpc.StatusObject> & Error {
  const metadata = new grpc.Metadata();
  if (Object.keys(err.details).length > 0) {
    // Metadata values must be printable ASCII: escape everything else the JSON way.
    const json = JSON.stringify(clippedDetails(err.details)).replace(
      /[^\x20-\x7e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    metadata.set(ERROR_METADATA_KEY, json);
  }
  const message = clip(err.message);
  return Object.assign(new Error(message), { code: err.code, details: message, metadata });
}

/** Reads a gRPC error received by a client back into an AgentError with its details. */
export function fromServiceError(err: grpc.ServiceError): AgentError {
  let details: ErrorDetails = {};
  const raw = err.metadata?.get(ERROR_METADATA_KEY)[0];
  if (typeof raw === "string") {
    try {
      details = JSON.parse(raw) as ErrorDetails;
    } catch {
      details = {};
    }
  }
  return new AgentError(err.code, withoutEmptyNote(err.details || err.message), details);
}

/** grpc-js ends a connection failure with "Resolution note: " even when it has none to give. */
function withoutEmptyNote(message: string): string {
  return message.replace(/\.? ?Resolution note: ?$/, "");
}
