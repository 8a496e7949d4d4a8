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
  /** Discover calls sampling at once on one agent (each runs `ss` every sample for up to 600 s). */
  discoveriesRunning: 2,
  /** Echo probes answered per second per source address (token bucket refill; metrics/rate.ts). A session
   *  probes at most 50 a second, a feedback stream 10 per sample: 200 leaves room for 4 sessions at once. */
  echoPerSourcePerSecond: 200,
  /** Token bucket size: probes one source may send back to back before the rate applies. */
  echoBurst: 200,
  /** Sources with a bucket at once; beyond it the least recently seen is dropped (buckets exist only for
   *  sources the responder answers, so spoofed strangers never fill it). */
  echoSources: 1024,
  /** A bucket idle this long is full again (echoBurst / echoPerSourcePerSecond) and is forgotten. */
  echoSourceIdleMs: 1_000,
  /** A peer this agent probed in a StreamMetrics sample is answered for this long after (the feedback path
   *  and two-way measurements: who we probe may probe us). */
  echoProbedTtlMs: 60_000,
  /** Peers remembered for that rule at once (least recently probed dropped first). */
  echoProbedPeers: 256,
  /** Path-MTU probes (`ip route get` + pings as root) running at once on one agent. */
  pmtuConcurrent: 2,
  /** Path-MTU probes waiting for a slot; beyond it a request is skipped (path_mtu stays 0, "not measured"). */
  pmtuQueued: 16,
  /** Path-MTU results kept (per peer address); the least recently used is dropped beyond it. */
  pmtuCacheEntries: 64,
  /** A kept path-MTU result is dropped this long after it was measured (a live peer is re-measured sooner). */
  pmtuCacheTtlMs: 20 * 60_000,
  /** Feedback grants (GrantFeedback) one agent keeps at once, expired ones not counted (pruned on each write). */
  feedbackGrants: 64,
  /** How far ahead a feedback grant may expire (s): a session's maximum duration plus a margin fits. */
  feedbackGrantSeconds: 24 * 3600,
} as const;

/** Probes per sample of a destination's feedback stream on its source (the most an agent certificate may ask). */
export const FEEDBACK_PROBES = 10;

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
