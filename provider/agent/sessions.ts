// Migration sessions as the agent keeps them: a durable record with its full event history, watchers that
// follow new events, and the feedback from the source agent. The adjustment loop itself is a SessionRunner
// (the engine), injected into the server; this module only records, persists and distributes what it reports.
import { EventEmitter } from "node:events";

import type { WireSessionPolicy } from "../engine/wire";
import type { Persona } from "../persona/schema";
import { failedPrecondition, invalidArgument, notFound } from "./errors";
import type { StateStore } from "./state";

export type SessionStateName =
  | "SESSION_STATE_PENDING"
  | "SESSION_STATE_RUNNING"
  | "SESSION_STATE_PAUSED"
  | "SESSION_STATE_CONVERGED"
  | "SESSION_STATE_ROLLED_BACK"
  | "SESSION_STATE_ABORTED"
  | "SESSION_STATE_FAILED";

const FINAL: ReadonlySet<SessionStateName> = new Set([
  "SESSION_STATE_CONVERGED",
  "SESSION_STATE_ROLLED_BACK",
  "SESSION_STATE_ABORTED",
  "SESSION_STATE_FAILED",
]);

/** The session's compact policy (the engine's view of session.proto's SessionPolicy), plus the full engine
 *  policy (PolicyInput JSON) merged over it; "" when none was given. */
export interface SessionPolicy extends WireSessionPolicy {
  policyJson?: string;
}

/** The metrics one decision was based on. */
export interface MetricsSummary {
  rttP50Ms: number;
  rttP90Ms: number;
  lossRatio: number;
  jitterMs: number;
  throughputBps: number;
  pathMtu: number;
}

export interface SessionEventRecord {
  sessionId: string;
  seq: number;
  timeUnixMs: number;
  kind: string;
  metrics?: MetricsSummary;
  rule: string;
  changes: { field: string; from: string; to: string }[];
  reason: string;
  weight: number;
  converged: boolean;
  state: SessionStateName;
}

export interface SessionRecord {
  id: string;
  state: SessionStateName;
  weight: number;
  converged: boolean;
  policy: SessionPolicy;
  sourcePersona: Persona;
  /** The persona the blend moves towards (StartSession's target_persona); absent: the source's mirror. */
  targetPersona?: Persona;
  shadowPersona: Persona;
  blendedPersona?: Persona;
  sourceAgent: string;
  peerAddress: string;
  /** UDP port of the peer's echo responder (0 or absent: the default, 7047). */
  peerPort?: number;
  startedUnixMs: number;
  updatedUnixMs: number;
  reason: string;
  events: SessionEventRecord[];
}

/** What a runner reports; the store stamps session id, sequence number and time. */
export type SessionUpdate = Omit<SessionEventRecord, "sessionId" | "seq" | "timeUnixMs"> & {
  shadowPersona?: Persona;
  blendedPersona?: Persona;
};

export interface FeedbackReport {
  seq: number;
  rttMs: number;
  retransmissions: number;
  throughputBps: number;
  degraded: boolean;
  note: string;
}

export interface SessionContext {
  readonly session: Readonly<SessionRecord>;
  /** Aborted when AbortSession is called or the agent stops. */
  readonly signal: AbortSignal;
  /** Records an event (persisted before it is sent to watchers) and updates the session with it. */
  emit(update: SessionUpdate): Promise<void>;
  /** The latest feedback report from the source agent, if any. */
  latestFeedback(): FeedbackReport | undefined;
  /** Records a feedback report that the runner obtained itself (its own stream to the source agent). */
  noteFeedback(report: FeedbackReport): void;
}

/** The adjustment loop (the engine). `run` resolves when the session reached a final state. */
export interface SessionRunner {
  run(ctx: SessionContext): Promise<void>;
  /** Puts the host back as it was when the (converged) session started. */
  undo?(sessionId: string): Promise<void>;
}

/** The reason of a session's abort signal when AbortSession was called. */
export class SessionAbort extends Error {
  constructor(
    message: string,
    readonly rollback: boolean,
  ) {
    super(message);
    this.name = "SessionAbort";
  }
}

/** How long AbortSession waits for the runner to put the host back before it answers anyway. */
const ABORT_WAIT_MS = 30_000;

export const SESSION_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export class SessionStore {
  private readonly events = new EventEmitter();
  private readonly feedback = new Map<string, FeedbackReport>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly store: StateStore) {
    this.events.setMaxListeners(0);
  }

  validId(id: string): string {
    if (!SESSION_ID_RE.test(id)) {
      throw invalidArgument([{ property: "session_id", reason: "must be 1-64 of A-Z a-z 0-9 _ . -" }]);
    }
    return id;
  }

  get(id: string): SessionRecord {
    this.validId(id);
    const s = this.store.get().sessions[id];
    if (!s) throw notFound(`no session '${id}': StartSession creates it`);
    return s;
  }

  async create(record: SessionRecord): Promise<{ record: SessionRecord; created: boolean }> {
    const existing = this.store.get().sessions[record.id];
    if (existing) return { record: existing, created: false };
    await this.store.update((d) => {
      d.sessions[record.id] = record;
    });
    return { record: this.get(record.id), created: true };
  }

  /** Runs `runner` for the session in the background; failures end the session as FAILED. */
  launch(id: string, runner: SessionRunner, log: (line: string) => void): void {
    const controller = new AbortController();
    this.aborts.set(id, controller);
    const ctx: SessionContext = {
      session: this.get(id),
      signal: controller.signal,
      emit: (update) => this.record(id, update),
      latestFeedback: () => this.feedback.get(id),
      noteFeedback: (report) => void this.feedback.set(id, report),
    };
    const done = runner
      .run(ctx)
      .catch(async (err: unknown) => {
        log(`session ${id} failed: ${(err as Error)?.message ?? String(err)}`);
        if (!FINAL.has(this.get(id).state)) {
          const s = this.get(id);
          await this.record(id, { ...finalUpdate(s, "failed", "SESSION_STATE_FAILED"), reason: String(err) });
        }
      })
      .finally(() => {
        this.aborts.delete(id);
        this.running.delete(id);
      });
    this.running.set(id, done);
  }

  /** Sessions whose runner is running in this agent now. */
  runningCount(): number {
    return this.running.size;
  }

  /** Launches `runner` again for every session that had not reached a final state (the agent restarted);
   *  returns their ids. The runner finds its own persisted progress and resumes from it. */
  resumeAll(runner: SessionRunner, log: (line: string) => void): string[] {
    const ids = Object.values(this.store.get().sessions)
      .filter((s) => !FINAL.has(s.state) && !this.aborts.has(s.id))
      .map((s) => s.id);
    for (const id of ids) {
      log(`session ${id}: resuming after restart`);
      this.launch(id, runner, log);
    }
    return ids;
  }

  async record(id: string, update: SessionUpdate): Promise<void> {
    const { shadowPersona, blendedPersona, ...fields } = update;
    let event: SessionEventRecord | undefined;
    await this.store.update((d) => {
      const s = d.sessions[id];
      const now = Date.now();
      event = { ...fields, sessionId: id, seq: s.events.length + 1, timeUnixMs: now };
      s.events.push(event);
      Object.assign(s, {
        state: update.state,
        weight: update.weight,
        converged: update.converged,
        updatedUnixMs: now,
      });
      if (update.reason) s.reason = update.reason;
      if (shadowPersona) s.shadowPersona = shadowPersona;
      if (blendedPersona) s.blendedPersona = blendedPersona;
    });
    this.events.emit(id, event);
  }

  /** Ends the session as ABORTED and signals its runner; `signal.reason` is a SessionAbort carrying `rollback`
   *  (whether the runner puts the source persona back before it returns). */
  async abort(id: string, reason: string, rollback: boolean): Promise<SessionRecord> {
    const s = this.get(id);
    if (FINAL.has(s.state)) throw failedPrecondition(`session '${id}' already ended (${s.state})`);
    this.aborts.get(id)?.abort(new SessionAbort(reason, rollback));
    // The runner puts the host back (rollback) or stops as it is; answer once it is done (bounded).
    const done = this.running.get(id);
    if (done)
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, ABORT_WAIT_MS).unref())]);
    const why = rollback ? `${reason} (rollback to the source persona requested)` : reason;
    await this.record(id, { ...finalUpdate(s, "aborted", "SESSION_STATE_ABORTED"), reason: why });
    return this.get(id);
  }

  isFinal(id: string): boolean {
    return FINAL.has(this.get(id).state);
  }

  /** Calls `onEvent` for every new event of the session until the returned function is called. */
  follow(id: string, onEvent: (e: SessionEventRecord) => void): () => void {
    this.events.on(id, onEvent);
    return () => this.events.off(id, onEvent);
  }

  noteFeedback(id: string, report: FeedbackReport): SessionRecord {
    const s = this.get(id);
    this.feedback.set(id, report);
    return s;
  }

  /** Stops every running session's runner (the agent is shutting down); the records stay as they are. */
  stopAll(): void {
    for (const c of this.aborts.values()) c.abort(new Error("agent stopping"));
  }
}

function finalUpdate(s: SessionRecord, kind: string, state: SessionStateName): SessionUpdate {
  return { kind, rule: "", changes: [], reason: "", weight: s.weight, converged: false, state };
}
