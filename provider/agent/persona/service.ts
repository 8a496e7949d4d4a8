// Persona operations of the agent: plan, apply with a confirmation deadline, confirm, roll back, restore the
// pre-persona snapshot. Every kernel change goes through safe apply (safe-apply/safe-apply.ts): probes before
// and after it (default gateway, the caller as the controller, DNS), a snapshot, and a detached watchdog that
// restores the snapshot at the confirm deadline even when the agent is dead. Applies in flight live in the
// safe-apply journal, what is committed in state.json (personas-journal.ts keeps the two one record).
import { join } from "node:path";

import type { Persona } from "../../persona/schema";
import { failedPrecondition, invalidArgument } from "../rpc/errors";
import type { ApplyOutcome, CurrentPersona, HostController, HostSnapshot, PlanStep } from "../host/api";
import { probeSpec, timingLine, type Caller, type SafeApplyConfig } from "./probes";
import { ApplyJournal, describeResult, type ApplyMeta, type PendingView } from "./journal";
import type { SafeApplyEnv } from "../safe-apply/env";
import {
  confirm,
  recoverOnStart,
  rollbackApply,
  safeApply,
  type SafeApplyResult,
} from "../safe-apply/safe-apply";
import type { StateStore } from "../state";

export const MAX_CONFIRM_TIMEOUT_SECONDS = 3600;
/** The watchdog deadline of an apply with confirm_timeout_seconds 0 and of RestoreSnapshot, which the agent
 *  confirms itself as soon as the probes pass: it only matters when the agent dies in the middle. */
export const AT_ONCE_GUARD_MS = 30_000;
/** The safe-apply journal, inside the state directory. */
export const JOURNAL_DIR = "applies";

export interface ApplyResult extends ApplyOutcome {
  applyId: string;
  /** 0 when committed at once. */
  confirmDeadlineUnixMs: number;
}

type Settled = Extract<SafeApplyResult, { outcome: "pending" | "unchanged" }>;

export class PersonaService {
  private timer: NodeJS.Timeout | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private inFlight: PendingView | undefined;
  private readonly journal: ApplyJournal;
  private readonly env: Partial<SafeApplyEnv>;

  constructor(
    private readonly host: HostController,
    private readonly store: StateStore,
    private readonly log: (line: string) => void,
    private readonly cfg: SafeApplyConfig = {},
  ) {
    this.journal = new ApplyJournal(join(store.dir, JOURNAL_DIR), store, log);
    this.env = { restore: (s: HostSnapshot) => host.restore(s), ...cfg.env };
  }

  get journalDir(): string {
    return this.journal.dir;
  }

  /** At start: finishes what a crash interrupted (recoverOnStart: overdue applies rolled back, dead watchdogs
   *  restarted), folds the results, and re-arms the timer of an apply still awaiting confirmation. */
  resume(): Promise<void> {
    return this.serial(async () => {
      const legacy = this.store.get().pending;
      if (legacy) {
        await this.host.restore(legacy.snapshot);
        await this.store.update((d) => void delete d.pending);
        this.log(`apply ${legacy.id} (recorded by an older agent) rolled back: the agent restarted`);
      }
      await recoverOnStart(this.journal.dir, this.env);
      await this.journal.fold();
      for (const p of await this.journal.pending()) {
        if (p.meta.kind === "persona" && !p.meta.atOnce) this.track(p);
        // The agent died before answering the call that started it: nobody waits to confirm it.
        else
          await rollbackApply(
            this.journal.dir,
            p.id,
            "recovery",
            "interrupted by an agent restart",
            this.env,
          );
      }
      await this.journal.fold();
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The id of the apply awaiting confirmation, if any. */
  pendingId(): string | undefined {
    return this.inFlight?.id;
  }

  async get(): Promise<{
    live: CurrentPersona;
    committed?: Persona;
    pending?: { id: string; persona: Persona; deadlineUnixMs: number };
    hasSnapshot: boolean;
  }> {
    const st = this.store.get();
    const p = this.inFlight;
    return {
      live: await this.host.readCurrent(),
      committed: st.committed,
      pending:
        p?.meta.kind === "persona"
          ? { id: p.id, persona: p.meta.persona, deadlineUnixMs: p.deadlineUnixMs }
          : undefined,
      hasSnapshot: st.preSnapshot !== undefined,
    };
  }

  plan(persona: Persona): Promise<PlanStep[]> {
    return this.host.plan(persona);
  }

  apply(persona: Persona, confirmTimeoutSeconds: number, caller: Caller = {}): Promise<ApplyResult> {
    if (!Number.isInteger(confirmTimeoutSeconds) || confirmTimeoutSeconds > MAX_CONFIRM_TIMEOUT_SECONDS) {
      throw invalidArgument([
        { property: "confirm_timeout_seconds", reason: `must be 0..${MAX_CONFIRM_TIMEOUT_SECONDS} seconds` },
      ]);
    }
    return this.serial(async () => {
      if (this.inFlight) {
        throw failedPrecondition(
          `apply ${this.inFlight.id} awaits confirmation: call ConfirmApply or RollbackApply with that id first`,
        );
      }
      const atOnce = confirmTimeoutSeconds === 0;
      const meta: ApplyMeta = { kind: "persona", persona, atOnce };
      const r = await this.safe(meta, atOnce ? AT_ONCE_GUARD_MS : confirmTimeoutSeconds * 1000, caller);
      const outcome = r.apply ?? { changed: false, steps: [], live: await this.host.readCurrent() };
      if (r.outcome === "unchanged" || atOnce) {
        if (r.outcome === "pending") await this.commit(r.applyId, "committed at once (no confirm timeout)");
        return { ...outcome, applyId: r.applyId, confirmDeadlineUnixMs: 0 };
      }
      this.track({ id: r.applyId, meta, deadlineUnixMs: r.deadlineUnixMs });
      return { ...outcome, applyId: r.applyId, confirmDeadlineUnixMs: r.deadlineUnixMs };
    });
  }

  confirm(applyId: string): Promise<Persona> {
    return this.serial(async () => {
      const last = this.store.get().lastApply;
      const committed = this.store.get().committed;
      // A repeated ConfirmApply (the answer to the first one was lost) gets the same answer.
      if (last?.id === applyId && last.outcome === "confirmed" && committed) return committed;
      const p = this.pendingWithId(applyId);
      await this.commit(applyId, "confirmed");
      return (p.meta as Extract<ApplyMeta, { kind: "persona" }>).persona;
    });
  }

  rollback(applyId: string): Promise<CurrentPersona> {
    return this.serial(async () => {
      this.pendingWithId(applyId);
      await rollbackApply(this.journal.dir, applyId, "agent", "rollback requested", this.env);
      await this.settled();
      return this.host.readCurrent();
    });
  }

  /** Puts the host back as before the first persona (through safe apply, so the probes guard it too);
   *  afterwards the agent manages nothing. An apply awaiting confirmation is rolled back first. */
  restore(caller: Caller = {}): Promise<{ restored: boolean; live: CurrentPersona }> {
    return this.serial(async () => {
      const pre = this.store.get().preSnapshot;
      if (!pre) return { restored: false, live: await this.host.readCurrent() };
      if (this.inFlight) {
        await rollbackApply(
          this.journal.dir,
          this.inFlight.id,
          "agent",
          "RestoreSnapshot requested",
          this.env,
        );
        await this.settled();
      }
      const change = async (): Promise<ApplyOutcome> => {
        await this.host.restore(pre);
        return { changed: true, steps: [], live: await this.host.readCurrent() };
      };
      const r = await this.safe({ kind: "restore" }, AT_ONCE_GUARD_MS, caller, change);
      await this.commit(r.applyId, "pre-persona snapshot restored");
      return { restored: true, live: await this.host.readCurrent() };
    });
  }

  /** Runs one safe apply; a rolled-back outcome becomes the error of the call. */
  private async safe(
    meta: ApplyMeta,
    timeoutMs: number,
    caller: Caller,
    change?: () => Promise<ApplyOutcome>,
  ): Promise<Settled> {
    const r = await safeApply({
      controller: this.host,
      ...(meta.kind === "persona" ? { persona: meta.persona } : { change }),
      stateDir: this.journal.dir,
      confirmTimeoutMs: timeoutMs,
      probes: probeSpec(this.cfg, caller),
      meta,
      env: this.env,
      beforeChange: async (snap) => {
        // The pre-persona snapshot is the host before the FIRST persona; later applies never replace it.
        if (meta.kind === "persona" && !this.store.get().preSnapshot)
          await this.store.update((d) => void (d.preSnapshot ??= snap));
      },
    });
    this.log(timingLine(meta.kind === "restore" ? "restore" : "apply", r));
    if (r.outcome !== "rolled-back") {
      if (r.outcome === "unchanged") await this.journal.fold();
      return r;
    }
    await this.journal.fold();
    if (r.cause !== undefined) throw r.cause;
    throw failedPrecondition(
      `${meta.kind === "restore" ? "restore" : "apply"} ${r.applyId} rolled back: ${r.reason}`,
    );
  }

  /** Confirms an apply in the journal and folds it; an apply that lost the race to the watchdog is an error. */
  private async commit(applyId: string, reason: string): Promise<void> {
    const res = await confirm(this.journal.dir, applyId, reason);
    await this.settled();
    if (res.outcome !== "confirmed") throw failedPrecondition(`apply ${applyId} ${describeResult(res)}`);
  }

  private pendingWithId(applyId: string): PendingView {
    const p = this.inFlight;
    if (p?.id === applyId) return p;
    const last = this.store.get().lastApply;
    if (last?.id === applyId && last.outcome === "rolled-back") {
      throw failedPrecondition(
        `apply '${applyId}' no longer awaits confirmation: it was rolled back (${last.reason}, by the ${last.by})`,
      );
    }
    if (!p) throw failedPrecondition(`no apply awaits confirmation (asked for '${applyId}')`);
    throw failedPrecondition(`apply '${applyId}' is not the one awaiting confirmation ('${p.id}')`);
  }

  /** Forgets the apply in flight and folds the journal's results into state.json. */
  private async settled(): Promise<void> {
    this.stop();
    this.inFlight = undefined;
    await this.journal.fold();
  }

  private track(p: PendingView): void {
    this.stop();
    this.inFlight = p;
    const delay = Math.max(0, p.deadlineUnixMs - Date.now());
    this.timer = setTimeout(() => {
      this.serial(async () => {
        if (this.inFlight?.id !== p.id) return;
        // Races the watchdog for the same deadline; whoever claims the apply first restores the snapshot.
        await rollbackApply(this.journal.dir, p.id, "agent", "not confirmed in time", this.env);
        await this.settled();
      }).catch((err: unknown) => this.log(`rollback of apply ${p.id} failed: ${(err as Error).message}`));
    }, delay);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
