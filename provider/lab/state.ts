// On-disk state of labs under /run/netpersona: one folder per lab, and claimed address blocks.
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { checkLabName } from "../util/names";
import { INDEX_DIR, LABS_DIR, MAX_LABS } from "./plan";
import type { LabInventory, LinkImpairment } from "./types";
import { readTextIfExists } from "../util/files";

export function labDir(name: string): string {
  return path.join(LABS_DIR, checkLabName("--name", name));
}

export async function readInventory(name: string): Promise<LabInventory | undefined> {
  const text = await readTextIfExists(path.join(labDir(name), "inventory.json"));
  return text === undefined ? undefined : (JSON.parse(text) as LabInventory);
}

export async function writeInventory(inv: LabInventory): Promise<void> {
  await writeFile(path.join(labDir(inv.name), "inventory.json"), `${JSON.stringify(inv, null, 2)}\n`, {
    mode: 0o600,
  });
}

export async function readImpairments(name: string): Promise<LinkImpairment[]> {
  const text = await readTextIfExists(path.join(labDir(name), "impairments.json"));
  return text === undefined ? [] : (JSON.parse(text) as LinkImpairment[]);
}

export async function writeImpairments(name: string, list: LinkImpairment[]): Promise<void> {
  await writeFile(path.join(labDir(name), "impairments.json"), `${JSON.stringify(list, null, 2)}\n`);
}

/** Names of labs with a state folder (valid lab names only). */
export async function listLabDirs(): Promise<string[]> {
  try {
    return (await readdir(LABS_DIR)).filter((n) => /^[a-z][a-z0-9-]{0,11}$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Creates the lab's state folder; refuses when it exists (a lab of that name is up, or was left by a crash). */
export async function createLabDir(name: string): Promise<string> {
  await mkdir(LABS_DIR, { recursive: true, mode: 0o700 });
  const dir = labDir(name);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new Error(
        `lab '${name}' already exists (${dir}): run 'netpersona lab down --name ${name}' first`,
        { cause: err },
      );
    }
    throw err;
  }
  // Which process made the lab, so a test suite can tell its own leftovers from labs others have up.
  await writeFile(path.join(dir, "owner.pid"), `${process.pid}\n`);
  return dir;
}

/** The pid of the process that made the lab, when recorded. */
export async function labOwner(name: string): Promise<number | undefined> {
  const pid = Number((await readFile(path.join(labDir(name), "owner.pid"), "utf8").catch(() => "")).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Claims the lowest free address block index not in `busy`; the claim is a folder naming its lab. */
export async function claimIndex(name: string, busy: Set<number>): Promise<number> {
  await mkdir(INDEX_DIR, { recursive: true, mode: 0o700 });
  for (let i = 0; i < MAX_LABS; i++) {
    if (busy.has(i)) continue;
    try {
      await mkdir(path.join(INDEX_DIR, String(i)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    await writeFile(path.join(INDEX_DIR, String(i), "lab"), name);
    return i;
  }
  throw new Error(
    `no free lab address block (all ${MAX_LABS} in use): remove labs with 'netpersona lab down --all'`,
  );
}

/** Releases every index claimed by `name` (or every claim when name is undefined). */
export async function releaseIndex(name?: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(INDEX_DIR);
  } catch {
    return;
  }
  for (const e of entries) {
    const owner = await readFile(path.join(INDEX_DIR, e, "lab"), "utf8").catch(() => undefined);
    if (name === undefined || owner === name) {
      await rm(path.join(INDEX_DIR, e), { recursive: true, force: true });
    }
  }
}
