// The rollback timer that survives the agent: a detached process (its own session, started before the change)
// that restores the snapshot of one apply unless the apply is confirmed or rolled back before its deadline.
//   node watchdog-main.js STATE_DIR APPLY_ID
//   node netpersona-agent.js --safe-apply-watchdog STATE_DIR APPLY_ID   (the agent bundle re-runs itself)
// It also exits as soon as it sees that the pending file is gone (confirmed or rolled back by the agent).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import type { HostSnapshot } from "../host/api";
import { asSnapshot, restoreSnapshot } from "../host/snapshot";
import {
  checkApplyId,
  claim,
  paths,
  readJson,
  tidy,
  writeJson,
  writeResult,
  type PendingRecord,
  type ResultRecord,
} from "./journal";

const POLL_MS = 250;

/** The argument that makes a program (the agent bundle) run as a watchdog: `PROGRAM --safe-apply-watchdog DIR ID`. */
export const WATCHDOG_FLAG = "--safe-apply-watchdog";

/** Puts the host back as in a snapshot taken by the host controller. */
export const restoreHostSnapshot = (snap: HostSnapshot): Promise<void> => restoreSnapshot(asSnapshot(snap));

/** Restores the snapshot of a claimed apply and records the result. Shared with the agent's own rollback, which
 *  passes its host controller's `restore`. */
export async function restoreClaimed(
  dir: string,
  id: string,
  by: ResultRecord["by"],
  reason: string,
  restore: (snap: HostSnapshot) => Promise<void> = restoreHostSnapshot,
): Promise<void> {
  const p = paths(dir, id);
  await restore(JSON.parse(await readFile(p.snapshot, "utf8")) as HostSnapshot);
  await writeResult(dir, id, p.rollback, { outcome: "rolled-back", by, reason });
  await tidy(dir, id);
}

/** Starts the watchdog of `id` detached from this process: it outlives a crash or kill -9 of the agent.
 *  `entry`: the script node runs (and its leading arguments); default this directory's watchdog-main.js. */
export function startWatchdog(
  dir: string,
  id: string,
  entry: string[] = [join(__dirname, "watchdog-main.js")],
): number {
  const child = spawn(process.execPath, [...entry, dir, checkApplyId(id)], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  if (child.pid === undefined) throw new Error("safe apply: could not start the rollback watchdog");
  return child.pid;
}

/** True when `pid` is the watchdog of `id` (so a recycled pid is never signalled). */
export async function isWatchdogOf(pid: number, id: string): Promise<boolean> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return argv.some((a) => a.endsWith("watchdog-main.js") || a === WATCHDOG_FLAG) && argv.includes(id);
  } catch {
    return false;
  }
}

async function watch(dir: string, id: string): Promise<void> {
  const p = paths(dir, id);
  for (;;) {
    const rec = await readJson<PendingRecord>(p.pending);
    if (!rec) return; // confirmed, or rolled back by the agent
    if (Date.now() >= rec.deadlineUnixMs) {
      if (await claim(p.pending, p.rollback)) {
        await restoreClaimed(dir, id, "watchdog", "no confirm before the deadline");
      }
      return;
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, rec.deadlineUnixMs - Date.now()))));
  }
}

/** The watchdog process: watches `id` until it is settled, then exits (1 when the restore failed, with the
 *  reason in `error-<id>.json`). */
export function runWatchdog(dir: string, id: string): void {
  // Ignore the signals a terminal or a dying parent would send; confirm stops it with SIGTERM after claiming.
  process.on("SIGHUP", () => undefined);
  process.on("SIGINT", () => undefined);
  watch(dir, checkApplyId(id)).then(
    () => process.exit(0),
    async (err: unknown) => {
      const reason = `watchdog failed: ${err instanceof Error ? err.message : String(err)}`;
      await writeJson(paths(dir, id).error, { applyId: id, reason, atUnixMs: Date.now() }).catch(
        () => undefined,
      );
      process.exit(1);
    },
  );
}
