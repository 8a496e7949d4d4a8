// `lab status`: the inventory of a lab, its impairments and whether each host's sshd still runs.
import { labAgentPaths } from "./plan";
import { listLabDirs, readImpairments, readInventory } from "./state";
import { sshdRunning } from "./sshd";
import type { LabInventory, LabStatus } from "./types";

export async function requireInventory(name: string): Promise<LabInventory> {
  const inv = await readInventory(name);
  if (!inv) {
    throw new Error(
      `no lab named '${name}' is up: start one with 'netpersona lab up --name ${name} --hosts 2'`,
    );
  }
  return inv;
}

export async function labStatus(name: string): Promise<LabStatus> {
  const inv = await requireInventory(name);
  const sshdDown: string[] = [];
  for (const h of inv.hosts) if (!(await sshdRunning(inv.stateDir, h.name))) sshdDown.push(h.name);
  const hosts = inv.hosts.map((h) => ({ ...h, ...labAgentPaths(inv, h) }));
  return { ...inv, hosts, impairments: await readImpairments(name), sshdDown };
}

/** Names of labs that have an inventory (fully up). */
export async function labList(): Promise<string[]> {
  const out: string[] = [];
  for (const n of await listLabDirs()) if (await readInventory(n)) out.push(n);
  return out;
}
