// Installs, upgrades and removes the agent on a host over SSH. Every remote command is an argument vector
// of validated values; files are written atomically over SFTP.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";

import type { SshSession } from "../ssh/connection";
import { AGENT_NODE_FLAGS, agentEnvAssignments } from "./agent-launch";
import { OWNER_FILE, formatOwner, ownerConflict, type OwnerRecord, type OwnerSelf } from "./owner";
import { MARKER, assertSafeListing, removableDirs } from "./paths";
import { parseOwners, ownersArgv, parsePreflight, preflightArgv, restartArgv } from "./remote";

export const MIN_NODE_MAJOR = 20;
/** Free space the install needs beside the bundle (logs, state). */
const SPARE_KIB = 4096;

export interface InstallSpec {
  installDir: string;
  stateDir: string;
  nodePath: string;
  listen: string;
  resolvConfPath?: string;
  /** The echo responder's address (`--echo-address`); absent: the agent chooses (its listen address). */
  echoAddress?: string;
  /** Addresses and CIDR prefixes whose echo probes the agent answers besides its peers (`--echo-allow`). */
  echoAllow?: string[];
  /** ADDR:PORT of the HTTPS metrics endpoint (`--metrics-listen`); absent: no endpoint. */
  metricsListen?: string;
  serviceManager: "systemd" | "supervisor";
  unitName: string;
  /** Written into both directories by the upload (owner.ts); absent: none is written. */
  owner?: OwnerRecord;
}

export interface TlsFiles {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** The agent and supervisor bundles shipped in this package (built by `make build`). */
export function bundleFiles(): { agent: Buffer; supervisor: Buffer; hash: string } {
  const dir = join(__dirname, "..", "..", "agent");
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f));
    } catch {
      throw new Error(
        `the agent bundle ${join(dir, f)} is missing: run \`make build\` (it bundles the agent)`,
      );
    }
  };
  const agent = read("netpersona-agent.js");
  const supervisor = read("netpersona-supervisor.js");
  const hash = createHash("sha256").update(agent).update(supervisor).digest("hex").slice(0, 16);
  return { agent, supervisor, hash };
}

/** Checks node, the service manager, free space, that no user but root can change the agent's directories
 *  and (given `self`) that neither holds another Agent's agent (owner.ts), before anything is written: one
 *  remote command (remote.ts), judged here. */
export async function preflight(
  ssh: SshSession,
  spec: Pick<InstallSpec, "nodePath" | "installDir" | "stateDir">,
  bytesNeeded: number,
  wanted: "auto" | "systemd" | "supervisor",
  self?: OwnerSelf,
): Promise<{ nodeVersion: string; serviceManager: "systemd" | "supervisor" }> {
  const dirs = [spec.installDir, spec.stateDir];
  const r = await ssh.run(preflightArgv(spec.nodePath, spec.installDir, dirs));
  const l = parsePreflight(r.stdout, dirs);
  const version = l.nodeVersion;
  const major = Number(/^v(\d+)\./.exec(version)?.[1] ?? NaN);
  if (l.nodeCode !== 0 || !(major >= MIN_NODE_MAJOR)) {
    const found = l.nodeCode === 0 ? `found ${version}` : `'${spec.nodePath}' not found`;
    throw new Error(
      `node >= ${MIN_NODE_MAJOR} is required on ${ssh.target} (${found}): install Node.js ${MIN_NODE_MAJOR} or newer there (e.g. apt-get install nodejs), or set nodePath to its location`,
    );
  }
  assertSafeListing(ssh.target, "installDir", spec.installDir, l.dirs[spec.installDir]);
  assertSafeListing(ssh.target, "stateDir", spec.stateDir, l.dirs[spec.stateDir]);
  if (self) {
    for (const [field, path] of [
      ["installDir", spec.installDir],
      ["stateDir", spec.stateDir],
    ] as const) {
      const conflict = ownerConflict(ssh.target, field, path, l.dirs[path].owner, self);
      if (conflict) throw new Error(conflict);
    }
  }
  // The nearest existing ancestor of installDir tells the free space of the file system it will live on.
  const needKib = Math.ceil(bytesNeeded / 1024) + SPARE_KIB;
  if (!(l.freeKib >= needKib)) {
    throw new Error(
      `not enough disk space on ${ssh.target}: ${l.freeKib} KiB free in ${l.probe}, the agent needs ${needKib} KiB: free some space or set installDir to another file system`,
    );
  }
  // systemd only when it runs AND shares our network namespace (a lab host is a namespace of a machine
  // whose systemd would start the agent in the wrong namespace).
  const serviceManager: "systemd" | "supervisor" =
    wanted === "auto" ? (l.systemdHere ? "systemd" : "supervisor") : wanted;
  return { nodeVersion: version, serviceManager };
}

/** The systemd unit: root, but sandboxed to what the agent does (routes, links, nftables, tc, pings, its
 *  state and resolv.conf). Its safe-apply watchdog runs in the same sandbox. */
export function unitFile(spec: InstallSpec): string {
  const resolvConf = spec.resolvConfPath ?? "/etc/resolv.conf";
  return [
    "[Unit]",
    "Description=netpersona agent (network personas over gRPC + mTLS)",
    "After=network-online.target",
    "",
    "[Service]",
    `ExecStart=${[spec.nodePath, ...agentArgs(spec)].join(" ")}`,
    // glibc malloc settings (agent-launch.ts): fewer arenas, memory given back after large frees.
    `Environment=${agentEnvAssignments().join(" ")}`,
    "Restart=always",
    // Stopping or restarting the agent must not kill a safe-apply watchdog it started: that process
    // restores the host if a pending apply is never confirmed.
    "KillMode=process",
    "RestartSec=1",
    // Routes, links, nftables, tc (CAP_NET_ADMIN) and ICMP probes (CAP_NET_RAW): nothing else, for the
    // agent and every program it runs (ip, nft, tc, ping, ss, resolvectl).
    "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
    "NoNewPrivileges=yes",
    // The whole file system read-only but its state directory and the resolv.conf it manages ('-': the file
    // may be absent; a symlinked resolv.conf is managed through resolvectl over D-Bus instead).
    "ProtectSystem=strict",
    `ReadWritePaths=${spec.stateDir} -${resolvConf}`,
    "PrivateTmp=yes",
    // nodePath may live in a home directory (nvm): readable, never writable.
    "ProtectHome=read-only",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The agent's command line after node (its V8 flags from agent-launch.ts first): validated values only
 *  (agent-schema.ts: paths without spaces, IP addresses, CIDR prefixes), one element each, so the unit's
 *  ExecStart needs no quoting and the supervisor's start command passes each as one argument. */
export function agentArgs(spec: InstallSpec): string[] {
  const d = spec.installDir;
  return [
    ...AGENT_NODE_FLAGS,
    `${d}/netpersona-agent.js`,
    "--listen",
    spec.listen,
    "--state-dir",
    spec.stateDir,
    "--ca",
    `${d}/ca.pem`,
    "--cert",
    `${d}/agent.pem`,
    "--key",
    `${d}/agent-key.pem`,
    ...(spec.resolvConfPath ? ["--netns-resolv-conf", spec.resolvConfPath] : []),
    ...(spec.echoAddress ? ["--echo-address", spec.echoAddress] : []),
    ...(spec.echoAllow?.length ? ["--echo-allow", spec.echoAllow.join(",")] : []),
    ...(spec.metricsListen ? ["--metrics-listen", spec.metricsListen] : []),
  ];
}

/** Uploads bundles, certificates and (systemd) the unit in one SFTP session: directories, exclusive temporary
 *  files, chmod and rename all over SFTP. Does not start anything; a running agent keeps its open files. */
export async function upload(ssh: SshSession, spec: InstallSpec, tls: TlsFiles): Promise<void> {
  const b = bundleFiles();
  const marker = "made by the netpersona agent install: deleting the Agent removes this directory\n";
  const d = spec.installDir;
  const files = [
    { path: `${d}/${MARKER}`, content: marker, mode: "0644" },
    { path: `${spec.stateDir}/${MARKER}`, content: marker, mode: "0644" },
    { path: `${d}/netpersona-agent.js`, content: b.agent, mode: "0644" },
    { path: `${d}/netpersona-supervisor.js`, content: b.supervisor, mode: "0644" },
    { path: `${d}/ca.pem`, content: tls.caPem, mode: "0644" },
    { path: `${d}/agent.pem`, content: tls.certPem, mode: "0644" },
    { path: `${d}/agent-key.pem`, content: tls.keyPem, mode: "0600" },
  ];
  if (spec.owner) {
    for (const dir of [d, spec.stateDir]) {
      files.push({ path: `${dir}/${OWNER_FILE}`, content: formatOwner(spec.owner), mode: "0644" });
    }
  }
  if (spec.serviceManager === "systemd") {
    files.push({
      path: `/etc/systemd/system/${spec.unitName}.service`,
      content: unitFile(spec),
      mode: "0644",
    });
  }
  await ssh.writeFiles(files, [
    { path: d, mode: "0755" },
    { path: spec.stateDir, mode: "0700" },
  ]);
}

/** (Re)starts the agent in one remote command: a previous agent of this install is stopped first (never two
 *  agents). The unit file (systemd) came with the upload. */
export async function startService(ssh: SshSession, spec: InstallSpec): Promise<void> {
  if (spec.serviceManager === "systemd") {
    const unit = `${spec.unitName}.service`;
    await ssh.run([
      "sh",
      "-c",
      'systemctl daemon-reload && systemctl enable "$1" && systemctl restart "$1"',
      "netpersona-start",
      unit,
    ]);
    return;
  }
  await ssh.run(supervisorStartArgv(spec));
}

/** The supervisor's start command (hosts without systemd), one remote command: stops a previous supervisor of
 *  this install, then `env K=V node netpersona-supervisor.js ... -- node <agentArgs>` (the supervisor and the
 *  agent it starts and restarts get the malloc settings, the agent its node flags). The benchmarks' peers
 *  (Ansible, xargs, the sequential script) start their agents with this same command. */
export function supervisorStartArgv(spec: InstallSpec): string[] {
  const d = spec.installDir;
  return restartArgv(`${d}/supervisor.pid`, [
    "env",
    ...agentEnvAssignments(),
    spec.nodePath,
    `${d}/netpersona-supervisor.js`,
    "--pid-file",
    `${d}/supervisor.pid`,
    "--log-file",
    `${d}/agent.log`,
    "--",
    spec.nodePath,
    ...agentArgs(spec),
  ]);
}

/** Stops the agent; the host's network state is left as it is. Idempotent. */
export async function stopService(ssh: SshSession, spec: InstallSpec): Promise<void> {
  if (spec.serviceManager === "systemd") {
    await ssh.run(["systemctl", "disable", "--now", `${spec.unitName}.service`], { check: false });
    await ssh.run(["rm", "-f", `/etc/systemd/system/${spec.unitName}.service`]);
    await ssh.run(["systemctl", "daemon-reload"], { check: false });
    return;
  }
  const pidFile = `${spec.installDir}/supervisor.pid`;
  const pid = (await ssh.run(["cat", pidFile], { check: false })).stdout.trim();
  if (!/^\d+$/.test(pid)) return;
  // Only the supervisor of this install: a stale pid file must not make root kill whatever reuses the pid.
  const cmdline = (await ssh.run(["cat", `/proc/${pid}/cmdline`], { check: false })).stdout.split("\0");
  const ours = cmdline.some((a) => a.endsWith("/netpersona-supervisor.js")) && cmdline.includes(pidFile);
  if (!ours) return;
  await ssh.run(["kill", "-TERM", pid], { check: false });
  for (let i = 0; i < 100; i++) {
    if ((await ssh.run(["kill", "-0", pid], { check: false })).code !== 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await ssh.run(["kill", "-KILL", pid], { check: false });
}

/** Refuses (before the agent is stopped) to go on when installDir or stateDir is not the agent's. */
export async function assertRemovable(ssh: SshSession, spec: InstallSpec): Promise<string[]> {
  return removableDirs(ssh, { installDir: spec.installDir, stateDir: spec.stateDir });
}

/** The owner records of installDir and stateDir (owner.ts), in one remote command. */
export async function readOwners(
  ssh: SshSession,
  spec: Pick<InstallSpec, "installDir" | "stateDir">,
): Promise<{ installDir?: OwnerRecord; stateDir?: OwnerRecord }> {
  const dirs = [spec.installDir, spec.stateDir];
  const o = parseOwners((await ssh.run(ownersArgv(dirs), { check: false })).stdout, dirs);
  return { installDir: o[spec.installDir], stateDir: o[spec.stateDir] };
}

/** Removes everything the install wrote: only directories that carry its marker, never a system directory,
 *  and none of `keep` (directories another Agent owns). */
export async function removeFiles(ssh: SshSession, spec: InstallSpec, keep: string[] = []): Promise<void> {
  const dirs = (await assertRemovable(ssh, spec)).filter((d) => !keep.includes(d));
  if (dirs.length > 0) await ssh.run(["rm", "-rf", "--one-file-system", "--", ...dirs]);
}
