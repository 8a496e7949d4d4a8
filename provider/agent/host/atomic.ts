// Atomic file replacement: write a temporary file in the same directory, fsync it, rename it over the target,
// fsync the directory. Readers see the old file or the new one, never a partial one.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function writeSynced(path: string, data: string | Buffer, mode: number, flags: string): Promise<void> {
  const h = await open(path, flags, mode);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A full file system (or quota) named by directory, with what to do; other errors as they are. */
export function explainWriteError(err: unknown, dir: string, path: string, intact = true): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== "ENOSPC" && code !== "EDQUOT") return err;
  const what = code === "ENOSPC" ? "no space left" : "disk quota exceeded";
  const e = new Error(
    `${what} in ${dir} while writing ${basename(path)}: ${intact ? "the previous file is intact" : "the file may be incomplete"}. Free space on that file system (df -h ${dir}) and retry; for the agent's own state, stateDir can also move to another file system`,
    { cause: err },
  ) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/** Replaces `path` atomically. When `path` is a mount point (a bind-mounted resolv.conf inside a namespace
 *  started by `ip netns exec`), rename is refused with EBUSY: the file is then rewritten in place, synced. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeSynced(tmp, data, mode, "wx");
  } catch (err) {
    // Never leave a partial (often empty) temporary file behind, and say which directory is full.
    await unlink(tmp).catch(() => undefined);
    // A writable file in a read-only directory (systemd's ProtectSystem=strict with ReadWritePaths naming
    // /etc/resolv.conf): rewrite it in place, synced, as for a mount point below.
    if ((err as NodeJS.ErrnoException).code === "EROFS" && (await isFile(path))) {
      try {
        return await writeSynced(path, data, mode, "w");
      } catch (e) {
        throw explainWriteError(e, dir, path, false);
      }
    }
    throw explainWriteError(err, dir, path);
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
    try {
      await writeSynced(path, data, mode, "w");
    } catch (e) {
      throw explainWriteError(e, dir, path, false);
    }
    return;
  }
  await fsyncDir(dir);
}
