// Lab helpers for programs that target a `netpersona lab` (examples, tries before production).
import { readFileSync } from "node:fs";
import { join } from "node:path";

import type { LabHost, LabInventory } from "../provider/lab/types";
import { LABS_DIR, labAgentPaths } from "../provider/lab/plan";
import { checkLabName } from "../provider/util/names";
import type { AgentArgs } from "./agent";

export type { LabHost, LabInventory };

/** The inventory of a running lab (`netpersona lab status --name NAME --json` prints the same). */
export function labInventory(name: string): LabInventory {
  const file = join(LABS_DIR, checkLabName("lab", name), "inventory.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LabInventory;
  } catch {
    throw new Error(
      `lab '${name}' is not running (no ${file}): start it with \`netpersona lab up --name ${name} --hosts 2\``,
    );
  }
}

/** Agent arguments for a lab host: its SSH connection with the pinned host key, and per-host directories
 *  (lab hosts share one file system, so each agent gets its own). The directory and the resolv.conf come from
 *  `labAgentPaths`, which `netpersona lab status --json` lists per host for YAML and Python programs. */
export function labAgentArgs(inv: LabInventory, host: LabHost): Omit<AgentArgs, "ca"> {
  const { agentDir, resolvConfPath } = labAgentPaths(inv, host);
  return {
    connection: {
      host: host.address,
      port: host.sshPort,
      user: host.user,
      privateKey: readFileSync(host.privateKeyPath, "utf8"),
      hostKey: host.hostPublicKey,
    },
    installDir: `${agentDir}/opt`,
    stateDir: `${agentDir}/state`,
    resolvConfPath,
  };
}
