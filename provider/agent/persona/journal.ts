// One journal for the agent's applies. The safe-apply directory `<state-dir>/applies/` is the only record of
// an apply in flight: its snapshot, deadline, persona (the record's `meta`) and, once settled by whoever
// claimed it first (the agent, the watchdog at the deadline, recovery at start), its result. state.json holds
// only what is committed: the pre-persona snapshot, the current persona and how the last apply ended. Each
// result is folded into state.json (one atomic write) and then removed from the journal; folding again after a
// crash between the two steps writes the same state, so nothing is lost or applied twice.
import { rm } from "node:fs/promises";

import type { Persona } from "../../persona/schema";
import {
  idsWith,
  paths,
  readJson,
  readResult,
  type PendingRecord,
  type ResultRecord,
} from "../safe-apply/journal";
import type { StateStore } from "../state";

/** What the daemon keeps in a pending record: a persona apply (`atOnce`: confirm_timeout_seconds 0, confirmed by
 *  the agent itself as soon as the probes pass), or the restore of the pre-persona snapshot. */
export type ApplyMeta = { kind: "persona"; persona: Persona; atOnce: boolean } | { kind: "restore" };

export interface PendingView {
  id: string;
  meta: ApplyMeta;
  deadlineUnixMs: number;
}

const metaOf = (v: unknown): ApplyMeta | undefined => {
  const m = v as ApplyMeta | undefined;
  return m?.kind === "persona" || m?.kind === "restore" ? m : undefined;
};

/** "rolled back: why (by the watchdog)" / "confirmed". */
export function describeResult(r: ResultRecord): string {
  const by = r.by === "agent" ? "" : ` (by the ${r.by})`;
  return r.outcome === "confirmed" ? `confirmed${by}` : `rolled back: ${r.reason}${by}`;
}

export class ApplyJournal {
  constructor(
    readonly dir: string,
    private readonly store: StateStore,
    private readonly log: (line: string) => void,
  ) {}

  /** Folds every result in the journal into state.json (oldest first) and removes it; returns them. */
  async fold(): Promise<ResultRecord[]> {
    const results: ResultRecord[] = [];
    for (const id of await idsWith(this.dir, "result")) {
      const r = await readResult(this.dir, id);
      if (r) results.push(r);
    }
    results.sort((a, b) => a.atUnixMs - b.atUnixMs || a.applyId.localeCompare(b.applyId));
    for (const r of results) {
      const meta = metaOf(r.meta);
      await this.store.update((d) => {
        d.lastApply = { id: r.applyId, outcome: r.outcome, by: r.by, reason: r.reason, atUnixMs: r.atUnixMs };
        if (r.outcome !== "confirmed") return;
        if (meta?.kind === "persona") d.committed = meta.persona;
        if (meta?.kind === "restore") {
          delete d.preSnapshot;
          delete d.committed;
        }
      });
      await rm(paths(this.dir, r.applyId).result, { force: true });
      const what = meta?.kind === "restore" ? "restore of the pre-persona snapshot" : "apply";
      this.log(`${what} ${r.applyId} ${describeResult(r)}`);
    }
    return results;
  }

  /** The applies in flight (at most one: safe apply refuses a second). */
  async pending(): Promise<PendingView[]> {
    const out: PendingView[] = [];
    for (const id of await idsWith(this.dir, "pending")) {
      const rec = await readJson<PendingRecord>(paths(this.dir, id).pending);
      const meta = metaOf(rec?.meta);
      if (rec && meta) out.push({ id, meta, deadlineUnixMs: rec.deadlineUnixMs });
    }
    return out;
  }
}
