// The safe-apply journal in the state directory. Every file is written atomically. Whoever renames
// `pending-<id>.json` first owns the outcome: confirm renames it to `confirmed-<id>.json`, a rollback (by the
// agent or by the watchdog) to `rollback-<id>.json`; the loser of the race sees ENOENT and backs off.
import { access, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

import { writeFileAtomic } from "../host/atomic";
import { readTextIfExists } from "../../util/files";

export interface PendingRecord {
  applyId: string;
  /** Wall-clock deadline (ms since the epoch) after which the watchdog restores the snapshot. */
  deadlineUnixMs: number;
  snapshotFile: string;
  createdUnixMs: number;
  /** The caller's own data about the apply, opaque here (the daemon keeps the persona in it); copied into the
   *  result, so whoever reads the outcome after a crash still knows what was applied. */
  meta?: unknown;
}

export interface ResultRecord {
  applyId: string;
  outcome: "confirmed" | "rolled-back";
  by: "agent" | "watchdog" | "recovery";
  reason: string;
  atUnixMs: number;
  /** `meta` of the pending record. */
  meta?: unknown;
}

export const APPLY_ID_RE = /^[a-z0-9-]{8,64}$/;

export function checkApplyId(id: string): string {
  if (!APPLY_ID_RE.test(id)) throw new Error(`'${id}' is not an apply id`);
  return id;
}

export const paths = (dir: string, id: string) => ({
  pending: join(dir, `pending-${checkApplyId(id)}.json`),
  confirmed: join(dir, `confirmed-${id}.json`),
  rollback: join(dir, `rollback-${id}.json`),
  result: join(dir, `result-${id}.json`),
  snapshot: join(dir, `snapshot-${id}.json`),
  watchdogPid: join(dir, `watchdog-${id}.pid`),
  error: join(dir, `error-${id}.json`),
});

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** Renames `from` to `to`; false when `from` is gone (someone else claimed it). */
export async function claim(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Apply ids with a file of this kind (`pending`, `rollback`, ...) in the directory. */
export async function idsWith(dir: string, kind: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const re = new RegExp(`^${kind}-([a-z0-9-]{8,64})\\.json$`);
  return names.flatMap((n) => re.exec(n)?.[1] ?? []).sort();
}

export async function readResult(dir: string, id: string): Promise<ResultRecord | undefined> {
  return readJson<ResultRecord>(paths(dir, id).result);
}

/** The result of `id`; while the party that claimed it is still restoring (its `rollback-`/`confirmed-` file
 *  is there, no result yet), waits for it up to `limitMs`. Undefined for an id the journal does not know. */
export async function awaitResult(
  dir: string,
  id: string,
  limitMs = 30_000,
): Promise<ResultRecord | undefined> {
  const p = paths(dir, id);
  const exists = (f: string) =>
    access(f).then(
      () => true,
      () => false,
    );
  for (const end = Date.now() + limitMs; ; await new Promise((r) => setTimeout(r, 100))) {
    const result = await readResult(dir, id);
    if (result) return result;
    const claimed = (await exists(p.rollback)) || (await exists(p.confirmed));
    if (!claimed || Date.now() >= end) return readResult(dir, id);
  }
}

/** Writes the result of a claimed apply; `claimedFile` is the renamed pending record (its `meta` is kept). */
export async function writeResult(
  dir: string,
  id: string,
  claimedFile: string,
  r: Omit<ResultRecord, "applyId" | "atUnixMs" | "meta">,
): Promise<void> {
  const rec = await readJson<PendingRecord>(claimedFile);
  const result: ResultRecord = {
    applyId: id,
    ...r,
    atUnixMs: Date.now(),
    ...(rec?.meta !== undefined && { meta: rec.meta }),
  };
  await writeJson(paths(dir, id).result, result);
}

/** Removes the files of a finished apply except its result. */
export async function tidy(dir: string, id: string): Promise<void> {
  const p = paths(dir, id);
  for (const f of [p.confirmed, p.rollback, p.snapshot, p.watchdogPid]) await rm(f, { force: true });
}
