// A full, comparable picture of a lab host's network state, read from the kernel from the outside:
// routes (JSON and the detailed text, which carries congctl and `mtu lock`), links, the nftables ruleset
// without handles, qdiscs and the bytes of its resolv.conf.
import { readFile } from "node:fs/promises";

import { run } from "../provider/util/exec";
import type { LabHost } from "../provider/lab";

export interface HostState {
  routes: string;
  routesDetailed: string;
  links: string;
  nft: string;
  qdiscs: string;
  resolvConf: string;
}

export async function hostState(h: LabHost): Promise<HostState> {
  const ns = { netns: h.netns };
  const links = JSON.parse((await run(["ip", "-j", "link", "show"], ns)).stdout) as Record<string, unknown>[];
  return {
    routes: (await run(["ip", "-j", "route", "show", "table", "main"], ns)).stdout,
    routesDetailed: (await run(["ip", "-d", "route", "show", "table", "main"], ns)).stdout,
    // Counters and the interface index of the peer change on their own: keep what a persona can touch.
    links: JSON.stringify(
      links.map((l) => ({ ifname: l.ifname, mtu: l.mtu, flags: l.flags, operstate: l.operstate })),
    ),
    nft: (await run(["nft", "list", "ruleset"], ns)).stdout,
    qdiscs: (await run(["tc", "qdisc", "show"], ns)).stdout,
    resolvConf: await readFile(`/etc/netns/${h.netns}/resolv.conf`, "utf8"),
  };
}

export async function defaultRoute(h: LabHost): Promise<string> {
  return (await run(["ip", "-d", "route", "show", "default"], { netns: h.netns })).stdout.trim();
}
