// Runs programs as argument vectors (execFile), never as shell strings built from values.
import { execFile, spawn, type SpawnOptions } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec NS ...`). */
  netns?: string;
  /** Reject when the exit status is not 0 (default true). */
  check?: boolean;
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A command that failed, with the command line and its combined output for the error message. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const out = (stderr.trim() || stdout.trim()).split("\n").slice(-8).join("\n");
    super(`command failed (exit ${code}): ${formatArgv(argv)}${out ? `\n${out}` : ""}`);
    this.name = "CommandError";
  }
}

/** Quotes an argument vector for display only; it is never handed to a shell. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

export function withNetns(argv: readonly string[], netns?: string): string[] {
  return netns ? ["ip", "netns", "exec", netns, ...argv] : [...argv];
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = withNetns(argv, opts.netns);
  return new Promise((resolve, reject) => {
    const child = execFile(
      full[0],
      full.slice(1),
      {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 60_000,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
        if (err && typeof err.code !== "number" && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new CommandError(full, 127, "", `${full[0]}: not found`));
          return;
        }
        if (code !== 0 && opts.check !== false) {
          reject(new CommandError(full, code, stdout, stderr));
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Starts a long-running program (argument vector) and returns the child process. */
export function start(argv: readonly string[], opts: SpawnOptions & { netns?: string } = {}) {
  const full = withNetns(argv, opts.netns);
  return spawn(full[0], full.slice(1), { stdio: "ignore", ...opts });
}

/** The path of `name` when it is an executable on PATH. */
export async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
