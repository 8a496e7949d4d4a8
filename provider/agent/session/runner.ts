// The migration session loop, run by the destination agent: snapshot the host, start the engine with the
// source persona (the shadow mirrors it), then every probe interval measure the path to the peer, read the
// source's feedback, decide, put the blend plan on the host, persist the engine state and record every event.
// Converged: the final persona stays. Rolled back, gave up, failed or aborted with rollback: the snapshot of
// the session's start is restored. A restarted agent resumes from the persisted state.
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

import {
  decide,
  startEngine,
  TERMINAL,
  type Decision,
  type EngineState,
  type MetricsWindow,
} from "../../engine";
import type { Persona } from "../../persona/schema";
import { FeedbackLink, FeedbackView, localAddressTowards, type ConnectPeerAgent } from "./feedback";
import type { HostSnapshot } from "../host/api";
import type { NetpersonaHostController } from "../host/controller";
import { DEFAULT_ECHO_PORT } from "../metrics/echo";
import { applyPlan } from "./apply";
import { loadRunnerState, runnerStatePath, saveRunnerState } from "./persist";
import { PathProbes, probeSpacingMs } from "./probes";
import { TargetProbes } from "./target-probes";
import { enginePolicyOf, sessionStateOf } from "../../proto/session-policy";
import {
  SessionAbort,
  type MetricsSummary,
  type SessionContext,
  type SessionRunner,
  type SessionStateName,
} from "./store";

export interface SessionRunnerOptions {
  host: NetpersonaHostController;
  /** The agent's state directory; the runner keeps <stateDir>/sessions/<id>.json. */
  stateDir: string;
  /** Opens a mutual-TLS connection to another agent (the source, for feedback). Without it, feedback comes
   *  only from the Feedback RPC (the source as client). */
  connectPeerAgent?: ConnectPeerAgent;
  /** Records the final persona of a converged session as the agent's current persona. */
  recordPersona?: (persona: Persona, sessionStart: HostSnapshot) => Promise<void>;
  /** The name the target's new DNS servers are asked for (the safe-apply probe's; "" turns it off).
   *  Default "localhost". */
  dnsName?: string;
  log?: (line: string) => void;
}

/** The first decision waits this long at most for the first path MTU measurement. */
const FIRST_PMTU_WAIT_MS = 30_000;

type Run = {
  o: SessionRunnerOptions;
  ctx: SessionContext;
  snapshot: HostSnapshot;
  log: (line: string) => void;
  /** Set once the target probes exist: their steering goes before the final event, like the host's restore. */
  target?: TargetProbes;
};

/** What a decision's event records of its metrics: all of them but the p99 RTT (absent ones stay absent). */
const summary = ({ rttP99Ms: _p99, ...recorded }: MetricsWindow): MetricsSummary => recorded;

/** Restores the session-start snapshot and records the final event. */
async function restoreAndEnd(r: Run, kind: string, state: SessionStateName, reason: string): Promise<void> {
  await r.target?.stop();
  await r.o.host.restore(r.snapshot);
  const live = await r.o.host.readCurrent().catch(() => undefined);
  r.log(`session ${r.ctx.session.id}: ${kind}: ${reason}`);
  await r.ctx.emit({
    kind,
    rule: "",
    changes: [],
    reason,
    weight: 0,
    converged: false,
    state,
    ...(live && { blendedPersona: live }),
  });
}

async function emitDecision(r: Run, d: Decision, metrics: MetricsSummary, blended?: Persona): Promise<void> {
  for (const e of d.events) {
    await r.ctx.emit({
      kind: e.kind,
      rule: e.rule,
      changes: e.changes.map((c) => ({ field: c.field, from: c.from, to: c.to })),
      reason: e.reason,
      weight: e.weight,
      converged: e.phase === "converged",
      state: sessionStateOf(e.phase) as SessionStateName,
      metrics,
      shadowPersona: d.persona,
      ...(blended && { blendedPersona: blended }),
    });
  }
}

type Start = { engine: EngineState; snapshot: HostSnapshot; resumed: boolean };

/** Where the engine stands: persisted progress (a restart), or a fresh start with a new snapshot. */
async function begin(o: SessionRunnerOptions, ctx: SessionContext): Promise<Start> {
  const s = ctx.session;
  const saved = await loadRunnerState(o.stateDir, s.id);
  // Resumed: the first decision applies the current plan again (idempotent), whatever was on the host.
  if (saved)
    return { engine: { ...saved.engine, appliedPlanKey: "" }, snapshot: saved.snapshot, resumed: true };
  const snapshot = await o.host.snapshot();
  const engine = startEngine({
    source: s.sourcePersona,
    // Absent: the shadow starts as the source's mirror.
    ...(s.targetPersona && { target: s.targetPersona }),
    policy: enginePolicyOf(s.policy),
    timeMs: Date.now(),
  });
  await saveRunnerState(o.stateDir, { sessionId: s.id, snapshot, engine });
  return { engine, snapshot, resumed: false };
}

async function runSession(o: SessionRunnerOptions, ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const log = o.log ?? (() => undefined);
  const start = await begin(o, ctx);
  let engine = start.engine;
  const r: Run = { o, ctx, snapshot: start.snapshot, log };
  const policy = engine.policy;
  await ctx.emit({
    kind: start.resumed ? "resumed" : "started",
    rule: "",
    changes: [],
    reason: start.resumed
      ? `agent restarted: resuming from the persisted engine state at weight ${engine.weight} (${engine.intervals} decisions so far)`
      : `host snapshot taken; the shadow persona ${s.targetPersona ? "starts as the given target" : "mirrors the source"}; probing ${s.peerAddress} every ${policy.probeIntervalMs} ms`,
    weight: engine.weight,
    converged: false,
    state: "SESSION_STATE_RUNNING",
  });
  const probes = new PathProbes({
    peer: s.peerAddress,
    port: s.peerPort || DEFAULT_ECHO_PORT,
    spacingMs: probeSpacingMs(policy.probeIntervalMs),
    windowMs: policy.detectionWindowMs,
  });
  // The target's own path and new DNS servers, measured from weight 0 on (target-probes.ts).
  const targetProbes = new TargetProbes({
    source: engine.source,
    target: s.targetPersona,
    peer: s.peerAddress,
    port: s.peerPort || DEFAULT_ECHO_PORT,
    spacingMs: probeSpacingMs(policy.probeIntervalMs),
    windowMs: policy.detectionWindowMs,
    dnsName: o.dnsName ?? "localhost",
    ...(o.host.netns !== undefined && { netns: o.host.netns }),
    log: (line) => log(`session ${s.id}: ${line}`),
  });
  r.target = targetProbes;
  const feedback = new FeedbackView(ctx, policy.probeIntervalMs);
  try {
    // The feedback stream first: the source agent answers our echo probes only while it probes us (its
    // echo responder answers the peers it probes, docs/security.md "Echo responder"), so probing before the
    // stream is up would count the first window's probes as lost.
    if (s.sourceAgent && o.connectPeerAgent) {
      feedback.link = new FeedbackLink({
        endpoint: s.sourceAgent,
        connect: o.connectPeerAgent,
        ourAddress: await localAddressTowards(s.peerAddress),
        intervalMs: policy.probeIntervalMs,
        policy,
        onReport: (rep) => ctx.noteFeedback(rep),
        log: (line) => log(`session ${s.id}: ${line}`),
      });
      feedback.link.start();
      // The first decision knows how the source sees the path (or the link counts as cut by then).
      await feedback.link.firstReport(feedback.link.staleMs, ctx.signal);
    }
    await probes.start();
    await targetProbes.start();
    await probes.firstPathMtu(FIRST_PMTU_WAIT_MS, ctx.signal);
    await probes.firstDecided(ctx.signal);
    await targetProbes.firstWindow(ctx.signal);
    while (!TERMINAL.has(engine.phase)) {
      if (ctx.signal.aborted) return await onAbort(r, ctx.signal.reason);
      const metrics = { ...(await probes.summary()), ...targetProbes.summary() };
      const fb = feedback.fresh();
      const d = decide(engine, {
        timeMs: Math.max(Date.now(), engine.lastTimeMs),
        metrics,
        feedbackLinkUp: feedback.up(),
        ...(fb && {
          feedback: {
            rttMs: fb.rttMs,
            retransmissions: fb.retransmissions,
            throughputBps: fb.throughputBps,
            degraded: fb.degraded,
          },
        }),
      });
      // A final decision: the target probes' steering is removed before the final event is recorded.
      if (TERMINAL.has(d.state.phase)) await targetProbes.stop();
      const rolledBack = d.state.phase === "rolled-back" || d.state.phase === "gave-up";
      if (!rolledBack) {
        for (const a of d.actions) if (a.type === "apply") await applyPlan(o.host, a.plan);
      }
      await saveRunnerState(o.stateDir, { sessionId: s.id, snapshot: r.snapshot, engine: d.state });
      engine = d.state;
      if (rolledBack) {
        // The host goes back before the final event: a watcher that sees ROLLED_BACK finds it restored.
        await o.host.restore(r.snapshot);
        const live = await o.host.readCurrent().catch(() => undefined);
        const restored = "; the session-start snapshot is restored";
        const events = d.events.map((e) =>
          e.kind === "rollback" ? { ...e, reason: `${e.reason}${restored}` } : e,
        );
        await emitDecision(r, { ...d, events }, summary(metrics), live);
        log(`session ${s.id}: rolled back: ${events.map((e) => e.reason).join("; ")}`);
        return;
      }
      await emitDecision(r, d, summary(metrics), d.plan.persona);
      if (d.state.phase === "converged") {
        await o.recordPersona?.(d.plan.persona, r.snapshot);
        log(`session ${s.id}: converged; final persona ${JSON.stringify(d.plan.persona)}`);
        return;
      }
      await sleep(policy.probeIntervalMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
    // Resumed after a final decision whose event was not recorded yet.
    if (engine.phase === "converged") {
      await ctx.emit({
        kind: "converged",
        rule: "convergence",
        changes: [],
        reason: "converged before the agent restarted",
        weight: 1,
        converged: true,
        state: "SESSION_STATE_CONVERGED",
      });
    } else {
      await restoreAndEnd(
        r,
        "rollback",
        "SESSION_STATE_ROLLED_BACK",
        `${engine.phase} before the agent restarted; the session-start snapshot is restored`,
      );
    }
  } catch (err) {
    if (ctx.signal.aborted) return await onAbort(r, ctx.signal.reason);
    const why = `session failed at weight ${engine.weight}: ${(err as Error).message}; the session-start snapshot is restored`;
    await restoreAndEnd(r, "failed", "SESSION_STATE_FAILED", why);
  } finally {
    feedback.link?.stop();
    await probes.stop();
    await targetProbes.stop();
  }
}

/** AbortSession: with rollback the snapshot is restored; the agent stopping leaves all as it is (resume). */
async function onAbort(r: Run, reason: unknown): Promise<void> {
  if (!(reason instanceof SessionAbort)) return;
  if (!reason.rollback) {
    r.log(`session ${r.ctx.session.id}: aborted (${reason.message}); the host is left as it is`);
    return;
  }
  await restoreAndEnd(
    r,
    "rollback",
    "SESSION_STATE_ABORTED",
    `aborted (${reason.message}): the session-start snapshot is restored`,
  );
}

export function createSessionRunner(o: SessionRunnerOptions): SessionRunner {
  return {
    run: (ctx) => runSession(o, ctx),
    // A converged session undone (its Migration deleted): the host goes back to the session-start snapshot.
    async undo(sessionId: string): Promise<void> {
      const st = await loadRunnerState(o.stateDir, sessionId);
      if (!st)
        throw new Error(
          `session '${sessionId}' has no saved start snapshot on this agent: nothing to restore`,
        );
      await o.host.restore(st.snapshot);
    },
    forget: (sessionId) => rm(runnerStatePath(o.stateDir, sessionId), { force: true }),
  };
}
