// The agent's session, feedback, metrics and discovery RPCs. Sessions are recorded and streamed here; the
// loop that drives them (SessionRunner), the probes (MetricsSource) and the classifier (DiscoverySource)
// are injected. A missing one makes its RPC answer UNIMPLEMENTED, saying so.
import { isIP } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import * as grpc from "@grpc/grpc-js";

import { personaFromWire } from "../../proto/persona";
import type { AgentHandlers } from "../../proto/gen/netpersona/agent/v1/Agent";
import type { DiscoverRequest__Output } from "../../proto/gen/netpersona/agent/v1/DiscoverRequest";
import type { DiscoverResponse } from "../../proto/gen/netpersona/agent/v1/DiscoverResponse";
import type { MetricsSample } from "../../proto/gen/netpersona/agent/v1/MetricsSample";
import type { Peer__Output } from "../../proto/gen/netpersona/agent/v1/Peer";
import { AgentError, invalidArgument, toServiceError } from "../rpc/errors";
import { LIMITS, StreamSlots, resourceExhausted } from "../rpc/limits";
import { logRequest, serverStream, toAgentError, unary, undecodable, write, type Log } from "../rpc/calls";
import { recordFromWire } from "../../proto/session-policy";
import { sessionToWire, eventToWire } from "./wire";
import { PEER_NAME_RE } from "../metrics/prober";
import type { SessionEventRecord, SessionRunner, SessionStore } from "./store";

export interface MetricsSource {
  /** One sample towards `peers` (seq and time are stamped by the server). */
  sample(peers: Peer__Output[], probesPerSample: number, signal: AbortSignal): Promise<MetricsSample>;
}

export interface DiscoverySource {
  discover(req: DiscoverRequest__Output, signal?: AbortSignal): Promise<DiscoverResponse>;
}

/** host:port or [v6]:port of another agent (the feedback stream's endpoint). */
const AGENT_ENDPOINT_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):\d{1,5}$/;

function unimplemented(what: string): AgentError {
  return new AgentError(grpc.status.UNIMPLEMENTED, `${what} is not available in this agent build`);
}

function sessionExists(sessions: SessionStore, id: string): boolean {
  try {
    sessions.get(id);
    return true;
  } catch {
    return false;
  }
}

export function sessionHandlers(deps: {
  log: Log;
  sessions: SessionStore;
  runner?: SessionRunner;
  metrics?: MetricsSource;
  discovery?: DiscoverySource;
  /** For a StreamMetrics call under way: the error that ends it once its caller may no longer stream (an
   *  agent whose feedback grant was revoked or expired), checked before each sample. */
  lapsed?: (call: grpc.ServerWritableStream<unknown, unknown>) => AgentError | undefined;
}): Pick<
  AgentHandlers,
  "StreamMetrics" | "Discover" | "StartSession" | "GetSession" | "WatchSession" | "AbortSession" | "Feedback"
> {
  const { log, sessions } = deps;
  const slots = new StreamSlots();
  let discovering = 0;
  return {
    StartSession: unary(log, "StartSession", async (req) => {
      const source = personaFromWire(req.source_persona, "source_persona");
      const failures = source.ok ? [] : [...source.failures];
      const target = req.target_persona ? personaFromWire(req.target_persona, "target_persona") : undefined;
      if (target && !target.ok) failures.push(...target.failures);
      if (isIP(req.peer_address) === 0) {
        failures.push({ property: "peer_address", reason: "must be an IPv4 or IPv6 address" });
      }
      if (req.peer_port > 65535)
        failures.push({ property: "peer_port", reason: "must be 0..65535 (0: 7047)" });
      if (req.source_agent !== "" && !AGENT_ENDPOINT_RE.test(req.source_agent)) {
        failures.push({
          property: "source_agent",
          reason: "must be HOST:PORT of the source agent, e.g. 10.0.1.10:7443 or [fd00::1]:7443",
        });
      }
      const policy = recordFromWire(req.policy, failures);
      if (failures.length > 0 || !source.ok) throw invalidArgument(failures);
      if (!deps.runner) throw unimplemented("StartSession (no session runner)");
      const running = sessions.runningCount();
      if (running >= LIMITS.runningSessions && !sessionExists(sessions, req.session_id)) {
        throw resourceExhausted(
          `StartSession: ${running} sessions are running on this agent, the limit is ${LIMITS.runningSessions}: wait for one to end or abort it`,
        );
      }
      const now = Date.now();
      const { record, created } = await sessions.create({
        id: sessions.validId(req.session_id),
        state: "SESSION_STATE_PENDING",
        weight: 0,
        converged: false,
        policy,
        sourcePersona: source.value,
        ...(target?.ok && { targetPersona: target.value }),
        shadowPersona: target?.ok ? target.value : source.value,
        sourceAgent: req.source_agent,
        peerAddress: req.peer_address,
        ...(req.peer_port > 0 && { peerPort: req.peer_port }),
        startedUnixMs: now,
        updatedUnixMs: now,
        reason: "",
        events: [],
      });
      if (created) sessions.launch(record.id, deps.runner, log);
      return sessionToWire(record);
    }),
    GetSession: unary(log, "GetSession", async (req) => sessionToWire(sessions.get(req.session_id))),
    AbortSession: unary(log, "AbortSession", async (req) => {
      if (req.reason.length > LIMITS.abortReasonChars) {
        throw invalidArgument([
          {
            property: "reason",
            reason: `must be at most ${LIMITS.abortReasonChars} characters, got ${req.reason.length}`,
          },
        ]);
      }
      const s = sessions.get(req.session_id);
      const reason = req.reason || "aborted by the client";
      if (s.state === "SESSION_STATE_CONVERGED" && req.rollback && deps.runner?.undo) {
        // Undoing a finished migration: the destination returns to its state before the session.
        await deps.runner.undo(s.id);
        await sessions.record(s.id, {
          kind: "restored",
          rule: "",
          changes: [],
          reason: `${reason}: the session-start snapshot is restored`,
          weight: 0,
          converged: false,
          state: "SESSION_STATE_ROLLED_BACK",
        });
        return sessionToWire(sessions.get(s.id));
      }
      return sessionToWire(await sessions.abort(req.session_id, reason, req.rollback));
    }),
    WatchSession: serverStream(
      log,
      "WatchSession",
      async (req, call, signal) => {
        const id = req.session_id;
        sessions.get(id);
        let next = Math.max(1, Number(req.from_seq));
        const queue: SessionEventRecord[] = [];
        let wake: (() => void) | undefined;
        const stopFollowing = sessions.follow(id, (e) => {
          queue.push(e);
          wake?.();
        });
        // One listener for the whole call: a listener per wait would pile up on the call's signal (one per
        // event, MaxListenersExceededWarning at 11) until the call ends.
        const onAbort = () => wake?.();
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          for (;;) {
            const history = sessions.get(id).events.filter((e) => e.seq >= next);
            for (const e of [...history, ...queue.splice(0)]) {
              if (e.seq < next) continue;
              await write(call, eventToWire(e));
              next = e.seq + 1;
            }
            if (sessions.isFinal(id) || signal.aborted) return;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          signal.removeEventListener("abort", onAbort);
          stopFollowing();
        }
      },
      slots,
    ),
    Feedback: (call) => {
      const started = Date.now();
      let count = 0;
      let ended = false;
      const fail = (err: unknown) => {
        if (ended) return;
        ended = true;
        const e = toAgentError(err);
        logRequest(log, "Feedback", call, started, `${e.codeName}: ${e.message} after ${count} reports`);
        call.emit("error", toServiceError(e));
      };
      call.on("data", (r) => {
        const bad = undecodable(r);
        if (bad) return fail(bad);
        try {
          const s = sessions.noteFeedback(r.session_id, {
            seq: Number(r.seq),
            rttMs: r.rtt_ms,
            retransmissions: Number(r.retransmissions),
            throughputBps: r.throughput_bps,
            degraded: r.degraded,
            note: r.note,
          });
          count++;
          call.write({
            session_id: s.id,
            ack_seq: r.seq,
            weight: s.weight,
            state: s.state,
            converged: s.converged,
          });
        } catch (err) {
          fail(err);
        }
      });
      call.on("end", () => {
        if (ended) return;
        ended = true;
        logRequest(log, "Feedback", call, started, `OK ${count} reports`);
        call.end();
      });
      call.on("error", fail);
    },
    StreamMetrics: serverStream(
      log,
      "StreamMetrics",
      async (req, call, signal) => {
        if (!deps.metrics) throw unimplemented("StreamMetrics (no metrics source)");
        // Counted before the entries are read: one failure, not one per peer of a 100 000-peer request.
        if (req.peers.length > LIMITS.metricsPeers) {
          throw invalidArgument([
            { property: "peers", reason: `at most ${LIMITS.metricsPeers} peers, got ${req.peers.length}` },
          ]);
        }
        const names = new Set<string>();
        const failures = req.peers.flatMap((p, i) => {
          const name = !PEER_NAME_RE.test(p.name)
            ? [
                {
                  property: `peers.${i}.name`,
                  reason: "must be 1-64 of letters, digits, _.:@- (a label echoed in every sample)",
                },
              ]
            : names.has(p.name)
              ? [
                  {
                    property: `peers.${i}.name`,
                    reason: `'${p.name}' is listed twice: give each peer its own name`,
                  },
                ]
              : [];
          names.add(p.name);
          const address =
            isIP(p.address) === 0
              ? [{ property: `peers.${i}.address`, reason: "must be an IPv4 or IPv6 address" }]
              : [];
          return [...name, ...address];
        });
        if (req.peers.length === 0) failures.push({ property: "peers", reason: "list at least one peer" });
        if (req.probes_per_sample > LIMITS.probesPerSample) {
          failures.push({
            property: "probes_per_sample",
            reason: `must be at most ${LIMITS.probesPerSample}, got ${req.probes_per_sample}`,
          });
        }
        if (req.interval_ms < 100) failures.push({ property: "interval_ms", reason: "must be at least 100" });
        if (failures.length > 0) throw invalidArgument(failures);
        for (let seq = 1; req.max_samples === 0 || seq <= req.max_samples; seq++) {
          const lapsed = deps.lapsed?.(call);
          if (lapsed) throw lapsed;
          const sample = await deps.metrics.sample(req.peers, Math.max(1, req.probes_per_sample), signal);
          if (signal.aborted) return;
          await write(call, { ...sample, seq, time_unix_ms: Date.now() });
          if (seq === req.max_samples) return;
          await sleep(req.interval_ms, undefined, { signal }).catch(() => undefined);
          if (signal.aborted) return;
        }
      },
      slots,
    ),
    Discover: unary(log, "Discover", async (req, call) => {
      if (!deps.discovery) throw unimplemented("Discover (no flow classifier)");
      const window = req.window_seconds;
      if (window < 1 || window > 600) {
        throw invalidArgument([{ property: "window_seconds", reason: "must be 1..600 seconds" }]);
      }
      // 0: 200 ms, or a tenth of a shorter window (the classifier needs at least 10 samples per window).
      const every = req.sample_interval_ms || Math.min(200, window * 100);
      if (every < 50 || every > 10_000 || every * 10 > window * 1000) {
        throw invalidArgument([
          {
            property: "sample_interval_ms",
            reason: `must be 50..10000 ms and at most a tenth of the window (${Math.min(10_000, window * 100)} ms for ${window} s; 0 picks one), got ${every}`,
          },
        ]);
      }
      if (discovering >= LIMITS.discoveriesRunning) {
        throw resourceExhausted(
          `Discover: ${discovering} discoveries are running on this agent, the limit is ${LIMITS.discoveriesRunning}: wait for one to end`,
        );
      }
      // A caller that gives up (deadline, cancel) stops the sampling: nobody would read its result.
      const ac = new AbortController();
      const cancel = () => ac.abort(new Error("Discover: the caller cancelled or its deadline passed"));
      call.on("cancelled", cancel);
      discovering++;
      try {
        return await deps.discovery.discover({ ...req, sample_interval_ms: every }, ac.signal);
      } catch (err) {
        if (ac.signal.aborted)
          throw new AgentError(grpc.status.CANCELLED, (ac.signal.reason as Error).message);
        throw err;
      } finally {
        discovering--;
        call.off("cancelled", cancel);
      }
    }),
  };
}
