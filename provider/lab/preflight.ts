// Checks before a lab command touches the kernel: privileges and the tools it runs, with the fix in the message.
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";

import { which } from "../util/exec";

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Tools the lab runs, and the Debian package that brings each. */
const TOOLS: Record<string, string> = {
  ip: "iproute2",
  tc: "iproute2",
  nft: "nftables",
  "ssh-keygen": "openssh-client",
};

export const SSHD_PATH = "/usr/sbin/sshd";

async function effectiveCaps(): Promise<bigint> {
  const status = await readFile("/proc/self/status", "utf8");
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Throws a one-line error naming the fix when the process cannot manage namespaces. */
export async function checkPrivileges(action: string): Promise<void> {
  const caps = await effectiveCaps();
  const missing: string[] = [];
  if (!(caps & (1n << BigInt(CAP_NET_ADMIN)))) missing.push("CAP_NET_ADMIN");
  if (!(caps & (1n << BigInt(CAP_SYS_ADMIN)))) missing.push("CAP_SYS_ADMIN");
  if (missing.length > 0) {
    throw new Error(
      `${action} needs root (missing ${missing.join(" and ")}: network namespaces, links and nftables ` +
        `are kernel state): run it as root, e.g. 'sudo netpersona lab ...'`,
    );
  }
}

/** Throws naming the missing tool and the package to install (`sshd` too unless `withSshd` is false). */
export async function checkTools(tools: string[] = Object.keys(TOOLS), withSshd = true): Promise<void> {
  for (const tool of tools) {
    if (!(await which(tool))) {
      const pkg = TOOLS[tool] ?? tool;
      throw new Error(
        `missing tool '${tool}' (Debian package ${pkg}): install it with 'apt-get install -y ${pkg}' ` +
          `or run 'make system-deps'`,
      );
    }
  }
  if (!withSshd) return;
  try {
    await access(SSHD_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `missing ${SSHD_PATH} (Debian package openssh-server): install it with ` +
        `'apt-get install -y openssh-server' or run 'make system-deps'`,
    );
  }
}

/** Privileges, then tools: everything for `lab up`; `lab down` needs only iproute2 (`minimal`). */
export async function preflight(action: string, minimal = false): Promise<void> {
  await checkPrivileges(action);
  await (minimal ? checkTools(["ip"], false) : checkTools());
}
