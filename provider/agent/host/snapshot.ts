// Snapshot and exact restore of everything a persona can touch: main-table routes, link MTUs, the agent's nft
// table, the agent's htb qdiscs, the congestion control sysctl and the resolv.conf file.
import { run } from "../../util/exec";
import { readResolvFile, restoreResolvFile, type ResolvFile } from "./dns";
import { readResolved, writeResolved, type ResolvedLink } from "./dns-resolved";
import { planCcSysctl, planLinkMtu, readCcSysctl, readLinks, type LinkMtu } from "./links";
import { readNft, sameQos, writeNft, type QosState } from "./nft";
import { readRoutes, renderRoute, routeKey, sameRoute, type Route } from "./routes";
import { egressDevices, type DnsBackend } from "./state";
import { planHtb, readHtb, type HtbState } from "./tc";

export interface Snapshot {
  version: 1;
  netns: string | null;
  resolvConfPath: string;
  routes: Route[];
  links: LinkMtu[];
  nft: QosState | null;
  htb: HtbState[];
  ccSysctl: string;
  resolv: ResolvFile;
  /** The egress link's systemd-resolved servers and domains, where resolved manages DNS. */
  resolved?: ResolvedLink;
}

/** Routes that follow the addresses of the links (the kernel adds and removes them): never rewritten. */
const followsAddress = (r: Route) => r.protocol === "kernel";

export async function takeSnapshot(
  netns: string | undefined,
  resolvConfPath: string,
  dnsBackend: DnsBackend = "file",
): Promise<Snapshot> {
  const [r4, r6, links, nft, htb, cc, resolv] = await Promise.all([
    readRoutes(4, netns),
    readRoutes(6, netns),
    readLinks(netns),
    readNft(netns),
    readHtb(netns),
    readCcSysctl(netns),
    readResolvFile(resolvConfPath),
  ]);
  if (nft === "foreign") {
    throw new Error("snapshot: table inet netpersona holds rules the agent did not write; remove it first");
  }
  const routes = [...r4, ...r6];
  // Fail now, before any change, rather than at restore time.
  for (const r of routes.filter((x) => !followsAddress(x))) renderRoute(r);
  const link = dnsBackend === "resolved" ? egressDevices({ mtuScope: "route" }, routes)[0] : undefined;
  const resolved = link ? await readResolved(link) : undefined;
  return {
    version: 1,
    netns: netns ?? null,
    resolvConfPath,
    routes,
    links,
    nft,
    htb,
    ccSysctl: cc.value,
    resolv,
    ...(resolved && { resolved }),
  };
}

export function asSnapshot(value: unknown): Snapshot {
  const s = value as Snapshot;
  if (!s || s.version !== 1 || !Array.isArray(s.routes) || !Array.isArray(s.links) || !s.resolv) {
    throw new Error("not a netpersona host snapshot (version 1)");
  }
  return s;
}

/** Restoring, the snapshot is the desired state. */
async function restoreRoutes(snap: Snapshot, netns?: string): Promise<void> {
  const current = [...(await readRoutes(4, netns)), ...(await readRoutes(6, netns))];
  const byKey = new Map(current.map((r) => [routeKey(r), r]));
  const desired = snap.routes.filter((r) => !followsAddress(r));
  // Link-scope routes first: gateways of the others may depend on them.
  desired.sort((a, b) => Number(a.scope !== "link") - Number(b.scope !== "link"));
  for (const r of desired) {
    const c = byKey.get(routeKey(r));
    if (!c || !sameRoute(c, r)) await run(renderRoute(r), { netns });
  }
  const keep = new Set(snap.routes.map(routeKey));
  for (const r of current) {
    if (!followsAddress(r) && !keep.has(routeKey(r))) await run(renderRoute(r, "del"), { netns });
  }
}

/** Puts the host back exactly as in `snap`, then checks it by taking a new snapshot. */
export async function restoreSnapshot(snap: Snapshot): Promise<void> {
  const netns = snap.netns ?? undefined;
  const links = await readLinks(netns);
  const present = snap.links.filter((l) => links.some((c) => c.name === l.name));
  for (const a of planLinkMtu(present, links, netns)) await a.run();
  await restoreRoutes(snap, netns);
  for (const a of await planHtb(snap.htb, netns)) await a.run();
  if (!sameQos(await readNft(netns), snap.nft)) await writeNft(snap.nft, netns);
  for (const a of planCcSysctl(snap.ccSysctl, await readCcSysctl(netns), netns)) await a.run();
  await restoreResolvFile(snap.resolvConfPath, snap.resolv);
  if (
    snap.resolved &&
    JSON.stringify(await readResolved(snap.resolved.link)) !== JSON.stringify(snap.resolved)
  ) {
    await writeResolved(snap.resolved);
  }
  const current = await takeSnapshot(netns, snap.resolvConfPath, snap.resolved ? "resolved" : "file");
  const diff = snapshotDiff(snap, current);
  if (diff.length > 0)
    throw new Error(`restore: the host still differs from the snapshot in: ${diff.join(", ")}`);
}

/** The parts in which two snapshots differ (empty when the host is exactly as captured). */
export function snapshotDiff(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  const routes = (s: Snapshot) => new Map(s.routes.map((r) => [routeKey(r), r]));
  const ra = routes(a);
  const rb = routes(b);
  for (const [k, r] of ra) if (!rb.has(k) || !sameRoute(r, rb.get(k) as Route)) out.push(`route ${k}`);
  for (const k of rb.keys()) if (!ra.has(k)) out.push(`route ${k}`);
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.links, b.links)) out.push("link MTUs");
  if (!same(a.nft, b.nft)) out.push("nft table");
  if (!same(a.htb, b.htb)) out.push("htb qdiscs");
  if (a.ccSysctl !== b.ccSysctl) out.push("congestion control sysctl");
  if (!same(a.resolv, b.resolv)) out.push("resolv.conf");
  if (!same(a.resolved, b.resolved)) out.push("systemd-resolved link DNS");
  return out;
}
