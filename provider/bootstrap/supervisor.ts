// The agent's supervisor for hosts without systemd (bundled as dist/agent/netpersona-supervisor.js):
//   node netpersona-supervisor.js --pid-file F --log-file L [--log-max-bytes N] -- NODE AGENT.js ARGS...
// Detaches from the SSH session that started it, restarts the agent when it dies (backoff 1 s doubling to
// 30 s, reset after a minute of uptime), appends the agent's output to the log file, and on SIGTERM stops
// the agent and exits. A second start while a supervisor of the same pid file lives is a no-op.
// The log is bounded: every few seconds, once it passes --log-max-bytes (default 10 MiB), it is copied to
// L.1 (replacing the previous one) and truncated; the agent keeps its append-only descriptor, so nothing
// is reopened and an agent outliving a killed supervisor still logs. At most about twice the limit on disk.
import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";

export const LOG_MAX_BYTES = 10 * 1024 * 1024;

interface Args {
  pidFile: string;
  logFile: string;
  logMaxBytes: number;
  logCheckMs: number;
  command: string[];
  foreground: boolean;
}

function parse(argv: string[]): Args {
  const sep = argv.indexOf("--");
  const flags = argv.slice(0, sep < 0 ? argv.length : sep);
  const command = sep < 0 ? [] : argv.slice(sep + 1);
  const value = (name: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : undefined;
  };
  const pidFile = value("--pid-file");
  const logFile = value("--log-file");
  if (!pidFile || !logFile || command.length === 0) {
    throw new Error(
      "usage: netpersona-supervisor --pid-file FILE --log-file FILE [--foreground] -- COMMAND ARGS...",
    );
  }
  const num = (name: string, dflt: number, min: number) => {
    const v = value(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  return {
    pidFile,
    logFile,
    logMaxBytes: num("--log-max-bytes", LOG_MAX_BYTES, 4096),
    logCheckMs: num("--log-check-ms", 5000, 100),
    command,
    foreground: flags.includes("--foreground"),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function runningSupervisor(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/** Copies the log to `<log>.1` and truncates it when it passed the limit ("copytruncate": the agent's
 *  O_APPEND descriptor then writes at the new end). The copy goes to a temporary name first and is renamed
 *  over `<log>.1`, so a reader (a log shipper, an operator's `tail`) never sees a half-copied previous log.
 *  Returns whether it rotated. */
export function rotateLog(logFile: string, maxBytes: number): boolean {
  let size: number;
  try {
    size = statSync(logFile).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  copyFileSync(logFile, `${logFile}.1.tmp`);
  renameSync(`${logFile}.1.tmp`, `${logFile}.1`);
  truncateSync(logFile, 0);
  writeFileSync(
    logFile,
    `supervisor: log rotated at ${size} bytes (limit ${maxBytes}); previous in ${logFile}.1\n`,
    {
      flag: "a",
    },
  );
  return true;
}

function supervise(a: Args): void {
  const tmp = `${a.pidFile}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`);
  renameSync(tmp, a.pidFile);
  let child: ChildProcess | undefined;
  let stopping = false;
  let backoff = 1000;
  const startChild = () => {
    const log = openSync(a.logFile, "a");
    const started = Date.now();
    child = spawn(a.command[0], a.command.slice(1), { stdio: ["ignore", log, log] });
    closeSync(log);
    child.on("exit", (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (Date.now() - started > 60_000) backoff = 1000;
      writeFileSync(
        a.logFile,
        `supervisor: agent exited (${signal ?? `code ${code}`}); restarting in ${backoff} ms\n`,
        { flag: "a" },
      );
      setTimeout(startChild, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    });
  };
  const stop = () => {
    stopping = true;
    const done = () => {
      try {
        unlinkSync(a.pidFile);
      } catch {
        /* already gone */
      }
      process.exit(0);
    };
    if (!child) return done();
    child.once("exit", done);
    child.kill("SIGTERM");
    setTimeout(() => child?.kill("SIGKILL"), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setInterval(() => {
    try {
      rotateLog(a.logFile, a.logMaxBytes);
    } catch {
      /* a full disk: try again next time */
    }
  }, a.logCheckMs);
  startChild();
}

function main(argv: string[]): void {
  const a = parse(argv);
  const running = runningSupervisor(a.pidFile);
  if (running) {
    process.stdout.write(`already running (pid ${running})\n`);
    return;
  }
  if (a.foreground) return supervise(a);
  // Detach: a new session, no terminal, no inherited stdio, so the SSH session can end.
  const child = spawn(process.execPath, [__filename, "--foreground", ...argv], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  process.stdout.write(`started (pid ${child.pid})\n`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`netpersona-supervisor: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
