// Real servers for the general traffic mix, each in a lab host's namespace, each in a throwaway directory
// removed by its stop(): nginx (web objects, downloads, video segments, one `server` per port), Redis,
// MariaDB (own datadir, grant tables skipped), a socat remote shell on a pty (a telnet-like session).
import type { ChildProcess } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { run, start } from "../../../provider/util/exec";
import { sleep } from "./common";

export interface RunningServer {
  stop(): Promise<void>;
}

async function stopChild(c: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once("exit", () => r()));
  c.kill(signal);
  await Promise.race([exited, sleep(4000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** Waits until `address:port` accepts TCP connections inside `netns`. */
export async function waitListening(
  netns: string,
  address: string,
  port: number,
  what: string,
): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const r = await run(["ss", "-tlnH", `sport = :${port}`], { netns, check: false });
    if (r.stdout.includes(`${address}:${port}`)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on ${address}:${port} in ${netns} within 15 s`);
}

/** Files `<kb>k` of each size (KiB), readable by nginx's worker. */
async function makeFiles(dir: string, sizesKb: readonly number[]): Promise<void> {
  for (const kb of sizesKb) {
    const f = await open(join(dir, `${kb}k`), "w");
    await f.truncate(kb * 1024);
    await f.close();
  }
}

/** Object sizes nginx serves as /<kb>k: web objects, video segments, a large download. */
export const NGINX_FILES_KB = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 800, 1024, 1500, 2048, 262_144];

/** One nginx (one worker) serving NGINX_FILES_KB on each of `ports` at `address`. */
export async function startNginx(
  netns: string,
  address: string,
  ports: readonly number[],
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), "np-discovery-nginx-"));
  await chmod(dir, 0o755);
  const www = join(dir, "www");
  await mkdir(www, { mode: 0o755 });
  await makeFiles(www, NGINX_FILES_KB);
  const conf = [
    "daemon off;",
    "master_process off;",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    "events { worker_connections 1024; }",
    "http {",
    "  access_log off;",
    "  keepalive_timeout 30s;",
    "  keepalive_requests 100000;",
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    ...ports.map((p) => `  server { listen ${address}:${p}; root ${www}; }`),
    "}",
    "",
  ].join("\n");
  await writeFile(join(dir, "nginx.conf"), conf);
  const child = start(["nginx", "-c", join(dir, "nginx.conf"), "-p", dir], { netns });
  const stop = async () => {
    await stopChild(child, "SIGQUIT");
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) await waitListening(netns, address, p, "nginx");
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** redis-server without persistence on address:port. */
export async function startRedis(netns: string, address: string, port: number): Promise<RunningServer> {
  const argv = [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    address,
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  const child = start([...argv, "--protected-mode", "no", "--daemonize", "no", "--logfile", ""], { netns });
  const stop = () => stopChild(child);
  try {
    await waitListening(netns, address, port, "redis-server");
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

async function uidGid(user: string): Promise<[number, number]> {
  const uid = Number((await run(["id", "-u", user])).stdout.trim());
  const gid = Number((await run(["id", "-g", user])).stdout.trim());
  return [uid, gid];
}

/** A throwaway MariaDB (mariadb-install-db into a temp datadir, `mysql` user, grant tables skipped). */
export async function startMariadb(netns: string, address: string, port: number): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), "np-discovery-mariadb-"));
  const [uid, gid] = await uidGid("mysql");
  await chown(dir, uid, gid);
  const data = join(dir, "data");
  await run(["mariadb-install-db", "--no-defaults", `--datadir=${data}`, "--user=mysql", "--skip-test-db"], {
    timeoutMs: 180_000,
  });
  const child = start(
    [
      "mariadbd",
      "--no-defaults",
      `--datadir=${data}`,
      "--user=mysql",
      `--bind-address=${address}`,
      `--port=${port}`,
      `--socket=${dir}/mysqld.sock`,
      `--pid-file=${dir}/mysqld.pid`,
      "--skip-grant-tables",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=16M",
      "--max-connections=500",
    ],
    { netns },
  );
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitListening(netns, address, port, "mariadbd");
    const sql =
      "CREATE DATABASE IF NOT EXISTS np; CREATE TABLE IF NOT EXISTS np.t (id INT PRIMARY KEY, v VARCHAR(64));";
    const rows = Array.from({ length: 200 }, (_, i) => `(${i},'value ${i}')`).join(",");
    await run(
      [
        "mariadb",
        "-h",
        address,
        "-P",
        String(port),
        "-u",
        "root",
        "-e",
        `${sql} REPLACE INTO np.t VALUES ${rows};`,
      ],
      {
        netns,
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** A remote shell on a pseudo-terminal over plain TCP (what telnet gives), by socat. */
export async function startSocatShell(netns: string, address: string, port: number): Promise<RunningServer> {
  const child = start(
    ["socat", `TCP-LISTEN:${port},bind=${address},reuseaddr,fork`, "EXEC:/bin/sh -i,pty,stderr,setsid,ctty"],
    { netns },
  );
  const stop = () => stopChild(child);
  try {
    await waitListening(netns, address, port, "socat");
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
