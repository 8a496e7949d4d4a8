// Everything of the kernel a persona can touch, read in one go, and the live persona it amounts to.
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

/** The devices that carry the default route (its device, or those of its nexthops). */
export function egressDevices(p: Persona, routes: readonly Route[]): string[] {
  if (p.routes?.preferredDevice) return [p.routes.preferredDevice];
  const def = primaryDefault(routes);
  const devs = def?.dev ? [def.dev] : (def?.nexthops ?? []).map((n) => n.dev).filter((d): d is string => !!d);
  return [...new Set(devs)].sort();
}

function asCc(v: unknown): CongestionControl | undefined {
  return CONGESTION_CONTROLS.find((c) => c === v);
}

/** The live persona for the fields `p` sets (every field when `p` is undefined), in the persona's shape. */
export function livePersona(st: KernelState, p?: Persona): Persona {
  const all = p === undefined;
  const def = primaryDefault(st.routes);
  const out: Persona = { mtuScope: p?.mtuScope ?? "route" };
  if (all || p.congestionControl !== undefined) {
    const cc = asCc(def?.metrics.congctl) ?? asCc(st.cc.value);
    if (cc) out.congestionControl = cc;
  }
  if (all || p.mtu !== undefined) {
    const routeMtu = def?.locks.includes("mtu") ? Number(def.metrics.mtu) : undefined;
    const devs = egressDevices(p ?? { mtuScope: "route" }, st.routes);
    const linkMtus = [...new Set(devs.map((d) => st.links.find((l) => l.name === d)?.mtu))];
    const linkMtu = linkMtus.length === 1 ? linkMtus[0] : undefined;
    if (out.mtuScope === "link") {
      if (linkMtu !== undefined) out.mtu = linkMtu;
    } else if (out.mtuScope === "both") {
      if (routeMtu !== undefined && routeMtu === linkMtu) out.mtu = routeMtu;
    } else if (routeMtu !== undefined) {
      out.mtu = routeMtu;
    }
  }
  if ((all || p.qos) && st.nft && st.nft !== "foreign") {
    out.qos = {
      class: st.nft.class,
      ...(st.nft.htbPriority !== undefined && { htbPriority: st.nft.htbPriority }),
    };
  }
  if ((all || p.dns) && st.dns) out.dns = st.dns;
  if (all || p.routes) {
    const want = p?.routes;
    const byKey = new Map(st.routes.map((r) => [routeKey(r), r]));
    const hints =
      want?.prefixes ??
      st.routes
        .filter((r) => r.protocol === NETPERSONA_PROTO && r.dst !== "default")
        .map((r) => ({ prefix: r.dst, via: r.gateway, dev: r.dev, metric: r.metric }));
    out.routes = {
      ...((all || want?.preferredGateway !== undefined) && def?.gateway && { preferredGateway: def.gateway }),
      ...((all || want?.preferredDevice !== undefined) && def?.dev && { preferredDevice: def.dev }),
      ...((all || want?.metric !== undefined) && def && { metric: def.metric ?? 0 }),
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
