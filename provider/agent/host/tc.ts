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

interface RootQdisc {
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
  const tc = (...a: string[]) => ["tc", ...a];
  return [
    tc("qdisc", "replace", "dev", dev, "root", "handle", `${HTB_MAJOR}:`, "htb", "default", "20"),
    tc("class", "replace", "dev", dev, "parent", `${HTB_MAJOR}:`, "classid", PARENT_CLASS, "htb", "rate", "10gbit", "ceil", "10gbit"), // prettier-ignore
    tc("class", "replace", "dev", dev, "parent", PARENT_CLASS, "classid", htbClassId(priority), "htb", "rate", "1mbit", "ceil", "10gbit", "prio", String(priority)), // prettier-ignore
    tc("class", "replace", "dev", dev, "parent", PARENT_CLASS, "classid", DEFAULT_CLASS, "htb", "rate", "1mbit", "ceil", "10gbit", "prio", "7"), // prettier-ignore
  ];
}

/** Actions that make the agent's qdiscs exactly `want` (one per device), removing the others. */
export async function planHtb(want: readonly HtbState[], netns?: string): Promise<Action[]> {
  const roots = await rootQdiscs(netns);
  const have = await readHtb(netns);
  const actions: Action[] = [];
  for (const w of want) {
    const cur = have.find((h) => h.dev === w.dev);
    if (cur && cur.priority === w.priority) continue;
    const root = roots.find((r) => r.dev === w.dev);
    if (root && !isOurs(root) && root.handle !== "0:") {
      throw new Error(
        `qos.htbPriority: device ${w.dev} has a root qdisc '${root.kind}' (handle ${root.handle}) that netpersona did not make; remove it or leave htbPriority unset`,
      );
    }
    // A class of another priority is removed by rebuilding the qdisc from scratch.
    if (cur) actions.push(commandAction("qos", `reset htb on ${w.dev}`, ["tc", "qdisc", "del", "dev", w.dev, "root"], netns)); // prettier-ignore
    for (const argv of htbCommands(w.dev, w.priority)) {
      actions.push(commandAction("qos", `htb priority ${w.priority} on ${w.dev}`, argv, netns));
    }
  }
  for (const h of have) {
    if (want.some((w) => w.dev === h.dev)) continue;
    actions.push(
      commandAction("qos", `remove htb from ${h.dev}`, ["tc", "qdisc", "del", "dev", h.dev, "root"], netns),
    );
  }
  return actions;
}
