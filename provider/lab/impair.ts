// `lab impair`: real impairments on the router's links. The whole state (impairments.json) is rendered
// into the router namespace each time: one nft table of the lab's own, tc on each bridge, bridge MTUs.
import { run } from "../util/exec";
import { mergeImpairment, type ImpairOptions } from "./impair-spec";
import { checkPrivileges, checkTools } from "./preflight";
import { readImpairments, writeImpairments } from "./state";
import { requireInventory } from "./status";
import type { LabInventory, LabNetwork, LinkImpairment } from "./types";

/** The lab's own nftables table inside its router namespace. */
export const NFT_TABLE = "netpersona_lab";
const DEFAULT_MTU = 1500;

function net(inv: LabInventory, name: string): LabNetwork {
  const n = inv.networks.find((x) => x.name === name);
  if (!n) throw new Error(`lab '${inv.name}' has no network '${name}'`);
  return n;
}

/** The nft script (fed on stdin): replaces the table atomically with the rules of `list`. */
export function renderNft(inv: LabInventory, list: LinkImpairment[]): string {
  const forward: string[] = [];
  const input: string[] = [];
  const output: string[] = [];
  for (const l of list) {
    const a = net(inv, l.from);
    const b = net(inv, l.to);
    if (l.lossPercent) {
      // numgen's `mod 100` yields 0-99, so `< 100` is out of nft's range: a total loss is a plain drop.
      const share = l.lossPercent >= 100 ? "" : `numgen random mod 100 < ${l.lossPercent} `;
      forward.push(`iifname "${a.bridge}" oifname "${b.bridge}" ${share}drop`);
      input.push(`iifname "${a.bridge}" ip daddr ${b.cidr} ${share}drop`);
    }
    if (l.pmtuBlackhole) {
      output.push(`oifname "${a.bridge}" icmp type destination-unreachable icmp code frag-needed drop`);
    }
  }
  const chain = (name: string, hook: string, rules: string[]) =>
    `  chain ${name} {\n    type filter hook ${hook} priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join("")}  }\n`;
  const head = `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`;
  if (list.every((l) => !l.lossPercent && !l.pmtuBlackhole)) return head;
  return `${head}table inet ${NFT_TABLE} {\n${chain("forward", "forward", forward)}${chain("input", "input", input)}${chain("output", "output", output)}}\n`;
}

/** tc commands for the bridge towards `to`: htb classifies by source network, a tbf (or netem) per class. */
export function renderTc(inv: LabInventory, to: LabNetwork, list: LinkImpairment[]): string[][] {
  const dev = to.bridge;
  const cmds: string[][] = [];
  const shaped = list.filter((l) => l.to === to.name && (l.rateBitsPerSecond || l.delayMs));
  if (shaped.length === 0) return cmds;
  cmds.push(["qdisc", "add", "dev", dev, "root", "handle", "1:", "htb"]);
  for (const l of shaped) {
    const a = net(inv, l.from);
    const cls = `1:${a.index}`;
    cmds.push([
      "class",
      "add",
      "dev",
      dev,
      "parent",
      "1:",
      "classid",
      cls,
      "htb",
      "rate",
      "100gbit",
      "quantum",
      "60000",
    ]);
    if (l.delayMs) {
      const rate = l.rateBitsPerSecond ? ["rate", `${l.rateBitsPerSecond}bit`] : [];
      cmds.push([
        "qdisc",
        "add",
        "dev",
        dev,
        "parent",
        cls,
        "handle",
        `${a.index}0:`,
        "netem",
        "delay",
        `${l.delayMs}ms`,
        ...rate,
        "limit",
        "10000",
      ]);
    } else if (l.rateBitsPerSecond) {
      // A deep buffer (400 ms at the rate): under load the queue, and so the delay, grows.
      const burst = Math.max(3200, Math.round(l.rateBitsPerSecond / 8 / 100));
      cmds.push([
        "qdisc",
        "add",
        "dev",
        dev,
        "parent",
        cls,
        "handle",
        `${a.index}0:`,
        "tbf",
        "rate",
        `${l.rateBitsPerSecond}bit`,
        "burst",
        String(burst),
        "latency",
        "400ms",
      ]);
    }
    cmds.push([
      "filter",
      "add",
      "dev",
      dev,
      "parent",
      "1:",
      "protocol",
      "ip",
      "prio",
      String(a.index),
      "u32",
      "match",
      "ip",
      "src",
      a.cidr,
      "flowid",
      cls,
    ]);
  }
  return cmds;
}

/** Whether the netem qdisc exists in this kernel (tried on the router's loopback, then removed). */
export async function detectNetem(routerNetns: string): Promise<boolean> {
  const add = await run(
    ["tc", "-n", routerNetns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
    { check: false },
  );
  if (add.code !== 0) return false;
  await run(["tc", "-n", routerNetns, "qdisc", "del", "dev", "lo", "root"], { check: false });
  return true;
}

/** Makes the router's kernel state match `list`. */
export async function applyImpairments(inv: LabInventory, list: LinkImpairment[]): Promise<void> {
  const r = inv.router.netns;
  await run(["nft", "-f", "-"], { netns: r, input: renderNft(inv, list) });
  for (const n of inv.networks) {
    await run(["tc", "-n", r, "qdisc", "del", "dev", n.bridge, "root"], { check: false });
    for (const c of renderTc(inv, n, list)) await run(["tc", "-n", r, ...c]);
    const mtus = list.filter((l) => l.to === n.name && l.mtu).map((l) => l.mtu as number);
    await run(["ip", "-n", r, "link", "set", "dev", n.bridge, "mtu", String(Math.min(DEFAULT_MTU, ...mtus))]);
  }
}

/** Applies one `lab impair` call; returns every impairment of the lab afterwards. */
export async function labImpair(name: string, opts: ImpairOptions): Promise<LinkImpairment[]> {
  await checkPrivileges("lab impair");
  await checkTools(["ip", "tc", "nft"], false);
  const inv = await requireInventory(name);
  const next = mergeImpairment(inv, await readImpairments(name), opts);
  if (next.some((l) => l.delayMs) && !(await detectNetem(inv.router.netns))) {
    throw new Error(
      "--delay needs the netem qdisc, which this kernel does not have ('Specified qdisc kind is unknown'): " +
        "use --rate (tbf with a deep buffer: delay grows from queueing under load) or a kernel with sch_netem",
    );
  }
  await applyImpairments(inv, next);
  await writeImpairments(name, next);
  return next;
}
