// Where the metrics commands (ss, ping, ip) run: in the process's own network namespace (as the agent,
// started inside a host's namespace, does) or, for callers in the root namespace, inside a named one.
import { run, type RunResult } from "../../util/exec";

/** Namespace names as `ip netns` accepts them; anything else is refused before a command runs. */
export const NETNS_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export function checkNetns(field: string, value: string): string {
  if (!NETNS_RE.test(value)) {
    throw new Error(
      `${field}: '${value}' is not a valid namespace name: use 1-64 characters of letters, digits, '_', '.', '-', not starting with '.' or '-'`,
    );
  }
  return value;
}

/** Runs an argument vector here, or inside `netns` when given (validated first). */
export function runHere(argv: readonly string[], netns?: string, check = true): Promise<RunResult> {
  if (netns !== undefined) checkNetns("netns", netns);
  return run(argv, { netns, check, timeoutMs: 15_000 });
}
