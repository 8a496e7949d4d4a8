// Lab helpers for every test: make a lab, always remove it, ssh into its hosts with the pinned host key,
// and snapshot what labs leave in the kernel (namespaces, links, processes) to compare before and after.
import { readdir, readFile } from "node:fs/promises";

import { labDown, labUp, type LabHost, type LabInventory } from "../provider/lab";
import { ANY_LAB_NETNS, LABS_DIR } from "../provider/lab/plan";
import { alive, listNetns } from "../provider/lab/procs";
import { run, type RunOptions, type RunResult } from "../provider/util/exec";

export type { LabHost, LabInventory };

const live = new Set<string>();
/** Every lab this test process created, destroyed or not: the root hook checks exactly these. */
export const createdLabs = new Set<string>();

/** Creates a lab (networks default 2); pair every call with `destroyLab` in an after/afterEach hook. */
export async function createLab(opts: {
  name: string;
  hosts: number;
  networks?: number;
  dns?: boolean;
}): Promise<LabInventory> {
  live.add(opts.name);
  createdLabs.add(opts.name);
  return labUp(opts);
}

/** Removes the lab and everything it made; safe to call twice or after a failed createLab. */
export async function destroyLab(name: string): Promise<void> {
  await labDown(name);
  live.delete(name);
}

/** Labs created through this fixture and not destroyed yet. */
export function liveLabs(): string[] {
  return [...live];
}

export function host(inv: LabInventory, name: string): LabHost {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`lab ${inv.name} has no host ${name}`);
  return h;
}

/** The real `ssh` client's argument vector: inventory key, pinned host key, no fallback to anything else. */
export function sshArgv(
  inv: LabInventory,
  h: LabHost,
  command: string[],
  knownHosts = inv.knownHostsPath,
): string[] {
  return [
    "ssh",
    "-F",
    "/dev/null",
    "-i",
    h.privateKeyPath,
    "-p",
    String(h.sshPort),
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "ConnectTimeout=10",
    `${h.user}@${h.address}`,
    "--",
    ...command,
  ];
}

/** Runs a command on a lab host over ssh (from the root namespace, or from `opts.netns`). */
export function sshRun(
  inv: LabInventory,
  h: LabHost,
  command: string[],
  opts: RunOptions & { knownHosts?: string } = {},
): Promise<RunResult> {
  return run(sshArgv(inv, h, command, opts.knownHosts), opts);
}

export interface LabSnapshot {
  netns: string[];
  links: string[];
  processes: string[];
  labDirs: string[];
}

/** Everything labs can leave behind: `np-*` namespaces and root links, processes naming the labs folder. */
export async function snapshotLabs(): Promise<LabSnapshot> {
  const netns = (await listNetns()).filter((n) => ANY_LAB_NETNS.test(n)).sort();
  const links = (await run(["ip", "-o", "link", "show"])).stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^@:\s]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith("np-"))
    .sort();
  const processes: string[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e) || !alive(Number(e))) continue;
    const cmd = (await readFile(`/proc/${e}/cmdline`, "utf8").catch(() => "")).replace(/\0/g, " ").trim();
    if (cmd.includes(`${LABS_DIR}/`)) processes.push(`${e} ${cmd}`);
  }
  const labDirs = (await readdir(LABS_DIR).catch(() => [] as string[])).sort();
  return { netns, links, processes: processes.sort(), labDirs };
}

/** What `after` has that `before` had not. */
export function leftovers(before: LabSnapshot, after: LabSnapshot): LabSnapshot {
  const diff = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  return {
    netns: diff(before.netns, after.netns),
    links: diff(before.links, after.links),
    processes: diff(before.processes, after.processes),
    labDirs: diff(before.labDirs, after.labDirs),
  };
}

export function isEmpty(s: LabSnapshot): boolean {
  return s.netns.length + s.links.length + s.processes.length + s.labDirs.length === 0;
}
