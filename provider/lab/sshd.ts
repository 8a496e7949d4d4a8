// A real sshd per lab host: fresh ed25519 host key, one authorized client key, its own config and pid file.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import { run } from "../util/exec";
import type { HostPlan } from "./plan";
import { SSHD_PATH } from "./preflight";

export interface HostKey {
  publicKey: string;
  fingerprint: string;
}

/** `ssh-keygen -t ed25519 -N "" -f FILE`; returns the public key line without its comment, and its fingerprint. */
export async function generateKey(file: string, comment: string): Promise<HostKey> {
  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  const pub = (await readFile(`${file}.pub`, "utf8")).trim().split(/\s+/);
  const fp = (await run(["ssh-keygen", "-l", "-E", "sha256", "-f", `${file}.pub`])).stdout
    .trim()
    .split(/\s+/)[1];
  return { publicKey: `${pub[0]} ${pub[1]}`, fingerprint: fp };
}

export function hostDir(stateDir: string, host: string): string {
  return path.join(stateDir, "hosts", host);
}

export function sshdConfig(stateDir: string, h: HostPlan): string {
  const dir = hostDir(stateDir, h.name);
  return [
    `# netpersona lab host ${h.name} (${h.netns})`,
    "Port 22",
    `ListenAddress ${h.address}`,
    `HostKey ${dir}/ssh_host_ed25519_key`,
    `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${stateDir}/authorized_keys`,
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "UseDNS no",
    "PrintMotd no",
    "MaxStartups 100:30:200",
    "MaxSessions 50",
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

/** Writes the host's key and config; returns the host key. */
export async function prepareHost(stateDir: string, h: HostPlan): Promise<HostKey> {
  const dir = hostDir(stateDir, h.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = await generateKey(path.join(dir, "ssh_host_ed25519_key"), `${h.netns}`);
  await writeFile(path.join(dir, "sshd_config"), sshdConfig(stateDir, h));
  return key;
}

/** Starts sshd inside the host's namespace (it daemonizes and writes its pid file once listening). */
export async function startSshd(stateDir: string, h: HostPlan): Promise<void> {
  const dir = hostDir(stateDir, h.name);
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  await run([SSHD_PATH, "-f", path.join(dir, "sshd_config"), "-E", path.join(dir, "sshd.log")], {
    netns: h.netns,
  });
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("data", () => done(true));
    s.once("error", () => done(false));
  });
}

/** Waits until the host's sshd answers with its banner from the root namespace (through the router). */
export async function waitSshReady(h: HostPlan, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    if (await tryConnect(h.address, 22, 2000)) return;
    if (Date.now() > until) {
      throw new Error(
        `sshd of lab host ${h.name} (${h.address}:22 in ${h.netns}) did not answer after ${attempt} tries`,
      );
    }
    await new Promise((r) => setTimeout(r, 50 * Math.min(attempt, 10)));
  }
}

/** Whether the pid in the host's pid file is a live sshd started with this lab's config. */
export async function sshdRunning(stateDir: string, host: string): Promise<boolean> {
  const dir = hostDir(stateDir, host);
  const pid = Number((await readFile(path.join(dir, "sshd.pid"), "utf8").catch(() => "")).trim());
  if (!pid) return false;
  const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmd.includes(dir);
}
