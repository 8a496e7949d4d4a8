// The general traffic mix: at least three different real tools per class, all at once on one observed host,
// on non-standard ports, with one dominant transfer and clients that open a connection per request. Every
// generator instance is one application session; its flows are labelled by the server endpoint and, where
// two generators share one (ssh to the same sshd), by the client's process tree.
import type { ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import type { LabHost, LabInventory } from "../../../provider/lab";
import { start } from "../../../provider/util/exec";
import type { AppClass, FlowKey } from "../../../provider/discovery/types";
import { sleep, sshOptions } from "./common";
import { postgresBin, startPostgres, stopPostgres } from "./postgres";
import { startMariadb, startNginx, startRedis, startSocatShell, type RunningServer } from "./servers";

export const TOOLS = {
  pgbench: "database-access",
  "pgbench-connect": "database-access",
  "redis-cli": "database-access",
  "redis-benchmark-k0": "database-access",
  "mariadb-cli": "database-access",
  mysqlslap: "database-access",
  "node-http-keepalive": "web-browsing",
  "curl-per-object": "web-browsing",
  "node-http2": "web-browsing",
  iperf3: "bulk-transfer",
  scp: "bulk-transfer",
  "rsync-ssh": "bulk-transfer",
  "curl-download": "bulk-transfer",
  "ssh-typing": "interactive",
  "ssh-line-mode": "interactive",
  "socat-shell": "interactive",
  "node-http-segments": "video-streaming",
  "curl-segments": "video-streaming",
  "udp-stream": "video-streaming",
} as const satisfies Record<string, Exclude<AppClass, "other">>;
export type Tool = keyof typeof TOOLS;

/** Tools whose connections are mostly too short for ss to see their owner. */
const MANY_CONNECTIONS: readonly Tool[] = [
  "pgbench-connect",
  "redis-benchmark-k0",
  "mysqlslap",
  "curl-per-object",
];

export interface Generator {
  tool: Tool;
  /** Lab host names; discovery observes one host and sees whichever end it is. */
  server: string;
  client: string;
  /** Server port (ssh tools use the lab's sshd, port 22). */
  port: number;
  /** Tool knobs: rate (tps, Mbit/s, kbit/s, chars/s), sizes (kB), periods and gaps (s), clients. */
  rate?: number;
  size?: number;
  period?: number;
  gap?: [number, number];
  clients?: number;
}

export interface GeneralMix {
  name: string;
  seed: number;
  generators: Generator[];
}

export interface ToolLabel {
  address: string;
  port: number;
  protocol: "tcp" | "udp";
  applicationClass: AppClass;
  tool: Tool;
  /** The generator instance: one application session. */
  session: string;
  manyConnections: boolean;
  /** Process ids of the client's process tree seen during the run (for endpoints two generators share). */
  pids: Set<number>;
  root?: number;
}

/** The label of a flow: by endpoint, then by the client's process when the endpoint is shared. */
export function toolLabelOf(labels: readonly ToolLabel[], key: FlowKey, pid?: number): ToolLabel | undefined {
  const at = labels.filter(
    (l) =>
      l.protocol === key.protocol &&
      ((l.address === key.remoteAddress && l.port === key.remotePort) ||
        (l.address === key.localAddress && l.port === key.localPort)),
  );
  if (at.length <= 1) return at[0];
  const byPid = pid !== undefined ? at.find((l) => l.pids.has(pid)) : undefined;
  return byPid ?? at.find((l) => l.manyConnections) ?? at[0];
}

export interface RunningGeneralMix {
  labels: ToolLabel[];
  /** Records the client process trees now (call during the window). */
  trackPids(): Promise<void>;
  stop(): Promise<void>;
}

function hostOf(inv: LabInventory, name: string): LabHost {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`lab ${inv.name} has no host ${name}`);
  return h;
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once("exit", () => r()));
  c.kill("SIGTERM");
  await Promise.race([exited, sleep(3000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** Parent of every process, from /proc/<pid>/stat. */
async function parents(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(join("/proc", d, "stat"), "utf8").catch(() => "");
    const m = /\) \S+ (\d+)/.exec(stat);
    if (m) out.set(Number(d), Number(m[1]));
  }
  return out;
}

/** The generator's client command (run inside the client host's namespace). */
function clientArgv(inv: LabInventory, g: Generator, k: number, seed: number, seconds: number): string[] {
  const srv = hostOf(inv, g.server);
  const js = (p: string) => [process.execPath, join(__dirname, `${p}.js`)];
  const loop = (gap: [number, number], extra: string[] = []) => [
    ...js("loop"),
    "--seed",
    String(seed),
    "--gapMin",
    String(gap[0]),
    "--gapMax",
    String(gap[1]),
    ...extra,
    "--",
  ];
  const ssh = sshOptions(inv);
  const [addr, port] = [srv.address, String(g.port)];
  const gap = g.gap ?? [1, 3];
  const url = (path: string) => `http://${addr}:${port}/${path}`;
  const pages = "1k,2k,4k,8k,16k,32k,64k,128k,256k,512k";
  switch (g.tool) {
    case "pgbench":
    case "pgbench-connect":
      return [
        "PGBENCH",
        "-h",
        addr,
        "-p",
        port,
        "-U",
        "postgres",
        "-n",
        "-c",
        String(g.clients ?? 1),
        "-j",
        "1",
        "-T",
        String(seconds),
        "-R",
        String(g.rate ?? 20),
        ...(g.tool === "pgbench-connect" ? ["-C", "-S"] : []),
        "postgres",
      ];
    case "redis-cli":
      // One command every 1/rate s on one connection, forever (-r -1).
      return [
        "redis-cli",
        "-h",
        addr,
        "-p",
        port,
        "-r",
        "-1",
        "-i",
        String(1 / (g.rate ?? 20)),
        "INCR",
        "np:counter",
      ];
    case "redis-benchmark-k0":
      // A batch of requests, each on a new connection (-k 0), then a pause.
      return [
        ...loop(gap),
        "redis-benchmark",
        "-h",
        addr,
        "-p",
        port,
        "-k",
        "0",
        "-c",
        String(g.clients ?? 2),
        "-n",
        String(g.rate ?? 100),
        "-t",
        "get,set",
        "-q",
      ];
    case "mariadb-cli":
      return [
        ...js("typist"),
        ...["--seed", String(seed), "--cps", "100", "--mode", "feed"],
        ...["--gapMin", String(1 / (g.rate ?? 20) / 2), "--gapMax", String(1.5 / (g.rate ?? 20))],
        ...[
          "--lines",
          "SELECT v FROM np.t WHERE id = 7;|SELECT COUNT(*) FROM np.t;|UPDATE np.t SET v = 'x' WHERE id = 3;|SELECT id, v FROM np.t WHERE id < 5;",
        ],
        "--",
        ...["mariadb", "-h", addr, "-P", port, "-u", "root", "--batch", "np"],
      ];
    case "mysqlslap":
      return [
        ...loop(gap),
        "mysqlslap",
        ...[
          "-h",
          addr,
          "-P",
          port,
          "-u",
          "root",
          "--concurrency",
          String(g.clients ?? 2),
          "--iterations",
          "1",
        ],
        ...[
          "--query",
          "SELECT v FROM np.t WHERE id BETWEEN 10 AND 20",
          "--number-of-queries",
          String(g.rate ?? 40),
        ],
        // Its own schema, created and dropped by each run; the query reads the shared table.
        "--create-schema=npslap",
      ];
    case "node-http-keepalive":
      return [
        ...js("web-client"),
        ...["--host", addr, "--port", port, "--seed", String(seed), "--parallel", String(g.clients ?? 4)],
        ...["--gapMin", String(gap[0]), "--gapMax", String(gap[1]), "--objMin", "3", "--objMax", "15"],
        ...["--kbMin", "2", "--kbMax", String(g.size ?? 400)],
      ];
    case "curl-per-object":
      // A page: several objects, each on its own connection (the server is told to close).
      return [
        ...loop(gap, ["--pick", pages, "--count", String(g.clients ?? 6)]),
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-H",
        "Connection: close",
        url("{}"),
      ];
    case "node-http2":
      return [
        ...js("h2-client"),
        ...["--host", addr, "--port", port, "--seed", String(seed)],
        ...["--gapMin", String(gap[0]), "--gapMax", String(gap[1]), "--objMin", "4", "--objMax", "20"],
        ...["--kbMin", "1", "--kbMax", String(g.size ?? 300)],
      ];
    case "iperf3":
      return ["iperf3", "-c", addr, "-p", port, "-t", String(seconds), "-b", `${g.rate ?? 100}M`];
    case "scp":
      return [
        ...loop([0.2, 0.5]),
        "scp",
        ...ssh,
        "-P",
        port,
        "-l",
        String((g.rate ?? 20) * 1000),
        "BIGFILE",
        `${srv.user}@${addr}:/dev/null`,
      ];
    case "rsync-ssh":
      return [
        ...loop([0.2, 0.5]),
        "rsync",
        "--whole-file",
        "--ignore-times",
        `--bwlimit=${Math.round(((g.rate ?? 20) * 1000) / 8)}`,
        "-e",
        ["ssh", ...ssh, "-p", port].join(" "),
        "BIGFILE",
        `${srv.user}@${addr}:/tmp/np-discovery-rsync-${k}`,
      ];
    case "curl-download":
      return [
        ...loop([0.2, 0.5]),
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "--limit-rate",
        `${Math.round((g.rate ?? 20) * 125)}K`,
        url("262144k"),
      ];
    case "ssh-typing":
      return [
        ...js("typist"),
        "--seed",
        String(seed),
        "--cps",
        String(g.rate ?? 6),
        "--",
        "ssh",
        ...ssh,
        "-p",
        port,
        `${srv.user}@${addr}`,
        "--",
        "cat",
      ];
    case "ssh-line-mode":
      return [
        ...js("typist"),
        ...[
          "--seed",
          String(seed),
          "--cps",
          String(g.rate ?? 6),
          "--mode",
          "line",
          "--gapMin",
          "1",
          "--gapMax",
          "5",
        ],
        ...["--", "ssh", ...ssh, "-p", port, `${srv.user}@${addr}`, "--", "sh"],
      ];
    case "socat-shell":
      return [
        ...js("typist"),
        "--seed",
        String(seed),
        "--cps",
        String(g.rate ?? 5),
        "--",
        "socat",
        "-",
        `TCP:${addr}:${port}`,
      ];
    case "node-http-segments":
      return [
        ...js("video-client"),
        "--host",
        addr,
        "--port",
        port,
        "--kb",
        String(g.size ?? 1000),
        "--period",
        String(g.period ?? 2),
        "--seed",
        String(seed),
      ];
    case "curl-segments":
      return [
        ...js("loop"),
        "--seed",
        String(seed),
        "--period",
        String(g.period ?? 2),
        "--",
        "curl",
        "-s",
        "-o",
        "/dev/null",
        url(`${g.size ?? 800}k`),
      ];
    case "udp-stream":
      // The server (sender) streams to the client's receiver; started from the server's side below.
      return ["socat", "-u", `UDP-RECV:${port},bind=${hostOf(inv, g.client).address}`, "/dev/null"];
  }
}

/** Starts every server, then every client, of `mix` for about `seconds`. */
export async function startGeneralMix(
  inv: LabInventory,
  mix: GeneralMix,
  seconds: number,
  bigFile: string,
): Promise<RunningGeneralMix> {
  const children: ChildProcess[] = [];
  const servers: RunningServer[] = [];
  const labels: ToolLabel[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
  };
  const node = (host: LabHost, program: string, argv: (string | number)[]) =>
    children.push(
      start([process.execPath, join(__dirname, `${program}.js`), ...argv.map(String)], { netns: host.netns }),
    );
  try {
    // Servers, one per host and port (nginx: one per host serving every port asked of it).
    const nginxPorts = new Map<string, Set<number>>();
    const started = new Set<string>();
    for (const g of mix.generators) {
      const srv = hostOf(inv, g.server);
      const id = `${g.server}:${g.port}`;
      if (["curl-per-object", "curl-download", "curl-segments"].includes(g.tool)) {
        nginxPorts.set(g.server, (nginxPorts.get(g.server) ?? new Set()).add(g.port));
        continue;
      }
      if (started.has(id) || g.port === srv.sshPort) continue;
      started.add(id);
      if (g.tool === "pgbench" || g.tool === "pgbench-connect") {
        const pg = await startPostgres(srv.netns, srv.address, g.port);
        servers.push({ stop: () => stopPostgres(pg) });
      } else if (g.tool === "redis-cli" || g.tool === "redis-benchmark-k0")
        servers.push(await startRedis(srv.netns, srv.address, g.port));
      else if (g.tool === "mariadb-cli" || g.tool === "mysqlslap")
        servers.push(await startMariadb(srv.netns, srv.address, g.port));
      else if (g.tool === "socat-shell") servers.push(await startSocatShell(srv.netns, srv.address, g.port));
      else if (g.tool === "node-http-keepalive" || g.tool === "node-http-segments")
        node(srv, "http-server", ["--host", srv.address, "--port", g.port]);
      else if (g.tool === "node-http2") node(srv, "h2-server", ["--host", srv.address, "--port", g.port]);
      else if (g.tool === "iperf3")
        children.push(start(["iperf3", "-s", "-p", String(g.port), "-B", srv.address], { netns: srv.netns }));
    }
    for (const [h, ports] of nginxPorts) {
      const srv = hostOf(inv, h);
      servers.push(await startNginx(srv.netns, srv.address, [...ports]));
    }
    await sleep(700);
    const pg = mix.generators.some((g) => g.tool.startsWith("pgbench")) ? await postgresBin() : "";
    mix.generators.forEach((g, k) => {
      const [srv, cli] = [hostOf(inv, g.server), hostOf(inv, g.client)];
      const seed = mix.seed * 100 + k;
      const argv = clientArgv(inv, g, k, seed, seconds).map((x) =>
        x === "PGBENCH" ? `${pg}/pgbench` : x === "BIGFILE" ? bigFile : x,
      );
      const udp = g.tool === "udp-stream";
      const child = start(argv, { netns: cli.netns });
      children.push(child);
      if (udp)
        node(srv, "udp-stream", [
          "--host",
          cli.address,
          "--port",
          g.port,
          "--kbps",
          g.rate ?? 2500,
          "--seed",
          seed,
        ]);
      labels.push({
        address: udp ? cli.address : srv.address,
        port: g.port,
        protocol: udp ? "udp" : "tcp",
        applicationClass: TOOLS[g.tool],
        tool: g.tool,
        session: `${g.tool}#${k}`,
        manyConnections: MANY_CONNECTIONS.includes(g.tool),
        pids: new Set(child.pid ? [child.pid] : []),
        ...(child.pid && { root: child.pid }),
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const trackPids = async () => {
    const pp = await parents();
    for (const l of labels) {
      if (l.root === undefined) continue;
      for (let grew = true; grew;) {
        grew = false;
        for (const [pid, parent] of pp)
          if (l.pids.has(parent) && !l.pids.has(pid)) {
            l.pids.add(pid);
            grew = true;
          }
      }
    }
  };
  return { labels, trackPids, stop };
}
