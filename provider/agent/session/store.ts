// Migration sessions as the agent keeps them: a durable record with its full event history, watchers that
// follow new events, and the feedback from the source agent. The adjustment loop itself is a SessionRunner
// (the engine), injected into the server; this module only records, persists and distributes what it reports.
import { EventEmitter } from "node:events";

import type { Persona } from "../../persona/schema";
import { failedPrecondition, invalidArgument, notFound } from "../rpc/errors";
import { trackSignal } from "../runtime";
import type { StateStore } from "../state";

import type { SessionStateName } from "../../proto/session-policy";
import type { SessionEventRecord, SessionRecord } from "./records";

export type { MetricsSummary, SessionEventRecord, SessionRecord } from "./records";
export type { SessionPolicyRecord, SessionStateName } from "../../proto/session-policy";

const FINAL: ReadonlySet<SessionStateName> = new Set([
  "SESSION_STATE_CONVERGED",
  "SESSION_STATE_ROLLED_BACK",
  "SESSION_STATE_ABORTED",
  "SESSION_STATE_FAILED",
]);

/** Events kept per running session: a watcher that falls further behind resumes from the oldest kept. */
export const EVENTS_KEPT = 500;
/** Events kept once the session is final (its outcome and the decisions that led to it). */
export const FINAL_EVENTS_KEPT = 50;
/** Final sessions that keep FINAL_EVENTS_KEPT events; older final ones keep only their last OLD_EVENTS_KEPT. */
export const FINAL_DETAILED = 5;
export const OLD_EVENTS_KEPT = 5;
/** Final sessions kept whose host change no one can undo any more (rolled back, aborted, failed); older
 *  ones are dropped with their runner state. Converged sessions stay: deleting their Migration undoes them. */
export const FINAL_UNDONE_KEPT = 20;

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
  /** Removes what the runner persisted for a session dropped from the state. */
  forget?(sessionId: string): Promise<void>;
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
  /** Sessions dropped from the state whose runner state file is still to be removed. */
  private readonly dropped: string[] = [];
  /** Called with every event of every session once it is recorded (the metrics exporter counts them). */
  private readonly observers = new Set<(e: SessionEventRecord) => void>();

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
    const s = ownSession(this.store.get().sessions, id);
    if (!s) throw notFound(`no session '${id}': StartSession creates it`);
    return s;
  }

  async create(record: SessionRecord): Promise<{ record: SessionRecord; created: boolean }> {
    const existing = ownSession(this.store.get().sessions, record.id);
    if (existing) return { record: existing, created: false };
    await this.store.update((d) => {
      // An own property even for "__proto__" (a valid id), which plain assignment would take as the prototype.
      Object.defineProperty(d.sessions, record.id, {
        value: record,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    return { record: this.get(record.id), created: true };
  }

  /** Runs `runner` for the session in the background; failures end the session as FAILED. */
  launch(id: string, runner: SessionRunner, log: (line: string) => void): void {
    const controller = new AbortController();
    this.aborts.set(id, controller);
    const untrack = trackSignal(controller.signal);
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
        untrack();
        this.aborts.delete(id);
        this.running.delete(id);
        this.feedback.delete(id);
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
      const s = ownSession(d.sessions, id)!;
      const now = Date.now();
      const seq = (s.eventCount ?? s.events.length) + 1;
      event = { ...fields, sessionId: id, seq, timeUnixMs: now };
      s.events.push(event);
      s.eventCount = seq;
      // Bounded: the state is rewritten on every event, so it must not grow with the session's length.
      const keep = FINAL.has(update.state) ? FINAL_EVENTS_KEPT : EVENTS_KEPT;
      if (s.events.length > keep) s.events.splice(0, s.events.length - keep);
      Object.assign(s, {
        state: update.state,
        weight: update.weight,
        converged: update.converged,
        updatedUnixMs: now,
      });
      if (update.reason) s.reason = update.reason;
      if (shadowPersona) s.shadowPersona = shadowPersona;
      if (blendedPersona) s.blendedPersona = blendedPersona;
      if (FINAL.has(update.state)) dropOldFinal(d.sessions, this.dropped);
    });
    this.events.emit(id, event);
    if (event) for (const o of this.observers) o(event);
    for (const old of this.dropped.splice(0)) await this.forget?.(old);
  }

  /** Called for a session dropped from the state (the runner removes its persisted progress). */
  forget: ((id: string) => Promise<void>) | undefined;

  /** Open watchers (WatchSession calls following a session). */
  watcherCount(): number {
    return this.events.eventNames().reduce((n, name) => n + this.events.listenerCount(name), 0);
  }

  /** Session records kept and events kept over all of them. */
  kept(): { sessions: number; events: number } {
    const all = Object.values(this.store.get().sessions);
    return { sessions: all.length, events: all.reduce((n, s) => n + s.events.length, 0) };
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

  /** Calls `onEvent` for every new event of every session until the returned function is called. */
  observe(onEvent: (e: SessionEventRecord) => void): () => void {
    this.observers.add(onEvent);
    return () => void this.observers.delete(onEvent);
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

/** The session recorded under `id`: ids are the client's, so "toString" or "constructor" must not find
 *  what every object inherits. */
function ownSession(sessions: Record<string, SessionRecord>, id: string): SessionRecord | undefined {
  return Object.hasOwn(sessions, id) ? sessions[id] : undefined;
}

/** Keeps the history of old final sessions short, and drops the oldest final sessions that nothing can undo
 *  beyond FINAL_UNDONE_KEPT; their ids go to `dropped`. */
function dropOldFinal(sessions: Record<string, SessionRecord>, dropped: string[]): void {
  const final = Object.values(sessions)
    .filter((s) => FINAL.has(s.state))
    .sort((a, b) => a.updatedUnixMs - b.updatedUnixMs);
  for (const s of final.slice(0, Math.max(0, final.length - FINAL_DETAILED))) {
    if (s.events.length > OLD_EVENTS_KEPT) s.events.splice(0, s.events.length - OLD_EVENTS_KEPT);
  }
  const undone = Object.values(sessions)
    .filter((s) => FINAL.has(s.state) && s.state !== "SESSION_STATE_CONVERGED")
    .sort((a, b) => a.updatedUnixMs - b.updatedUnixMs);
  for (const s of undone.slice(0, Math.max(0, undone.length - FINAL_UNDONE_KEPT))) {
    delete sessions[s.id];
    dropped.push(s.id);
  }
}

function finalUpdate(s: SessionRecord, kind: string, state: SessionStateName): SessionUpdate {
  return { kind, rule: "", changes: [], reason: "", weight: s.weight, converged: false, state };
}
