// The agent's directories on a host, kept safe: the agent runs as root, so whoever can write to its install
// or state directory (or to any directory above them) could replace the code root runs, read its key, or
// plant `supervisor.pid` so that root kills a process of their choice. Before anything is written, every
// component of both paths must be owned by root and writable only by root. A directory is deleted only when
// it carries the marker file the install wrote, and never when it is a system directory.
import type { SshSession } from "../ssh/connection";

/** Written into installDir and stateDir by the install; delete removes only directories that carry it. */
export const MARKER = ".netpersona-agent";

/** Directories an Agent may never use as installDir or stateDir (deleting the Agent removes them). */
export const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/snap",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/lib64",
  "/usr/libexec",
  "/usr/local",
  "/usr/local/bin",
  "/usr/local/lib",
  "/usr/local/sbin",
  "/usr/sbin",
  "/usr/share",
  "/var",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/run",
  "/var/spool",
  "/var/tmp",
  "/etc/ssh",
  "/etc/systemd",
  "/etc/systemd/system",
]);

/** Trees no agent directory may live in (kernel views, shared scratch space). */
const SYSTEM_TREES = ["/proc/", "/sys/", "/dev/", "/tmp/", "/var/tmp/"];

/** Why `path` may not be an agent directory, or undefined when it may. */
export function systemDirReason(path: string): string | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (SYSTEM_DIRS.has(p)) {
    return `${p} is a system directory, and deleting the Agent removes this directory: give the agent a directory of its own, e.g. /opt/netpersona or /var/lib/netpersona`;
  }
  const tree = SYSTEM_TREES.find((t) => p.startsWith(t));
  if (tree) {
    return `${p} is under ${tree.slice(0, -1)}, which is not a place for the agent's files: use a directory of its own, e.g. /opt/netpersona or /var/lib/netpersona`;
  }
  return undefined;
}

export function prefixes(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return ["/", ...parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)];
}

export interface Stat {
  path: string;
  uid: number;
  owner: string;
  mode: number;
  type: string;
}

/** The stat format the checks read: `%u|%U|%a|%F|%n`. */
export const STAT_FORMAT = "%u|%U|%a|%F|%n";

/** Lines of `stat -c STAT_FORMAT` (missing components print nothing). */
export function parseStats(lines: readonly string[]): Stat[] {
  return lines.filter(Boolean).map((line) => {
    const [uid, owner, mode, type, ...name] = line.split("|");
    return { path: name.join("|"), uid: Number(uid), owner, mode: parseInt(mode, 8), type };
  });
}

async function statAll(ssh: SshSession, paths: string[]): Promise<Stat[]> {
  // Missing components (created later by the install) make stat fail for them only: check: false.
  const r = await ssh.run(["stat", "-c", STAT_FORMAT, "--", ...paths], { check: false });
  return parseStats(r.stdout.split("\n"));
}

/** What is wrong with the first component a user other than root could change, and whether one is a link. */
export function judgeComponents(stats: readonly Stat[]): { bad?: string; hasLink: boolean } {
  let hasLink = false;
  for (const s of stats) {
    const mode = (s.mode & 0o7777).toString(8).padStart(4, "0");
    const what = `${s.path} is owned by ${s.owner} (uid ${s.uid}) with mode ${mode}`;
    if (s.uid !== 0) return { bad: `${what}: it is not owned by root`, hasLink };
    if (s.type === "symbolic link") {
      hasLink = true;
      continue;
    }
    if (s.mode & 0o022) {
      const who = [s.mode & 0o020 && "its group", s.mode & 0o002 && "every user"]
        .filter(Boolean)
        .join(" and ");
      return { bad: `${what}: it is writable by ${who}`, hasLink };
    }
  }
  return { hasLink };
}

/** The first component of `path` (or of its resolved form, when a component is a symbolic link) that a
 *  user other than root could change, with what is wrong with it. */
async function unsafeComponent(ssh: SshSession, path: string, depth = 0): Promise<string | undefined> {
  const { bad, hasLink } = judgeComponents(await statAll(ssh, prefixes(path)));
  if (bad) return bad;
  if (!hasLink || depth > 0) return undefined;
  const real = (await ssh.run(["readlink", "-m", "--", path])).stdout.trim();
  return real && real !== path ? unsafeComponent(ssh, real, depth + 1) : undefined;
}

/** Refuses (before anything is written) an install or state directory that a non-root user could change. */
export async function assertSafeDirs(ssh: SshSession, dirs: Record<string, string>): Promise<void> {
  for (const [field, path] of Object.entries(dirs)) {
    const bad = await unsafeComponent(ssh, path);
    if (bad) throw unsafeDirError(field, path, bad, ssh.target);
  }
}

/** The same check from a listing taken in one command: the stats of `path`'s components, its resolved form
 *  (readlink -m) and the stats of that form's components. */
export function assertSafeListing(
  target: string,
  field: string,
  path: string,
  l: { stats: Stat[]; real: string; realStats: Stat[] },
): void {
  const first = judgeComponents(l.stats);
  const bad =
    first.bad ?? (first.hasLink && l.real && l.real !== path ? judgeComponents(l.realStats).bad : undefined);
  if (bad) throw unsafeDirError(field, path, bad, target);
}

function unsafeDirError(field: string, path: string, bad: string, target: string): Error {
  const comp = bad.split(" ")[0];
  return new Error(
    `${field} ${path} is not safe on ${target}: ${bad}, so a user other than root could replace the agent's files (run as root), read its key or plant its pid file. Fix it (chown root:root ${comp} && chmod go-w ${comp}) or set ${field} to a directory whose every component is owned by root and writable only by root, e.g. /opt/netpersona`,
  );
}

/** Refuses to delete a directory that is not the agent's: a system directory, a symbolic link, or one without
 *  the marker file. Directories that no longer exist are left out of the result. */
export async function removableDirs(ssh: SshSession, dirs: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const [field, path] of Object.entries(dirs)) {
    const system = systemDirReason(path);
    if (system) throw new Error(`refusing to delete ${field} on ${ssh.target}: ${system}`);
    if ((await ssh.run(["test", "-L", path], { check: false })).code === 0) {
      throw new Error(
        `refusing to delete ${field} ${path} on ${ssh.target}: it is a symbolic link, not the directory the install made`,
      );
    }
    if ((await ssh.run(["test", "-e", path], { check: false })).code !== 0) continue;
    const marker = `${path}/${MARKER}`;
    const isFile = await ssh.run(["test", "-f", marker], { check: false });
    const isLink = await ssh.run(["test", "-L", marker], { check: false });
    if (isFile.code !== 0 || isLink.code === 0) {
      throw new Error(
        `refusing to delete ${field} ${path} on ${ssh.target}: it has no ${MARKER} marker file, so the netpersona install did not make it (or made it before markers existed). If it really is only the agent's, create the marker (touch ${marker}) and delete again; otherwise remove the Agent from the stack without touching the host (pulumi state delete URN)`,
      );
    }
    out.push(path);
  }
  return out;
}
