// Helpers of the migration session tests: the request, following a session's events, and reading the
// destination's kernel back (routes, the agent's nft table, resolv.conf).
import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";

import type { AgentConnection } from "../provider/agent/rpc/client";
import type { Persona } from "../provider/proto/gen/netpersona/agent/v1/Persona";
import type { SessionEvent__Output } from "../provider/proto/gen/netpersona/agent/v1/SessionEvent";
import type { StartSessionRequest } from "../provider/proto/gen/netpersona/agent/v1/StartSessionRequest";
import { run } from "../provider/util/exec";
import type { SessionLab } from "./fixtures/session-agents";

/** A short policy: 250 ms decisions over a 2 s window, quick dwell; `extra` is merged over it (policy_json). */
export function shortPolicy(extra: Record<string, unknown> = {}): StartSessionRequest["policy"] {
  const base = {
    probeIntervalMs: 250,
    detectionWindowMs: 2000,
    dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 0 },
    schedule: { steps: [0.5, 1], stepDwellMs: 500 },
    convergence: { quietIntervals: 2 },
  };
  return { interval_ms: 250, policy_json: JSON.stringify({ ...base, ...extra }) };
}

export function startRequest(
  lab: SessionLab,
  sourceEndpoint: string,
  id: string,
  source: Persona,
  policy: StartSessionRequest["policy"],
): StartSessionRequest {
  return {
    session_id: id,
    source_persona: source,
    policy,
    source_agent: sourceEndpoint,
    peer_address: lab.source.address,
  };
}

/** Follows the session from its first event until `until` holds for an event (or the session ends). */
export async function follow(
  conn: AgentConnection,
  id: string,
  until: (e: SessionEvent__Output, all: SessionEvent__Output[]) => boolean = () => false,
  deadlineMs = 90_000,
): Promise<SessionEvent__Output[]> {
  const events: SessionEvent__Output[] = [];
  for await (const e of conn.watchSession(id, 1, { deadlineMs })) {
    events.push(e);
    if (until(e, events)) break;
  }
  return events;
}

export function lastOf(events: SessionEvent__Output[]): SessionEvent__Output {
  assert.ok(events.length > 0, "the session has no events");
  return events[events.length - 1];
}

/** `ip -d route show default` in the namespace (the text form shows `mtu lock`). */
export async function defaultRoute(netns: string): Promise<string> {
  return (await run(["ip", "-4", "-d", "route", "show", "default"], { netns })).stdout.trim();
}

/** The agent's QoS table as nft prints it, or "" when there is none. */
export async function nftTable(netns: string): Promise<string> {
  const r = await run(["nft", "list", "table", "inet", "netpersona"], { netns, check: false });
  return r.code === 0 ? r.stdout.replace(/\s+/g, " ").trim() : "";
}

export async function nameservers(netns: string): Promise<string[]> {
  const text = await readFile(`/etc/netns/${netns}/resolv.conf`, "utf8");
  return [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]);
}

/** Readable history for assertion messages. */
export function story(events: SessionEvent__Output[]): string {
  return events
    .filter((e) => e.kind !== "probe")
    .map((e) => `${e.seq} ${e.kind} w=${e.weight} ${e.state.replace("SESSION_STATE_", "")} ${e.reason}`)
    .join("\n");
}
