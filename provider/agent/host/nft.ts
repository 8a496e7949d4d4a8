// The agent's own nftables table (`table inet netpersona`): DSCP marks for one RFC 4594 class, optionally on a
// flow-consistent share of TCP flows, optionally with an htb priority. Never touches any other table.
import { QOS_CLASSES, QOS_CLASS_NAMES, type QosClass } from "../../persona/schema";
import { run } from "../../util/exec";

export const NFT_TABLE = "netpersona";
/** The tc handle (major) of the agent's htb qdisc; classes 4e50:10..4e50:17 are htb priorities 0..7. */
export const HTB_MAJOR = "4e50";

export interface QosState {
  class: QosClass;
  /** Percentage (1-100) of TCP flows marked; 100 marks every packet. */
  share: number;
  htbPriority?: number;
}

/** nft's DSCP symbols (it prints marks by name): class selectors CSn = 8n (RFC 2474), assured forwarding
 *  AFxy = 8x + 2y (RFC 2597), and EF, VOICE-ADMIT, LE. */
const DSCP_SYMBOLS: Record<string, number> = Object.fromEntries([
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => [`cs${n}`, 8 * n]),
  ...[1, 2, 3, 4].flatMap((x) => [1, 2, 3].map((y) => [`af${x}${y}`, 8 * x + 2 * y])),
  ["ef", 46],
  ["va", 44],
  ["lephb", 1],
]);

export function htbClassId(priority: number): string {
  return `${HTB_MAJOR}:${(0x10 + priority).toString(16)}`;
}

function checkState(q: QosState): void {
  if (!QOS_CLASS_NAMES.includes(q.class)) throw new Error(`qos.class: unknown class '${q.class}'`);
  if (!Number.isInteger(q.share) || q.share < 1 || q.share > 100) {
    throw new Error(`qos share: ${q.share} is not a whole percentage between 1 and 100`);
  }
  if (
    q.htbPriority !== undefined &&
    !(Number.isInteger(q.htbPriority) && q.htbPriority >= 0 && q.htbPriority <= 7)
  ) {
    throw new Error(`qos.htbPriority: ${q.htbPriority} is not a whole number between 0 and 7`);
  }
}

/** The nft script that replaces the agent's table atomically (create, delete, define in one transaction), or
 *  deletes it when `q` is null. Built from validated numbers and names only. */
export function renderNft(q: QosState | null): string {
  const lines = [`table inet ${NFT_TABLE} {`, `}`, `delete table inet ${NFT_TABLE}`];
  if (!q) return `${lines.join("\n")}\n`;
  checkState(q);
  const dscp = QOS_CLASSES[q.class].dscp;
  const prio = q.htbPriority !== undefined ? ` meta priority set ${htbClassId(q.htbPriority)}` : "";
  const rules = (["ip", "ip6"] as const).map((fam) => {
    const nfproto = fam === "ip" ? "ipv4" : "ipv6";
    const split =
      q.share < 100 ? ` meta l4proto tcp jhash ${fam} daddr . tcp sport mod 100 < ${q.share}` : "";
    return `    meta nfproto ${nfproto}${split} ${fam} dscp set ${dscp}${prio}`;
  });
  lines.push(
    `table inet ${NFT_TABLE} {`,
    `  chain output {`,
    `    type filter hook output priority mangle; policy accept;`,
    ...rules,
    `  }`,
    `}`,
  );
  return `${lines.join("\n")}\n`;
}

type Json = Record<string, unknown>;

/** One rule read back: [ip family, share, dscp, priority]; undefined when the rule is not one the agent writes. */
function parseRule(expr: Json[]): { fam: string; share: number; dscp: number; prio?: string } | undefined {
  let share = 100;
  let fam: string | undefined;
  let dscp: number | undefined;
  let prio: string | undefined;
  for (const e of expr) {
    const match = e.match as Json | undefined;
    const mangle = e.mangle as Json | undefined;
    if (match && (match.left as Json)?.jhash && match.op === "<" && typeof match.right === "number") {
      const jh = (match.left as Json).jhash as Json;
      if (jh.mod !== 100) return undefined;
      share = match.right;
    } else if (mangle && ((mangle.key as Json)?.payload as Json)?.field === "dscp") {
      fam = String(((mangle.key as Json).payload as Json).protocol);
      const v = mangle.value;
      dscp = typeof v === "number" ? v : DSCP_SYMBOLS[String(v)];
    } else if (mangle && ((mangle.key as Json)?.meta as Json)?.key === "priority") {
      prio = String(mangle.value);
    } else {
      return undefined;
    }
  }
  if (!fam || dscp === undefined) return undefined;
  return { fam, share, dscp, prio };
}

/** Reads the agent's table. `null` when it is absent; `"foreign"` when it holds something the agent did not
 *  write (the next apply replaces it). */
export async function readNft(netns?: string): Promise<QosState | null | "foreign"> {
  const res = await run(["nft", "-j", "list", "table", "inet", NFT_TABLE], { netns, check: false });
  if (res.code !== 0) {
    if (/No such file or directory/.test(res.stderr)) return null;
    throw new Error(`nft list table inet ${NFT_TABLE} failed: ${res.stderr.trim()}`);
  }
  return parseNft(res.stdout);
}

/** The agent's table from `nft -j list table inet netpersona`; `"foreign"` when it holds something the agent
 *  did not write. */
export function parseNft(json: string): QosState | "foreign" {
  const items = (JSON.parse(json) as { nftables: Json[] }).nftables;
  const chains = items.filter((i) => i.chain).map((i) => i.chain as Json);
  const rules = items.filter((i) => i.rule).map((i) => parseRule(((i.rule as Json).expr as Json[]) ?? []));
  if (
    chains.length !== 1 ||
    chains[0].name !== "output" ||
    chains[0].hook !== "output" ||
    chains[0].prio !== -150
  ) {
    return "foreign";
  }
  if (rules.length !== 2 || rules.some((r) => !r) || rules[0]?.fam !== "ip" || rules[1]?.fam !== "ip6")
    return "foreign";
  const [a, b] = rules as NonNullable<(typeof rules)[number]>[];
  if (a.share !== b.share || a.dscp !== b.dscp || a.prio !== b.prio) return "foreign";
  const cls = QOS_CLASS_NAMES.find((c) => QOS_CLASSES[c].dscp === a.dscp);
  if (!cls) return "foreign";
  const prio = a.prio === undefined ? undefined : [...Array(8).keys()].find((p) => htbClassId(p) === a.prio);
  if (a.prio !== undefined && prio === undefined) return "foreign";
  return { class: cls, share: a.share, ...(prio !== undefined && { htbPriority: prio }) };
}

export async function writeNft(q: QosState | null, netns?: string): Promise<void> {
  await run(["nft", "-f", "-"], { netns, input: renderNft(q) });
}

export function sameQos(current: QosState | null | "foreign", desired: QosState | null): boolean {
  if (current === "foreign") return false;
  return JSON.stringify(current) === JSON.stringify(desired);
}
