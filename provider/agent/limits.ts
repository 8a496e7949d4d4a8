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
