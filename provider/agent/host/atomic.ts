// Atomic file replacement: write a temporary file in the same directory, fsync it, rename it over the target,
// fsync the directory. Readers see the old file or the new one, never a partial one.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
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

/** Replaces `path` atomically. When `path` is a mount point (a bind-mounted resolv.conf inside a namespace
 *  started by `ip netns exec`), rename is refused with EBUSY: the file is then rewritten in place, synced. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await writeSynced(tmp, data, mode, "wx");
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
    await writeSynced(path, data, mode, "w");
    return;
  }
  await fsyncDir(dir);
}
