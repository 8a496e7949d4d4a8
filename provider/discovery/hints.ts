// Weak priors from the owning process and the service port. They add to the feature scores and never
// decide alone: scp runs as `ssh` on port 22 and is still classified as a bulk transfer by its features.
import type { AppClass, FlowFeatures } from "./types";

const PROCESS_HINTS: Record<string, AppClass> = {
  ssh: "interactive",
  sshd: "interactive",
  "sshd-session": "interactive",
  mosh: "interactive",
  "mosh-server": "interactive",
  telnet: "interactive",
  postgres: "database-access",
  pgbench: "database-access",
  psql: "database-access",
  mysqld: "database-access",
  mariadbd: "database-access",
  mysql: "database-access",
  "redis-server": "database-access",
  "redis-benchmark": "database-access",
  "redis-cli": "database-access",
  mongod: "database-access",
  iperf3: "bulk-transfer",
  rsync: "bulk-transfer",
  scp: "bulk-transfer",
  ffmpeg: "video-streaming",
  vlc: "video-streaming",
  mpv: "video-streaming",
  firefox: "web-browsing",
  chrome: "web-browsing",
  chromium: "web-browsing",
};

const PORT_HINTS: Record<number, AppClass> = {
  22: "interactive",
  23: "interactive",
  3306: "database-access",
  5432: "database-access",
  6379: "database-access",
  27017: "database-access",
  1433: "database-access",
  9042: "database-access",
  80: "web-browsing",
  443: "web-browsing",
  8080: "web-browsing",
  8443: "web-browsing",
  5201: "bulk-transfer",
  873: "bulk-transfer",
  1935: "video-streaming",
  554: "video-streaming",
};

/** Weight of a hint relative to feature scores (which are 0..1). */
export const HINT_WEIGHT = 0.3;

export interface HintOptions {
  /** Use process names and well-known ports (default true). The evaluation also scores without them. */
  hints?: boolean;
}

/** The classes the process name and the service port point at. */
export function hintsFor(f: FlowFeatures, opts: HintOptions = {}): { cls: AppClass; from: string }[] {
  if (opts.hints === false) return [];
  const out: { cls: AppClass; from: string }[] = [];
  const byProcess = f.process ? PROCESS_HINTS[f.process] : undefined;
  if (byProcess) out.push({ cls: byProcess, from: `process ${f.process}` });
  const byPort = PORT_HINTS[f.servicePort];
  if (byPort) out.push({ cls: byPort, from: `port ${f.servicePort}` });
  return out;
}
