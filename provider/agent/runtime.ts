// The agent's own resources, reported by GetInfo (AgentRuntime): memory, open descriptors, the size of the
// state directory, and the 'abort' listeners on the signals it keeps open. A long-lived signal that collects a
// listener per probe or per event is a leak (and Node's MaxListenersExceededWarning at 11); counting them here
// lets the soak benchmark and the tests see it from outside.
import { getEventListeners } from "node:events";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

const open = new Set<AbortSignal>();

/** Counts `signal` among the open ones until the returned function is called. */
export function trackSignal(signal: AbortSignal): () => void {
  open.add(signal);
  return () => void open.delete(signal);
}

/** Open tracked signals and the 'abort' listeners on them now. */
export function abortListeners(): { signals: number; listeners: number } {
  let listeners = 0;
  for (const s of open) listeners += getEventListeners(s, "abort").length;
  return { signals: open.size, listeners };
}

/** Bytes under `dir` (files' sizes, links not followed); 0 when it cannot be read. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else
      total += await lstat(p).then(
        (st) => st.size,
        () => 0,
      );
  }
  return total;
}

export async function openFds(): Promise<number> {
  return (await readdir("/proc/self/fd").catch(() => [])).length;
}
