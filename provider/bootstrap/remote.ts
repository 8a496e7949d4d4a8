// The bootstrap's remote commands, one round trip each: the preflight (node, the directories' ownership and
// modes, their owner records, free space, systemd) as ONE `sh -c` whose output the provider judges, and the start that stops a
// previous supervisor of this install and starts the new one. Values reach the script only as positional
// arguments (never spliced into its text), so the paths need no quoting beyond commandLine's.
import { OWNER_FILE, parseOwner, type OwnerRecord } from "./owner";
import { parseStats, STAT_FORMAT, type Stat } from "./paths";

/** Prints `owner|DIR|<the record, one line>` for each directory "$d" holding an owner record (a regular file). */
const OWNER_LINE = `o="$d/${OWNER_FILE}"
  if [ -f "$o" ] && [ ! -L "$o" ]; then printf 'owner|%s|' "$d"; head -c 4096 -- "$o" | tr -d '\\n'; echo; fi`;

/** $1 = node, $2 = installDir, $3.. = directories to check. Every output line is `tag|...`. */
const PREFLIGHT = `set -f
node="$1"; install="$2"; shift 2
v=$("$node" --version 2>/dev/null); echo "node|$?|$v"
walk() { printf '/\\n'; p=""; old=$IFS; IFS=/; for c in \${1#/}; do if [ -n "$c" ]; then p="$p/$c"; printf '%s\\n' "$p"; fi; done; IFS=$old; }
for d in "$@"; do
  for p in $(walk "$d"); do stat -c "s0|$d|${STAT_FORMAT}" -- "$p" 2>/dev/null; done
  r=$(readlink -m -- "$d"); echo "real|$d|$r"
  if [ -n "$r" ] && [ "$r" != "$d" ]; then
    for p in $(walk "$r"); do stat -c "s1|$d|${STAT_FORMAT}" -- "$p" 2>/dev/null; done
  fi
  ${OWNER_LINE}
done
probe=/
for p in $(walk "$install"); do if [ -d "$p" ]; then probe="$p"; fi; done
echo "probe|$probe"
df -Pk -- "$probe" 2>/dev/null | tail -n 1 | sed 's/^/df|/'
if [ -d /run/systemd/system ]; then echo "systemd|$(readlink /proc/1/ns/net)|$(readlink /proc/self/ns/net)"; fi
exit 0`;

export function preflightArgv(nodePath: string, installDir: string, dirs: string[]): string[] {
  return ["sh", "-c", PREFLIGHT, "netpersona-preflight", nodePath, installDir, ...dirs];
}

export interface PreflightListing {
  nodeCode: number;
  nodeVersion: string;
  dirs: Record<string, { stats: Stat[]; real: string; realStats: Stat[]; owner?: OwnerRecord }>;
  probe: string;
  freeKib: number;
  /** Whether systemd runs and shares our network namespace. */
  systemdHere: boolean;
}

export function parsePreflight(stdout: string, dirs: string[]): PreflightListing {
  const lines = stdout.split("\n").filter(Boolean);
  const rest = (tag: string) =>
    lines.filter((l) => l.startsWith(`${tag}|`)).map((l) => l.slice(tag.length + 1));
  const node = rest("node")[0]?.split("|") ?? ["127", ""];
  const out: PreflightListing = {
    nodeCode: Number(node[0]),
    nodeVersion: node.slice(1).join("|").trim(),
    dirs: {},
    probe: rest("probe")[0] ?? "/",
    freeKib: Number(rest("df")[0]?.trim().split(/\s+/)[3] ?? NaN),
    systemdHere: false,
  };
  for (const d of dirs) {
    const of = (tag: string) =>
      parseStats(
        rest(tag)
          .filter((l) => l.startsWith(`${d}|`))
          .map((l) => l.slice(d.length + 1)),
      );
    const real =
      rest("real")
        .find((l) => l.startsWith(`${d}|`))
        ?.slice(d.length + 1) ?? "";
    out.dirs[d] = { stats: of("s0"), real, realStats: of("s1"), owner: ownerOf(rest("owner"), d) };
  }
  const sd = rest("systemd")[0]?.split("|");
  out.systemdHere = sd !== undefined && sd[0] !== "" && sd[0] === sd[1];
  return out;
}

function ownerOf(lines: string[], d: string): OwnerRecord | undefined {
  return parseOwner(lines.find((l) => l.startsWith(`${d}|`))?.slice(d.length + 1));
}

/** $1.. = directories: the owner record of each (delete reads them before it stops or removes anything). */
const OWNERS = `for d in "$@"; do
  ${OWNER_LINE}
done
exit 0`;

export function ownersArgv(dirs: string[]): string[] {
  return ["sh", "-c", OWNERS, "netpersona-owners", ...dirs];
}

export function parseOwners(stdout: string, dirs: string[]): Record<string, OwnerRecord | undefined> {
  const lines = stdout
    .split("\n")
    .filter((l) => l.startsWith("owner|"))
    .map((l) => l.slice("owner|".length));
  return Object.fromEntries(dirs.map((d) => [d, ownerOf(lines, d)]));
}

/** $1 = the supervisor's pid file, $2.. = the start command. Stops the supervisor of this install (only when
 *  its cmdline is ours: a stale pid file must not make root kill whatever reuses the pid), then starts. */
const START = `pidf="$1"; shift
pid=$(cat -- "$pidf" 2>/dev/null)
case "$pid" in
  ''|*[!0-9]*) ;;
  *)
    if [ -r "/proc/$pid/cmdline" ] && tr '\\0' '\\n' <"/proc/$pid/cmdline" | grep -q '/netpersona-supervisor.js$' \\
      && tr '\\0' '\\n' <"/proc/$pid/cmdline" | grep -qxF -- "$pidf"; then
      kill -TERM "$pid" 2>/dev/null
      i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
      kill -KILL "$pid" 2>/dev/null
    fi;;
esac
exec "$@"`;

export function restartArgv(pidFile: string, start: string[]): string[] {
  return ["sh", "-c", START, "netpersona-start", pidFile, ...start];
}
