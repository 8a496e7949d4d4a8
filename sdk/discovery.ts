// Discovery from a program: what an agent's host runs, and a persona recommended for it.
import * as pulumi from "@pulumi/pulumi";

import type { FromDiscoveryOptions } from "../provider/discovery/from-discovery";
import type { AgentDiscovery } from "../provider/discovery/from-wire";
import type { Agent } from "./agent";

export type { AgentDiscovery, FromDiscoveryOptions };

export interface DiscoverArgs {
  /** How long the agent samples live flows (1-600 s, default 30). */
  windowSeconds?: number;
  /** Time between samples in milliseconds (default 200). */
  sampleIntervalMs?: number;
}

/**
 * Asks an agent to watch its host's traffic and classify it (video streaming, database access, web
 * browsing, bulk transfer, interactive, other). Runs during preview too once the agent exists, so
 * `pulumi preview` shows what a persona built from it would change.
 */
export function discover(agent: Agent, args: DiscoverArgs = {}): pulumi.Output<AgentDiscovery> {
  const window = args.windowSeconds ?? 30;
  return pulumi
    .all([agent.endpoint, agent.caCertPem, agent.clientCertPem, agent.clientKeyPem])
    .apply(async ([endpoint, caPem, certPem, keyPem]) => {
      const { connectAgent } = await import("../provider/agent/rpc/client");
      const { fromDiscoverResponse } = await import("../provider/discovery/from-wire");
      const conn = connectAgent({ endpoint, caPem, certPem, keyPem });
      try {
        const r = await conn.discover(
          { window_seconds: window, sample_interval_ms: args.sampleIntervalMs ?? 200 },
          { deadlineMs: (window + 30) * 1000 },
        );
        return fromDiscoverResponse(r);
      } finally {
        conn.close();
      }
    });
}
