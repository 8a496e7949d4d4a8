// The agent's durable state: one JSON file in the state directory, replaced atomically on every change
// (temporary file, fsync, rename, fsync of the directory), so a crash or `kill -9` loses nothing that a
// client was told had happened. Loaded again when the agent starts. It holds what is committed; the applies in
// flight are in the safe-apply journal next to it (see personas-journal.ts for how the two stay one record).
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import type { Persona } from "../persona/schema";
import type { HostSnapshot } from "./host/api";
import { writeFileAtomic } from "./host/atomic";
import type { FeedbackGrantRecord, SessionRecord } from "./session/records";

export const STATE_FILE = "state.json";
export const STATE_VERSION = 1;

/** How the last finished apply ended (folded in from the safe-apply journal; see personas-journal.ts). */
export interface LastApply {
  id: string;
  outcome: "confirmed" | "rolled-back";
  /** Who settled it: the agent, the watchdog (deadline passed), or recovery at agent start. */
  by: string;
  reason: string;
  atUnixMs: number;
}

export interface AgentState {
  version: typeof STATE_VERSION;
  /** The host before any persona was applied; RestoreSnapshot puts it back. */
  preSnapshot?: HostSnapshot;
  /** The persona the agent last confirmed (committed). Files written before the rename call it `current`;
   *  open() reads them under the new name. */
  committed?: Persona;
  lastApply?: LastApply;
  /** Only in files written before applies went through safe apply: an apply awaiting confirmation with the
   *  snapshot taken before it. The agent rolls it back when it starts and removes the field. Applies in flight
   *  now live in the safe-apply journal (`applies/`), never here. */
  pending?: { id: string; snapshot: HostSnapshot };
  sessions: Record<string, SessionRecord>;
  /** Feedback grants by session id (see feedback-grants.ts): certificate fingerprints and expiry times only. */
  feedbackGrants?: Record<string, FeedbackGrantRecord>;
}

function emptyState(): AgentState {
  return { version: STATE_VERSION, sessions: {} };
}

/** Holds the state in memory and on disk; changes are serialised and written before they are visible. */
export class StateStore {
  private state: AgentState;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watchers = new Set<(state: Readonly<AgentState>) => void>();

  private constructor(
    readonly dir: string,
    initial: AgentState,
  ) {
    this.state = initial;
  }

  /** Opens (creating the directory, mode 0700) and loads the state; a corrupt file is an error, not a reset. */
  static async open(dir: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, STATE_FILE);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new StateStore(dir, emptyState());
      throw err;
    }
    let parsed: AgentState;
    try {
      parsed = JSON.parse(text) as AgentState;
    } catch (err) {
      throw new Error(
        `state file ${path} is not valid JSON (${(err as Error).message}): move it aside to start empty`,
        { cause: err },
      );
    }
    if (parsed?.version !== STATE_VERSION) {
      throw new Error(
        `state file ${path} has version ${String(parsed?.version)}, this agent reads ${STATE_VERSION}`,
      );
    }
    const { current: older, ...rest } = parsed as AgentState & { current?: Persona };
    const committed = rest.committed ?? older;
    return new StateStore(dir, { ...rest, ...(committed && { committed }), sessions: rest.sessions ?? {} });
  }

  /** The state as last written. Treat it as read-only; change it with `update`. */
  get(): Readonly<AgentState> {
    return this.state;
  }

  /** Calls `onChange` with the state after every written change until the returned function is called. */
  watch(onChange: (state: Readonly<AgentState>) => void): () => void {
    this.watchers.add(onChange);
    return () => void this.watchers.delete(onChange);
  }

  /** Applies `change` to a copy, writes the copy to disk, then makes it current. Calls run one at a time. */
  update(change: (draft: AgentState) => void): Promise<Readonly<AgentState>> {
    const next = this.queue.then(async () => {
      const draft = structuredClone(this.state);
      change(draft);
      await writeFileAtomic(join(this.dir, STATE_FILE), `${JSON.stringify(draft, null, 2)}\n`, 0o600);
      this.state = draft;
      for (const w of this.watchers) w(draft);
      return draft;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
