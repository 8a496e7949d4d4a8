// Who else owns the host's interfaces: NetworkManager, systemd-networkd and netplan, found by their running
// daemons (/proc/*/comm) and their configuration files, and which interfaces their configuration names. A
// manager that runs and names an interface re-applies its own routes, MTU and DNS there (on a reapply, a link
// change, a DHCP renewal) and so may revert what a persona set with ip/nft behind its back: `revertWarnings`
// says so in plain words, for GetInfo, the Agent's outputs and the preview plan. Read-only; runs no command.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { parse as parseYaml } from "yaml";

import type { Persona } from "../../persona/schema";

export type ManagerName = "NetworkManager" | "systemd-networkd" | "netplan";

export interface NetworkManagerInfo {
  name: ManagerName;
  /** Its daemon runs now (netplan has none: whether its renderer's daemon runs). */
  running: boolean;
  /** Configuration files found, absolute paths (under `root` as given). */
  configFiles: string[];
  /** Interfaces its configuration names (glob patterns of networkd/netplan resolved against `interfaces`). */
  interfaces: string[];
  /** netplan: the renderer ("networkd" or "NetworkManager"); otherwise "". */
  renderer: string;
  /** Plain findings, e.g. "eth1 listed in unmanaged-devices". */
  notes: string[];
}

export interface DetectOptions {
  /** Root of the file system to read (tests give a fixture directory); default "/". */
  root?: string;
  /** The host's interfaces (names); glob matches are resolved against them. */
  interfaces: string[];
  /** Command names of the running processes; default: /proc/[pid]/comm. */
  processes?: () => Promise<string[]>;
}

async function files(dir: string, suffix: RegExp): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => suffix.test(n))
    .sort()
    .map((n) => join(dir, n));
}

const text = (path: string) => readFile(path, "utf8").catch(() => "");

/** Command names of every process (/proc/[pid]/comm; 15 characters at most: "systemd-network"). */
export async function runningCommands(): Promise<string[]> {
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  const names = await Promise.all(pids.map((p) => text(`/proc/${p}/comm`)));
  return names.map((n) => n.trim()).filter(Boolean);
}

/** fnmatch-style glob (`*`, `?`, `[...]`) as systemd and netplan use it for interface names. */
export function globMatch(pattern: string, name: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(name);
}

/** `key=value` lines of one [section] of an ini/keyfile text (the last value of a repeated key wins). */
export function iniSection(textIn: string, section: string): Map<string, string> {
  const out = new Map<string, string>();
  let inside = false;
  for (const raw of textIn.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || line.startsWith(";") || line === "") continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      inside = head[1].trim() === section;
      continue;
    }
    const kv = /^([^=]+)=(.*)$/.exec(line);
    if (inside && kv) out.set(kv[1].trim(), kv[2].trim());
  }
  return out;
}

async function networkManager(
  root: string,
  ifs: string[],
  procs: string[],
): Promise<NetworkManagerInfo | undefined> {
  const conf = [
    ...(await files(join(root, "etc/NetworkManager"), /^NetworkManager\.conf$/)),
    ...(await files(join(root, "etc/NetworkManager/conf.d"), /\.conf$/)),
  ];
  const profiles = [
    ...(await files(join(root, "etc/NetworkManager/system-connections"), /\.nmconnection$/)),
    ...(await files(join(root, "run/NetworkManager/system-connections"), /\.nmconnection$/)),
  ];
  const running = procs.includes("NetworkManager");
  if (conf.length === 0 && profiles.length === 0 && !running) return undefined;
  const notes: string[] = [];
  const named = new Set<string>();
  for (const p of profiles) {
    const name = iniSection(await text(p), "connection").get("interface-name");
    if (name) named.add(name);
  }
  const unmanaged = new Set<string>();
  for (const c of conf) {
    const v = iniSection(await text(c), "keyfile").get("unmanaged-devices") ?? "";
    for (const spec of v.split(/[;,]/).map((s) => s.trim())) {
      const m = /^interface-name:(.+)$/.exec(spec);
      if (m) for (const i of ifs) if (globMatch(m[1], i)) unmanaged.add(i);
    }
  }
  for (const u of [...unmanaged].sort()) notes.push(`${u} is listed in unmanaged-devices`);
  const interfaces = ifs.filter((i) => named.has(i) && !unmanaged.has(i));
  if (running) {
    const others = ifs.filter((i) => !named.has(i) && !unmanaged.has(i) && i !== "lo");
    if (others.length > 0)
      notes.push(
        `no profile names ${others.join(", ")}: NetworkManager still manages a device it is not told to leave alone (it may create an automatic connection)`,
      );
  }
  return {
    name: "NetworkManager",
    running,
    configFiles: [...conf, ...profiles],
    interfaces,
    renderer: "",
    notes,
  };
}

async function networkd(
  root: string,
  ifs: string[],
  procs: string[],
): Promise<NetworkManagerInfo | undefined> {
  // /etc overrides /run overrides /usr/lib and /lib for a file of the same name; all of them count here.
  const dirs = [
    "etc/systemd/network",
    "run/systemd/network",
    "usr/lib/systemd/network",
    "lib/systemd/network",
  ];
  const units = (await Promise.all(dirs.map((d) => files(join(root, d), /\.network$/)))).flat();
  const running = procs.includes("systemd-network") || procs.includes("systemd-networkd");
  if (units.length === 0 && !running) return undefined;
  const managed = new Set<string>();
  const notes: string[] = [];
  for (const u of units) {
    const names = (iniSection(await text(u), "Match").get("Name") ?? "").split(/\s+/).filter(Boolean);
    const hits = ifs.filter((i) => names.some((n) => globMatch(n, i)));
    hits.forEach((h) => managed.add(h));
    if (hits.length > 0) notes.push(`${u} matches ${hits.join(", ")}`);
  }
  return {
    name: "systemd-networkd",
    running,
    configFiles: units,
    interfaces: ifs.filter((i) => managed.has(i)),
    renderer: "",
    notes,
  };
}

const NETPLAN_KINDS = ["ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels", "vrfs"] as const;

async function netplan(
  root: string,
  ifs: string[],
  procs: string[],
): Promise<NetworkManagerInfo | undefined> {
  const dirs = ["etc/netplan", "run/netplan", "lib/netplan", "usr/lib/netplan"];
  const yamls = (await Promise.all(dirs.map((d) => files(join(root, d), /\.ya?ml$/)))).flat();
  if (yamls.length === 0) return undefined;
  const managed = new Set<string>();
  const notes: string[] = [];
  let renderer = "networkd";
  for (const y of yamls) {
    let doc: { network?: Record<string, unknown> } | undefined;
    try {
      doc = parseYaml(await text(y)) as typeof doc;
    } catch (err) {
      notes.push(`${y} is not valid YAML (${(err as Error).message.split("\n")[0]})`);
      continue;
    }
    const net = doc?.network ?? {};
    if (typeof net.renderer === "string") renderer = net.renderer;
    for (const kind of NETPLAN_KINDS) {
      const defs = (net[kind] ?? {}) as Record<string, { match?: { name?: string }; "set-name"?: string }>;
      for (const [id, d] of Object.entries(defs)) {
        const pattern = d?.["set-name"] ?? d?.match?.name ?? (d?.match ? undefined : id);
        if (!pattern) continue;
        ifs.filter((i) => globMatch(pattern, i)).forEach((i) => managed.add(i));
      }
    }
  }
  const daemon = renderer === "NetworkManager" ? "NetworkManager" : "systemd-network";
  const running =
    procs.includes(daemon) || (daemon === "systemd-network" && procs.includes("systemd-networkd"));
  notes.push(
    `netplan renders to ${renderer === "NetworkManager" ? "NetworkManager" : "systemd-networkd"} (${running ? "running" : "not running"}); \`netplan apply\` re-applies its files`,
  );
  return {
    name: "netplan",
    running,
    configFiles: yamls,
    interfaces: ifs.filter((i) => managed.has(i)),
    renderer,
    notes,
  };
}

/** Every manager found on the host (none: an empty list). */
export async function detectManagers(o: DetectOptions): Promise<NetworkManagerInfo[]> {
  const root = o.root ?? "/";
  const procs = await (o.processes ?? runningCommands)();
  const found = await Promise.all([
    networkManager(root, o.interfaces, procs),
    networkd(root, o.interfaces, procs),
    netplan(root, o.interfaces, procs),
  ]);
  return found.filter((m): m is NetworkManagerInfo => m !== undefined);
}

/** The fields of `persona` a manager re-applies on its interfaces (routes carry congestion control and the
 *  route MTU; the link MTU; DNS). QoS marks live in the agent's own nft table, which none of them touches. */
function revertableFields(p: Persona): string[] {
  const f: string[] = [];
  if (p.routes) f.push("routes");
  if (p.congestionControl) f.push("congestionControl (a per-route congctl)");
  if (p.mtu !== undefined) f.push(p.mtuScope === "route" ? "mtu (a per-route mtu lock)" : "mtu (the link's)");
  if (p.dns) f.push("dns");
  return f;
}

/** One warning per running manager that names one of `interfaces` (the persona's egress devices), saying what
 *  it may revert and what to do; none when the persona touches nothing a manager owns. */
export function revertWarnings(
  managers: NetworkManagerInfo[],
  interfaces: string[],
  persona?: Persona,
): string[] {
  const fields = persona ? revertableFields(persona) : ["routes", "mtu", "dns"];
  if (fields.length === 0) return [];
  const out: string[] = [];
  for (const m of managers) {
    const mine = m.interfaces.filter((i) => interfaces.includes(i));
    if (!m.running || mine.length === 0) continue;
    const via =
      m.name === "netplan"
        ? ` (through ${m.renderer === "NetworkManager" ? "NetworkManager" : "systemd-networkd"})`
        : "";
    const fmt = m.name === "NetworkManager" ? "nmstate" : m.name === "netplan" ? "netplan" : "networkd";
    out.push(
      `warning: ${m.name}${via} runs and manages ${mine.join(", ")}: on a reapply, a link change or a DHCP renewal it sets its own configuration there again and may revert this persona's ${fields.join(", ")}. Give it the same settings (netpersona export --format ${fmt}) or leave ${mine.join(", ")} to netpersona`,
    );
  }
  return out;
}

/** The device of the IPv4 default route (/proc/net/route), if any. */
export async function defaultRouteDevices(): Promise<string[]> {
  const lines = (await text("/proc/net/route")).split("\n").slice(1);
  const devs = lines
    .map((l) => l.split("\t"))
    .filter((c) => c[1] === "00000000" && c[7] === "00000000")
    .map((c) => c[0]);
  return [...new Set(devs)].sort();
}

/** The interfaces a persona changes: its preferred device and prefix devices, else the default route's. */
export async function personaInterfaces(p: Persona): Promise<string[]> {
  const named = [p.routes?.preferredDevice, ...(p.routes?.prefixes ?? []).map((h) => h.dev)].filter(
    (d): d is string => !!d,
  );
  return [...new Set([...named, ...(await defaultRouteDevices())])].sort();
}
