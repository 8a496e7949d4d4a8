// Bounds on what one request or one client may ask of the agent. Each refusal names the field (or the
// resource) and the limit: INVALID_ARGUMENT for a request too large, RESOURCE_EXHAUSTED for too many at once.
// Documented in docs/agent-api.md ("Limits").
import * as grpc from "@grpc/grpc-js";

import { AgentError } from "./errors";

export const LIMITS = {
  /** Peers in one StreamMetrics request (each starts probes and a path-MTU probe as root). */
  metricsPeers: 16,
  /** probes_per_sample of StreamMetrics. */
  probesPerSample: 100,
  /** Server streams (StreamMetrics, WatchSession) one client certificate may hold open at once. */
  streamsPerClient: 8,
  /** Sessions running at once on one agent. */
  runningSessions: 4,
  /** Characters of AbortSession's reason. */
  abortReasonChars: 512,
} as const;

/** Transport bounds of the agent's gRPC server (grpc-js server options): applied to every connection before
 *  any handler runs. A request larger than `maxReceiveBytes` is refused RESOURCE_EXHAUSTED by grpc-js. */
export const SERVER_LIMITS = {
  /** Concurrent HTTP/2 streams (calls) on one connection. */
  maxConcurrentStreams: 32,
  /** Largest request message (the largest real one, a StartSession with two personas and a policy, is a few KiB). */
  maxReceiveBytes: 1024 * 1024,
  /** Largest response message (Discover with its flows is the largest). */
  maxSendBytes: 8 * 1024 * 1024,
  /** The server pings an idle connection this often and drops it when no answer comes within the timeout,
   *  so a vanished client's streams (and their slots) are freed. */
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  /** A connection without any call for this long is closed. */
  maxConnectionIdleMs: 10 * 60_000,
  /** HTTP/2 memory one connection may use (grpc-js: further streams are refused beyond it). */
  maxSessionMemoryMiB: 10,
} as const;

export function serverOptions(): grpc.ServerOptions {
  return {
    "grpc.max_concurrent_streams": SERVER_LIMITS.maxConcurrentStreams,
    "grpc.max_receive_message_length": SERVER_LIMITS.maxReceiveBytes,
    "grpc.max_send_message_length": SERVER_LIMITS.maxSendBytes,
    "grpc.keepalive_time_ms": SERVER_LIMITS.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": SERVER_LIMITS.keepaliveTimeoutMs,
    "grpc.max_connection_idle_ms": SERVER_LIMITS.maxConnectionIdleMs,
    "grpc-node.max_session_memory": SERVER_LIMITS.maxSessionMemoryMiB,
  };
}

export function resourceExhausted(message: string): AgentError {
  return new AgentError(grpc.status.RESOURCE_EXHAUSTED, message);
}

/** Open server streams per client (keyed by the client certificate's SHA-256 fingerprint). */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: number = LIMITS.streamsPerClient) {}

  /** Takes a slot for `client` or throws RESOURCE_EXHAUSTED; the returned function gives it back. */
  take(client: string, method: string): () => void {
    const n = this.open.get(client) ?? 0;
    if (n >= this.limit) {
      throw resourceExhausted(
        `${method}: this client already holds ${n} open streams (StreamMetrics and WatchSession), the limit is ${this.limit}: close one first`,
      );
    }
    this.open.set(client, n + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
  }
}
