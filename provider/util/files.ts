// Reading files that may legitimately be absent: absence is an answer (undefined), any other error is not.
import { readFile } from "node:fs/promises";

/** The file's text, or undefined when it does not exist. Other errors (EACCES, EISDIR, ...) are thrown. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
