// The database generator's server: a throwaway PostgreSQL cluster (Debian postgresql) inside a lab host,
// initialised for pgbench, owned by the `postgres` user, removed again by `stopPostgres`.
import type { ChildProcess } from "node:child_process";
import { chown, mkdtemp, readdir, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { run, start } from "../../../provider/util/exec";
import { sleep } from "./common";

export interface PostgresServer {
  netns: string;
  address: string;
  port: number;
  dir: string;
  child: ChildProcess;
}

/** The newest /usr/lib/postgresql/<version>/bin that has `postgres` and `pgbench`. */
export async function postgresBin(): Promise<string> {
  const versions = (await readdir("/usr/lib/postgresql").catch(() => [] as string[]))
    .filter((v) => /^\d+$/.test(v))
    .sort((x, y) => Number(y) - Number(x));
  if (versions.length === 0)
    throw new Error("PostgreSQL is not installed: run 'bash scripts/discovery-deps.sh' (Debian postgresql)");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

async function uidGid(user: string): Promise<[number, number]> {
  const uid = Number((await run(["id", "-u", user])).stdout.trim());
  const gid = Number((await run(["id", "-g", user])).stdout.trim());
  return [uid, gid];
}

/** initdb (trust auth, no fsync), start `postgres` in `netns` on address:port, `pgbench -i` the database. */
export async function startPostgres(netns: string, address: string, port: number): Promise<PostgresServer> {
  const bin = await postgresBin();
  const dir = await mkdtemp(join(tmpdir(), "np-discovery-pg-"));
  const [uid, gid] = await uidGid("postgres");
  await chown(dir, uid, gid);
  const asPostgres = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--"];
  const data = join(dir, "data");
  await run([...asPostgres, `${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"], {
    timeoutMs: 120_000,
  });
  await appendFile(join(data, "pg_hba.conf"), "host all all 0.0.0.0/0 trust\n");
  await writeFile(join(data, "postgresql.auto.conf"), "fsync = off\nsynchronous_commit = off\n");
  const child = start(
    [
      ...asPostgres,
      `${bin}/postgres`,
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      `listen_addresses=${address}`,
      "-c",
      "shared_buffers=16MB",
      "-c",
      "max_connections=30",
    ],
    { netns },
  );
  const server = { netns, address, port, dir, child };
  try {
    for (let i = 0; ; i++) {
      const r = await run([`${bin}/pg_isready`, "-h", address, "-p", String(port)], { netns, check: false });
      if (r.code === 0) break;
      if (i >= 100) throw new Error(`postgres on ${address}:${port} in ${netns} did not become ready`);
      await sleep(100);
    }
    const pgbench = [
      `${bin}/pgbench`,
      "-i",
      "-q",
      "-s",
      "1",
      "-h",
      address,
      "-p",
      String(port),
      "-U",
      "postgres",
    ];
    await run([...pgbench, "postgres"], { netns, timeoutMs: 120_000 });
  } catch (err) {
    await stopPostgres(server);
    throw err;
  }
  return server;
}

/** Stops the server (SIGQUIT: immediate shutdown) and removes its cluster. */
export async function stopPostgres(s: PostgresServer): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise<void>((r) => s.child.once("exit", () => r()));
    s.child.kill("SIGQUIT");
    await Promise.race([exited, sleep(5000)]);
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  }
  await rm(s.dir, { recursive: true, force: true });
}
