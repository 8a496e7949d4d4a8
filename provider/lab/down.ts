// `lab down`: removes everything a lab made (processes, namespaces, links, files). Idempotent; `--all` also
// clears labs left behind by a crashed run, found by their names alone.
import { readdir, rm } from "node:fs/promises";
import path from "node:path";

import { run } from "../util/exec";
import { checkLabName } from "../util/names";
import { ANY_LAB_NETNS, LABS_DIR, labNetnsPattern, rootIfname } from "./plan";
import { preflight } from "./preflight";
import { killPids, listNetns, netnsPids, pidsByCmdline } from "./procs";
import { labDir, listLabDirs, releaseIndex } from "./state";
import { ipBatch } from "./topology";

export interface DownResult {
  labs: string[];
  namespaces: string[];
  processes: number;
}

/** Root-namespace links made by labs: `np-<lab>` veths. */
async function labRootLinks(match: (ifname: string) => boolean): Promise<string[]> {
  const { stdout } = await run(["ip", "-o", "link", "show", "type", "veth"]);
  return stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^@:\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && /^np-[a-z][a-z0-9-]{0,11}$/.test(n) && match(n));
}

async function teardown(namespaces: string[], cmdNeedle: string, links: string[]): Promise<number> {
  const pids = new Set<number>(await pidsByCmdline(cmdNeedle));
  for (const ns of namespaces) for (const p of await netnsPids(ns)) pids.add(p);
  await killPids([...pids]);
  // Deleting a namespace destroys its end of every veth, and so the peer too.
  await ipBatch(namespaces.map((ns) => `netns del ${ns}`)).catch(async () => {
    for (const ns of namespaces) await run(["ip", "netns", "del", ns], { check: false });
  });
  for (const l of links) await run(["ip", "link", "del", l], { check: false });
  return pids.size;
}

async function removeEtcNetns(match: (ns: string) => boolean): Promise<void> {
  const entries = await readdir("/etc/netns").catch(() => [] as string[]);
  for (const e of entries.filter(match))
    await rm(path.join("/etc/netns", e), { recursive: true, force: true });
}

export async function labDown(name: string): Promise<DownResult> {
  checkLabName("--name", name);
  await preflight("lab down", true);
  const pattern = labNetnsPattern(name);
  const namespaces = (await listNetns()).filter((n) => pattern.test(n));
  const links = await labRootLinks((l) => l === rootIfname(name));
  const processes = await teardown(namespaces, `${labDir(name)}/`, links);
  await removeEtcNetns((e) => pattern.test(e));
  await rm(labDir(name), { recursive: true, force: true });
  await releaseIndex(name);
  return { labs: [name], namespaces, processes };
}

/** Every lab: those with state and those whose namespaces or links a crashed run left behind. */
export async function labDownAll(): Promise<DownResult> {
  await preflight("lab down", true);
  const labs = await listLabDirs();
  const namespaces = (await listNetns()).filter((n) => ANY_LAB_NETNS.test(n));
  const links = await labRootLinks(() => true);
  const processes = await teardown(namespaces, `${LABS_DIR}/`, links);
  await removeEtcNetns((e) => ANY_LAB_NETNS.test(e));
  for (const l of labs) await rm(labDir(l), { recursive: true, force: true });
  await releaseIndex();
  return { labs, namespaces, processes };
}
