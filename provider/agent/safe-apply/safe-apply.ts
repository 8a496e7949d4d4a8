// Safe apply, after nmstate's checkpoints: probe → snapshot → start the watchdog → apply + verify → probe again
// (only what passed before) → wait for confirm. A failed probe or apply rolls back at once; a missing confirm
// (or a dead agent) is rolled back by the detached watchdog when the deadline passes.
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";

import type { Persona } from "../../persona/schema";
import type { ApplyOutcome, HostController, HostSnapshot } from "../host/api";
import { envWith, type SafeApplyEnv } from "./env";
import {
  awaitResult,
  claim,
  idsWith,
  paths,
  readJson,
  readResult,
  tidy,
  writeJson,
  writeResult,
  type PendingRecord,
  type ResultRecord,
} from "./journal";
import { probeTargets, type ProbeResult, type ProbeSpec } from "./probes";
import { isWatchdogOf, restoreClaimed } from "./watchdog";

export interface SafeApplyOptions {
  /** The host controller; its `netns` (when it has one) is where the probes run. */
  controller: HostController & { netns?: string };
  /** What to apply; unused when `change` is given. */
  persona?: Persona;
  stateDir: string;
  /** How long the change stays without a confirm before the watchdog restores the snapshot. */
  confirmTimeoutMs: number;
  probes?: ProbeSpec;
  /** The change to make instead of `controller.apply(persona)`, e.g. a blending step (applyQos, applyEcmp). */
  change?: () => Promise<ApplyOutcome>;
  /** Kept in the pending record and copied into the result (see PendingRecord.meta). */
  meta?: unknown;
  /** Runs once the snapshot, the pending record and the watchdog are in place, just before the change; the
   *  snapshot is the host as it is now. A throw rolls back like a failed change. */
  beforeChange?: (snapshot: HostSnapshot) => Promise<void>;
  /** Injected parts (default: `controller.restore`, the watchdog-main.js process, real probes). */
  env?: Partial<SafeApplyEnv>;
}

export interface Timings {
  probeBeforeMs: number;
  snapshotMs: number;
  applyVerifyMs: number;
  probeAfterMs: number;
  totalMs: number;
}

export type SafeApplyResult = {
  applyId: string;
  apply?: ApplyOutcome;
  probesBefore: ProbeResult[];
  probesAfter: ProbeResult[];
  timings: Timings;
} & (
  | { outcome: "pending"; deadlineUnixMs: number }
  | { outcome: "unchanged" }
  | { outcome: "rolled-back"; reason: string; /** what the change threw, when it threw */ cause?: unknown }
);

async function stopWatchdog(dir: string, id: string): Promise<void> {
  const pid = Number((await readJson<number>(paths(dir, id).watchdogPid)) ?? 0);
  // Only signal a process that is really this apply's watchdog; it also exits by itself once it sees the
  // pending file gone.
  if (pid > 0 && (await isWatchdogOf(pid, id))) process.kill(pid, "SIGTERM");
}

/** Rolls back apply `id` now, unless someone settled it first; returns its result either way. */
export async function rollbackApply(
  dir: string,
  id: string,
  by: ResultRecord["by"],
  reason: string,
  env: Partial<SafeApplyEnv> = {},
): Promise<ResultRecord> {
  const p = paths(dir, id);
  if (await claim(p.pending, p.rollback)) {
    await stopWatchdog(dir, id);
    await restoreClaimed(dir, id, by, reason, envWith(env).restore);
  }
  const result = await awaitResult(dir, id);
  if (!result) throw new Error(`apply ${id}: settled by another party, but no result was recorded`);
  return result;
}

export async function safeApply(opts: SafeApplyOptions): Promise<SafeApplyResult> {
  const t0 = Date.now();
  const dir = opts.stateDir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const busy = await idsWith(dir, "pending");
  if (busy.length > 0)
    throw new Error(`safe apply: apply ${busy[0]} is pending: confirm or roll it back first`);
  // A rollback that did not finish (its restore failed) would be redone by recoverOnStart over this change.
  const undone = await idsWith(dir, "rollback");
  if (undone.length > 0)
    throw new Error(
      `safe apply: the rollback of apply ${undone[0]} has not finished: recoverOnStart retries it`,
    );
  const applyId = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const p = paths(dir, applyId);
  const timeoutMs = opts.probes?.timeoutMs ?? 2000;
  const netns = opts.controller.netns;
  const env = envWith({ restore: (s) => opts.controller.restore(s), ...opts.env });
  const runProbes = env.runProbes;
  const rollbackNow = (reason: string) => rollbackApply(dir, applyId, "agent", reason, env);

  const probesBefore = await runProbes(await probeTargets(opts.controller, opts.probes), timeoutMs, netns);
  const t1 = Date.now();
  const snap = await opts.controller.snapshot();
  await writeJson(p.snapshot, snap);
  const deadlineUnixMs = Date.now() + opts.confirmTimeoutMs;
  const pending: PendingRecord = {
    applyId,
    deadlineUnixMs,
    snapshotFile: p.snapshot,
    createdUnixMs: t0,
    ...(opts.meta !== undefined && { meta: opts.meta }),
  };
  await writeJson(p.pending, pending);
  await writeJson(p.watchdogPid, env.startWatchdog(dir, applyId));
  const t2 = Date.now();
  const timings = (t3: number, t4: number): Timings => ({
    probeBeforeMs: t1 - t0,
    snapshotMs: t2 - t1,
    applyVerifyMs: t3 - t2,
    probeAfterMs: t4 - t3,
    totalMs: t4 - t0,
  });
  const base = { applyId, probesBefore };

  let apply: ApplyOutcome;
  try {
    await opts.beforeChange?.(snap);
    if (opts.change) apply = await opts.change();
    else if (opts.persona) apply = await opts.controller.apply(opts.persona);
    else throw new Error("safe apply: give a persona or a change");
  } catch (err) {
    const reason = `apply failed: ${err instanceof Error ? err.message : String(err)}`;
    await rollbackNow(reason);
    return {
      ...base,
      probesAfter: [],
      timings: timings(Date.now(), Date.now()),
      outcome: "rolled-back",
      reason,
      cause: err,
    };
  }
  const t3 = Date.now();
  if (!apply.changed) {
    await confirm(dir, applyId, "nothing changed");
    return { ...base, apply, probesAfter: [], timings: timings(t3, t3), outcome: "unchanged" };
  }
  const passed = new Set(probesBefore.filter((r) => r.ok).map((r) => r.name));
  const after = (await probeTargets(opts.controller, opts.probes)).filter((t) => passed.has(t.name));
  const probesAfter = await runProbes(after, timeoutMs, netns);
  const failed = probesAfter.find((r) => !r.ok);
  if (failed) {
    const reason = `probe '${failed.name}' passed before the change and fails after it: ${failed.detail}`;
    await rollbackNow(reason);
    return { ...base, apply, probesAfter, timings: timings(t3, Date.now()), outcome: "rolled-back", reason };
  }
  return {
    ...base,
    apply,
    probesAfter,
    timings: timings(t3, Date.now()),
    outcome: "pending",
    deadlineUnixMs,
  };
}

/** Commits a pending apply. Returns the apply's result: `rolled-back` when the confirm came too late. */
export async function confirm(
  stateDir: string,
  applyId: string,
  reason = "confirmed",
): Promise<ResultRecord> {
  const p = paths(stateDir, applyId);
  if (await claim(p.pending, p.confirmed)) {
    await stopWatchdog(stateDir, applyId);
    await writeResult(stateDir, applyId, p.confirmed, { outcome: "confirmed", by: "agent", reason });
    await tidy(stateDir, applyId);
  }
  const result = await awaitResult(stateDir, applyId);
  if (!result) throw new Error(`apply ${applyId}: unknown in ${stateDir}`);
  return result;
}

/** Rolls back every pending apply now. */
export async function rollback(
  stateDir: string,
  reason = "rollback requested",
  env: Partial<SafeApplyEnv> = {},
): Promise<ResultRecord[]> {
  const out: ResultRecord[] = [];
  for (const id of await idsWith(stateDir, "pending"))
    out.push(await rollbackApply(stateDir, id, "agent", reason, env));
  return out;
}

/** For an agent starting after a crash: finishes interrupted rollbacks and confirms, rolls back pending applies
 *  whose deadline passed, and restarts the watchdog of the others if it died. Returns the pending ids. */
export async function recoverOnStart(
  stateDir: string,
  over: Partial<SafeApplyEnv> = {},
): Promise<{ pending: string[]; finished: ResultRecord[] }> {
  const env = envWith(over);
  const finished: ResultRecord[] = [];
  for (const id of await idsWith(stateDir, "rollback")) {
    if (!(await readResult(stateDir, id)))
      await restoreClaimed(stateDir, id, "recovery", "interrupted rollback", env.restore);
    await tidy(stateDir, id);
    finished.push((await readResult(stateDir, id)) as ResultRecord);
  }
  for (const id of await idsWith(stateDir, "confirmed")) {
    if (!(await readResult(stateDir, id))) {
      await writeResult(stateDir, id, paths(stateDir, id).confirmed, {
        outcome: "confirmed",
        by: "recovery",
        reason: "confirmed before a crash",
      });
    }
    await tidy(stateDir, id);
    finished.push((await readResult(stateDir, id)) as ResultRecord);
  }
  const pending: string[] = [];
  for (const id of await idsWith(stateDir, "pending")) {
    const rec = await readJson<PendingRecord>(paths(stateDir, id).pending);
    if (!rec) continue;
    if (Date.now() >= rec.deadlineUnixMs) {
      finished.push(
        await rollbackApply(
          stateDir,
          id,
          "recovery",
          "no confirm before the deadline (agent restarted)",
          env,
        ),
      );
      continue;
    }
    const pid = Number((await readJson<number>(paths(stateDir, id).watchdogPid)) ?? 0);
    if (!(pid > 0 && (await isWatchdogOf(pid, id)))) {
      await writeJson(paths(stateDir, id).watchdogPid, env.startWatchdog(stateDir, id));
    }
    pending.push(id);
  }
  return { pending, finished };
}
