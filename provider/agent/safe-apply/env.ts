// What safe apply needs from outside its journal, injectable (unit tests with a fake host, the agent bundle that
// starts its watchdog by re-running itself): how to put a snapshot back, how to start the watchdog of an apply,
// how to run the probes.
import type { HostSnapshot } from "../host/api";
import { runProbes, type ProbeResult, type ProbeTarget } from "./probes";
import { restoreHostSnapshot, startWatchdog } from "./watchdog";

export interface SafeApplyEnv {
  /** Puts the host back as in `snap` (default: the host controller's restore). */
  restore(snap: HostSnapshot): Promise<void>;
  /** Starts the detached rollback watchdog of an apply and returns its pid (0: none was started). */
  startWatchdog(dir: string, applyId: string): number;
  /** Runs probes, in `netns` when set, else in this process's namespace. */
  runProbes(targets: ProbeTarget[], timeoutMs: number, netns?: string): Promise<ProbeResult[]>;
}

export const defaultEnv: SafeApplyEnv = {
  restore: restoreHostSnapshot,
  startWatchdog: (dir, id) => startWatchdog(dir, id),
  runProbes,
};

export function envWith(over: Partial<SafeApplyEnv> = {}): SafeApplyEnv {
  return { ...defaultEnv, ...over };
}
