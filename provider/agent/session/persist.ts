// The runner's durable progress of one session: the host snapshot taken when the session started (what a
// rollback restores) and the engine state after the latest decision. One JSON file per session under
// <stateDir>/sessions/, replaced atomically after every decision, so a killed agent resumes where it was.
import { join } from "node:path";

import type { EngineState } from "../../engine";
import type { HostSnapshot } from "../host/api";
import { writeFileAtomic } from "../host/atomic";
import { SESSION_ID_RE } from "./store";
import { readTextIfExists } from "../../util/files";

export const RUNNER_STATE_VERSION = 1;

export interface RunnerState {
  version: typeof RUNNER_STATE_VERSION;
  sessionId: string;
  /** The host when the session started, before anything of the session was applied. */
  snapshot: HostSnapshot;
  engine: EngineState;
  savedUnixMs: number;
}

export function runnerStatePath(stateDir: string, sessionId: string): string {
  if (!SESSION_ID_RE.test(sessionId))
    throw new Error(`session id '${sessionId}' is not 1-64 of A-Za-z0-9_.-`);
  return join(stateDir, "sessions", `${sessionId}.json`);
}

/** The persisted progress of the session, or undefined when it never started here. A corrupt file is an
 *  error (resuming from nothing would take the snapshot of an already changed host). */
export async function loadRunnerState(stateDir: string, sessionId: string): Promise<RunnerState | undefined> {
  const path = runnerStatePath(stateDir, sessionId);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let parsed: RunnerState;
  try {
    parsed = JSON.parse(text) as RunnerState;
  } catch (err) {
    throw new Error(`session state ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (parsed?.version !== RUNNER_STATE_VERSION || parsed.sessionId !== sessionId || !parsed.engine) {
    throw new Error(`session state ${path} is not a version ${RUNNER_STATE_VERSION} state of '${sessionId}'`);
  }
  return parsed;
}

export async function saveRunnerState(
  stateDir: string,
  st: Omit<RunnerState, "version" | "savedUnixMs">,
): Promise<void> {
  const full: RunnerState = { version: RUNNER_STATE_VERSION, ...st, savedUnixMs: Date.now() };
  await writeFileAtomic(runnerStatePath(stateDir, st.sessionId), `${JSON.stringify(full)}\n`, 0o600);
}
