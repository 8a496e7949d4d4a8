// Everything of the kernel a persona can touch, read in one go (the current state), and the current persona it
// amounts to.
import { CONGESTION_CONTROLS, type CongestionControl, type Persona } from "../../persona/schema";
import { readResolvDns, type Dns } from "./dns";
import { readResolved, resolvedDns } from "./dns-resolved";
import { readCcSysctl, readLinks, type CcSysctl, type LinkMtu } from "./links";
import { readNft, type QosState } from "./nft";
import { NETPERSONA_PROTO, primaryDefault, readRoutes, routeKey, type Route } from "./routes";
import { readHtb, type HtbState } from "./tc";

export interface KernelState {
  routes: Route[];
  links: LinkMtu[];
  nft: QosState | null | "foreign";
  htb: HtbState[];
  cc: CcSysctl;
  dns: Dns | undefined;
}

/** Where the host's DNS configuration lives: a resolv.conf file, or systemd-resolved. */
export type DnsBackend = "file" | "resolved";

export async function readKernelState(
  netns: string | undefined,
  resolvConfPath: string,
  dnsBackend: DnsBackend = "file",
): Promise<KernelState> {
  const [r4, r6, links, nft, htb, cc] = await Promise.all([
    readRoutes(4, netns),
    readRoutes(6, netns),
    readLinks(netns),
    readNft(netns),
    readHtb(netns),
    readCcSysctl(netns),
  ]);
  const routes = [...r4, ...r6];
  let dns: Dns | undefined;
  if (dnsBackend === "file") {
    dns = await readResolvDns(resolvConfPath);
  } else {
    const link = egressDevices({ mtuScope: "route" }, routes)[0];
    dns = link ? resolvedDns(await readResolved(link)) : undefined;
  }
  return { routes, links, nft, htb, cc, dns };
}

/** The devices that carry the default route (its device, or those of its nexthops), or the desired persona's
 *  preferred device. */
export function egressDevices(desired: Persona, current: readonly Route[]): string[] {
  if (desired.routes?.preferredDevice) return [desired.routes.preferredDevice];
  const def = primaryDefault(current);
  const devs = def?.dev ? [def.dev] : (def?.nexthops ?? []).map((n) => n.dev).filter((d): d is string => !!d);
  return [...new Set(devs)].sort();
}

function asCc(v: unknown): CongestionControl | undefined {
  return CONGESTION_CONTROLS.find((c) => c === v);
}

/** The current persona for the fields the desired one sets (every field when `desired` is undefined), in the
 *  persona's shape. */
export function currentPersona(current: KernelState, desired?: Persona): Persona {
  const all = desired === undefined;
  const def = primaryDefault(current.routes);
  const out: Persona = { mtuScope: desired?.mtuScope ?? "route" };
  if (all || desired.congestionControl !== undefined) {
    const cc = asCc(def?.metrics.congctl) ?? asCc(current.cc.value);
    if (cc) out.congestionControl = cc;
  }
  if (all || desired.mtu !== undefined) {
    const routeMtu = def?.locks.includes("mtu") ? Number(def.metrics.mtu) : undefined;
    const devs = egressDevices(desired ?? { mtuScope: "route" }, current.routes);
    const linkMtus = [...new Set(devs.map((d) => current.links.find((l) => l.name === d)?.mtu))];
    const linkMtu = linkMtus.length === 1 ? linkMtus[0] : undefined;
    if (out.mtuScope === "link") {
      if (linkMtu !== undefined) out.mtu = linkMtu;
    } else if (out.mtuScope === "both") {
      if (routeMtu !== undefined && routeMtu === linkMtu) out.mtu = routeMtu;
    } else if (routeMtu !== undefined) {
      out.mtu = routeMtu;
    }
  }
  const nft = current.nft;
  if ((all || desired.qos) && nft && nft !== "foreign") {
    out.qos = { class: nft.class, ...(nft.htbPriority !== undefined && { htbPriority: nft.htbPriority }) };
  }
  if ((all || desired.dns) && current.dns) out.dns = current.dns;
  if (all || desired.routes) {
    const routes = desired?.routes;
    const byKey = new Map(current.routes.map((r) => [routeKey(r), r]));
    const hints =
      routes?.prefixes ??
      current.routes
        .filter((r) => r.protocol === NETPERSONA_PROTO && r.dst !== "default")
        .map((r) => ({ prefix: r.dst, via: r.gateway, dev: r.dev, metric: r.metric }));
    out.routes = {
      ...((all || routes?.preferredGateway !== undefined) &&
        def?.gateway && { preferredGateway: def.gateway }),
      ...((all || routes?.preferredDevice !== undefined) && def?.dev && { preferredDevice: def.dev }),
      ...((all || routes?.metric !== undefined) && def && { metric: def.metric ?? 0 }),
      prefixes: hints.flatMap((h) => {
        const family = h.prefix.includes(":") ? 6 : 4;
        const r = byKey.get(routeKey({ family, dst: h.prefix, metric: h.metric }));
        if (!r) return [];
        return [
          {
            prefix: r.dst,
            ...(h.via !== undefined && r.gateway && { via: r.gateway }),
            ...(h.dev !== undefined && r.dev && { dev: r.dev }),
            ...(h.metric !== undefined && r.metric !== undefined && { metric: r.metric }),
          },
        ];
      }),
    };
  }
  return out;
}
