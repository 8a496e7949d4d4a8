// The agent's htb qdisc (handle 4e50:) on egress devices: one class per htb priority the persona uses, fed by
// `meta priority set 4e50:1P` in the agent's nft table. Only a kernel-default root qdisc is ever replaced.
import { checkIfname } from "../../util/names";
import { run } from "../../util/exec";
import { commandAction, type Action } from "./actions";
import { HTB_MAJOR, htbClassId } from "./nft";

export interface HtbState {
  dev: string;
  /** The htb priority (0-7) of the persona's class. */
  priority: number;
}

export interface RootQdisc {
  dev: string;
  kind: string;
  handle: string;
}

const DEFAULT_CLASS = `${HTB_MAJOR}:20`;
const PARENT_CLASS = `${HTB_MAJOR}:1`;

async function rootQdiscs(netns?: string): Promise<RootQdisc[]> {
  const res = await run(["tc", "-j", "qdisc", "show"], { netns });
  const all = JSON.parse(res.stdout || "[]") as {
    dev: string;
    kind: string;
    handle: string;
    root?: boolean;
  }[];
  return all.filter((q) => q.root).map((q) => ({ dev: q.dev, kind: q.kind, handle: q.handle }));
}

const isOurs = (q: RootQdisc) => q.kind === "htb" && q.handle === `${HTB_MAJOR}:`;

/** The agent's htb qdiscs, one entry per device, with the persona class they carry. */
export async function readHtb(netns?: string): Promise<HtbState[]> {
  const out: HtbState[] = [];
  for (const q of (await rootQdiscs(netns)).filter(isOurs)) {
    const res = await run(["tc", "class", "show", "dev", q.dev], { netns });
    const prios = [...res.stdout.matchAll(/^class htb (\S+) parent \S+ (?:leaf \S+ )?prio (\d)/gm)]
      .filter((m) => m[1] !== DEFAULT_CLASS)
      .map((m) => Number(m[2]));
    out.push({ dev: q.dev, priority: prios.length === 1 ? prios[0] : -1 });
  }
  return out.sort((a, b) => (a.dev < b.dev ? -1 : 1));
}

/** Argument vectors that build the agent's qdisc on `dev` with one class of priority `priority`. */
export function htbCommands(dev: string, priority: number): string[][] {
  checkIfname("htb device", dev);
  if (!Number.isInteger(priority) || priority < 0 || priority > 7) {
    throw new Error(`qos.htbPriority: ${priority} is not a whole number between 0 and 7`);
  }
  const tc = (...a: string[]) => ["tc", ...a];
  // One htb class under `parent`: a guaranteed rate, borrowing up to 10gbit.
  const cls = (parent: string, classid: string, rate: string, ...rest: string[]) => [
    ...tc("class", "replace", "dev", dev, "parent", parent, "classid", classid),
    ...["htb", "rate", rate, "ceil", "10gbit", ...rest],
  ];
  return [
    tc("qdisc", "replace", "dev", dev, "root", "handle", `${HTB_MAJOR}:`, "htb", "default", "20"),
    cls(`${HTB_MAJOR}:`, PARENT_CLASS, "10gbit"),
    cls(PARENT_CLASS, htbClassId(priority), "1mbit", "prio", String(priority)),
    cls(PARENT_CLASS, DEFAULT_CLASS, "1mbit", "prio", "7"),
  ];
}

/** Actions that make the agent's qdiscs exactly `desired` (one per device), removing the others. */
export async function planHtb(desired: readonly HtbState[], netns?: string): Promise<Action[]> {
  const [roots, current] = [await rootQdiscs(netns), await readHtb(netns)];
  return htbActions(desired, current, roots, netns);
}

/** The actions of `planHtb`, from the `current` agent qdiscs and every device's root qdisc (pure). */
export function htbActions(
  desired: readonly HtbState[],
  current: readonly HtbState[],
  roots: readonly RootQdisc[],
  netns?: string,
): Action[] {
  const actions: Action[] = [];
  const del = (dev: string) => ["tc", "qdisc", "del", "dev", dev, "root"];
  for (const d of desired) {
    const c = current.find((h) => h.dev === d.dev);
    if (c && c.priority === d.priority) continue;
    const root = roots.find((r) => r.dev === d.dev);
    if (root && !isOurs(root) && root.handle !== "0:") {
      throw new Error(
        `qos.htbPriority: device ${d.dev} has a root qdisc '${root.kind}' (handle ${root.handle}) that netpersona did not make; remove it or leave htbPriority unset`,
      );
    }
    // A class of another priority is removed by rebuilding the qdisc from scratch.
    if (c) actions.push(commandAction("qos", `reset htb on ${d.dev}`, del(d.dev), netns));
    for (const argv of htbCommands(d.dev, d.priority)) {
      actions.push(commandAction("qos", `htb priority ${d.priority} on ${d.dev}`, argv, netns));
    }
  }
  for (const c of current) {
    if (desired.some((d) => d.dev === c.dev)) continue;
    actions.push(commandAction("qos", `remove htb from ${c.dev}`, del(c.dev), netns));
  }
  return actions;
}
