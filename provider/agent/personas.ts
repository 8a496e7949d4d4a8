// Persona operations of the agent: plan, apply with a confirmation deadline, confirm, roll back, restore the
// pre-persona snapshot. Kernel work goes through the HostController; every decision is written to the state
// directory before it takes effect, so a restarted agent knows the snapshot, the current persona and any
// apply still awaiting confirmation (it rolls that back when its deadline has passed).
import { randomUUID } from "node:crypto";

import type { Persona } from "../persona/schema";
import { failedPrecondition, invalidArgument } from "./errors";
import type { ApplyOutcome, HostController, LivePersona, PlanStep } from "./host/api";
import type { PendingApply, StateStore } from "./state";

export const MAX_CONFIRM_TIMEOUT_SECONDS = 3600;

export interface ApplyResult extends ApplyOutcome {
  applyId: string;
  /** 0 when committed at once. */
  confirmDeadlineUnixMs: number;
}

export class PersonaService {
  private timer: NodeJS.Timeout | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: HostController,
    private readonly store: StateStore,
    private readonly log: (line: string) => void,
  ) {}

  /** Re-arms the confirmation timer of a pending apply found in the state (rolls back at once if overdue). */
  async resume(): Promise<void> {
    const pending = this.store.get().pending;
    if (pending) this.arm(pending);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async get(): Promise<{
    live: LivePersona;
    current?: Persona;
    pending?: PendingApply;
    hasSnapshot: boolean;
  }> {
    const st = this.store.get();
    return {
      live: await this.host.readLive(),
      current: st.current,
      pending: st.pending,
      hasSnapshot: st.preSnapshot !== undefined,
    };
  }

  plan(persona: Persona): Promise<PlanStep[]> {
    return this.host.plan(persona);
  }

  apply(persona: Persona, confirmTimeoutSeconds: number): Promise<ApplyResult> {
    if (!Number.isInteger(confirmTimeoutSeconds) || confirmTimeoutSeconds > MAX_CONFIRM_TIMEOUT_SECONDS) {
      throw invalidArgument([
        { property: "confirm_timeout_seconds", reason: `must be 0..${MAX_CONFIRM_TIMEOUT_SECONDS} seconds` },
      ]);
    }
    return this.serial(async () => {
      const before = this.store.get();
      if (before.pending) {
        throw failedPrecondition(
          `apply ${before.pending.id} awaits confirmation: call ConfirmApply or RollbackApply with that id first`,
        );
      }
      const snapshot = await this.host.snapshot();
      const applyId = randomUUID();
      const deadline = confirmTimeoutSeconds > 0 ? Date.now() + confirmTimeoutSeconds * 1000 : 0;
      const pending: PendingApply = {
        id: applyId,
        persona,
        snapshot,
        ...(before.current && { previousPersona: before.current }),
        deadlineUnixMs: deadline,
      };
      // Persisted before the kernel changes: a crash during the apply leaves enough to undo it.
      await this.store.update((d) => {
        d.preSnapshot ??= snapshot;
        d.pending = pending;
      });
      let outcome: ApplyOutcome;
      try {
        outcome = await this.host.apply(persona);
      } catch (err) {
        await this.undo(pending, "apply failed").catch((undoErr: unknown) => {
          this.log(`apply ${applyId}: undo after failure failed too: ${(undoErr as Error).message}`);
        });
        throw err;
      }
      if (deadline === 0) {
        await this.store.update((d) => {
          d.current = persona;
          delete d.pending;
        });
      } else {
        this.arm(pending);
      }
      return { ...outcome, applyId, confirmDeadlineUnixMs: deadline };
    });
  }

  confirm(applyId: string): Promise<Persona> {
    return this.serial(async () => {
      const pending = this.pendingWithId(applyId);
      this.stop();
      await this.store.update((d) => {
        d.current = pending.persona;
        delete d.pending;
      });
      this.log(`apply ${applyId} confirmed`);
      return pending.persona;
    });
  }

  rollback(applyId: string): Promise<LivePersona> {
    return this.serial(async () => {
      await this.undo(this.pendingWithId(applyId), "rollback requested");
      return this.host.readLive();
    });
  }

  /** Puts the host back as before the first persona; afterwards the agent manages nothing. */
  restore(): Promise<{ restored: boolean; live: LivePersona }> {
    return this.serial(async () => {
      const st = this.store.get();
      if (!st.preSnapshot) return { restored: false, live: await this.host.readLive() };
      this.stop();
      await this.host.restore(st.preSnapshot);
      await this.store.update((d) => {
        delete d.preSnapshot;
        delete d.current;
        delete d.pending;
      });
      this.log("pre-persona snapshot restored");
      return { restored: true, live: await this.host.readLive() };
    });
  }

  private pendingWithId(applyId: string): PendingApply {
    const pending = this.store.get().pending;
    if (!pending) throw failedPrecondition(`no apply awaits confirmation (asked for '${applyId}')`);
    if (pending.id !== applyId) {
      throw failedPrecondition(`apply '${applyId}' is not the one awaiting confirmation ('${pending.id}')`);
    }
    return pending;
  }

  private async undo(pending: PendingApply, why: string): Promise<void> {
    this.stop();
    await this.host.restore(pending.snapshot);
    await this.store.update((d) => {
      if (pending.previousPersona) d.current = pending.previousPersona;
      else delete d.current;
      delete d.pending;
    });
    this.log(`apply ${pending.id} rolled back: ${why}`);
  }

  private arm(pending: PendingApply): void {
    this.stop();
    const delay = Math.max(0, pending.deadlineUnixMs - Date.now());
    this.timer = setTimeout(() => {
      this.serial(async () => {
        if (this.store.get().pending?.id === pending.id) await this.undo(pending, "not confirmed in time");
      }).catch((err: unknown) =>
        this.log(`rollback of apply ${pending.id} failed: ${(err as Error).message}`),
      );
    }, delay);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
