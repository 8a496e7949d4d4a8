// The reverse of export.ts, for adoption: the persona an nmstate state or a netplan file corresponds to. MTU
// (the link's, or the routes' when they all carry the same), the default route (preferred gateway, device,
// metric), other routes as prefixes, DNS. What a persona cannot hold (addresses, DHCP, bonds, routes with
// different MTUs, ...) is said in `notes`. Pure: text in, persona out; validated by the persona schema.
import { parse as parseYaml } from "yaml";

import { validatePersona } from "../persona/validate";
import type { Persona } from "../persona/schema";

export const IMPORT_FORMATS = ["nmstate", "netplan"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface Imported {
  persona: Persona;
  notes: string[];
}

interface RouteIn {
  to: string;
  via?: string;
  dev?: string;
  metric?: number;
  mtu?: number;
}

interface Gathered {
  linkMtu: Map<string, number>;
  routes: RouteIn[];
  dns?: { servers: string[]; search: string[]; options: string[] };
  notes: string[];
}

const isDefault = (to: string) => to === "default" || to === "0.0.0.0/0" || to === "::/0";

function toPersona(g: Gathered): Imported {
  const notes = [...g.notes];
  const p: Record<string, unknown> = {};
  const defaults = g.routes.filter((r) => isDefault(r.to));
  if (defaults.length > 1)
    notes.push(`${defaults.length} default routes: the persona keeps the one with the lowest metric`);
  const def = [...defaults].sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
  const others = g.routes.filter((r) => !isDefault(r.to));
  const routes: Record<string, unknown> = {};
  if (def?.via) routes.preferredGateway = def.via;
  if (def?.dev) routes.preferredDevice = def.dev;
  if (def?.metric !== undefined) routes.metric = def.metric;
  if (others.length > 0)
    routes.prefixes = others.map((r) => ({
      prefix: r.to,
      // A persona's prefix uses the preferred gateway and device unless it names others.
      ...(r.via && r.via !== def?.via && { via: r.via }),
      ...(r.dev && r.dev !== def?.dev && { dev: r.dev }),
      ...(r.metric !== undefined && { metric: r.metric }),
    }));
  if (Object.keys(routes).length > 0) p.routes = routes;
  const routeMtus = [...new Set(g.routes.map((r) => r.mtu).filter((m): m is number => m !== undefined))];
  const main = def?.dev ?? g.routes[0]?.dev ?? [...g.linkMtu.keys()][0];
  const linkMtu = main !== undefined ? g.linkMtu.get(main) : undefined;
  if (routeMtus.length > 1)
    notes.push(
      `routes carry different MTUs (${routeMtus.join(", ")}): a persona has one; kept ${routeMtus[0]}`,
    );
  if (routeMtus.length > 0 && g.routes.some((r) => r.mtu === undefined))
    notes.push("some routes carry an MTU and others none: a persona's route MTU applies to all its routes");
  if (routeMtus.length > 0 && linkMtu !== undefined && linkMtu !== routeMtus[0])
    notes.push(
      `the link MTU ${linkMtu} differs from the routes' ${routeMtus[0]}: the persona keeps the routes'`,
    );
  if (routeMtus.length > 0) {
    p.mtu = routeMtus[0];
    p.mtuScope = linkMtu === routeMtus[0] ? "both" : "route";
  } else if (linkMtu !== undefined) {
    p.mtu = linkMtu;
    p.mtuScope = "link";
  }
  for (const [dev, m] of g.linkMtu)
    if (dev !== main) notes.push(`${dev}'s MTU ${m}: a persona sets one link's MTU (${main})`);
  if (g.dns) p.dns = g.dns;
  const v = validatePersona(p);
  if (!v.ok)
    throw new Error(
      `the configuration does not make a valid persona: ${v.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
    );
  return { persona: v.value, notes };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown) => (typeof v === "number" ? v : undefined);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

function fromNmstate(doc: Obj): Imported {
  const g: Gathered = { linkMtu: new Map(), routes: [], notes: [] };
  for (const i of list(doc.interfaces).map(obj)) {
    const name = str(i.name);
    if (name && num(i.mtu) !== undefined) g.linkMtu.set(name, num(i.mtu)!);
    const v4 = obj(i.ipv4);
    if (list(v4.address).length > 0 || v4.dhcp === true)
      g.notes.push(
        `${name}: addresses and DHCP are not part of a persona (left to the host's configuration)`,
      );
    if (i.type && !["ethernet", "veth", "loopback"].includes(String(i.type)))
      g.notes.push(`${name}: a ${i.type} interface; a persona does not create interfaces`);
  }
  for (const r of list(obj(doc.routes).config).map(obj)) {
    if (r.state === "absent") continue;
    const to = str(r.destination);
    if (!to) continue;
    if (num(r["table-id"]) !== undefined && r["table-id"] !== 254)
      g.notes.push(`route ${to} in table ${r["table-id"]}: a persona manages the main table only; left out`);
    else
      g.routes.push({
        to,
        via: str(r["next-hop-address"]),
        dev: str(r["next-hop-interface"]),
        metric: num(r.metric),
        mtu: num(r.mtu),
      });
  }
  const dns = obj(obj(doc["dns-resolver"]).config);
  if (list(dns.server).length > 0)
    g.dns = {
      servers: list(dns.server).map(String),
      search: list(dns.search).map(String),
      options: list(dns.options).map(String),
    };
  return toPersona(g);
}

const NETPLAN_KINDS = ["ethernets", "bonds", "bridges", "vlans", "wifis"] as const;

function fromNetplan(doc: Obj): Imported {
  const g: Gathered = { linkMtu: new Map(), routes: [], notes: [] };
  const net = obj(doc.network);
  let servers: string[] = [];
  let search: string[] = [];
  for (const kind of NETPLAN_KINDS) {
    for (const [id, raw] of Object.entries(obj(net[kind]))) {
      const d = obj(raw);
      const name = str(d["set-name"]) ?? (d.match ? str(obj(d.match).name) : undefined) ?? id;
      if (kind !== "ethernets")
        g.notes.push(`${id}: a ${kind.slice(0, -1)}; a persona does not create interfaces`);
      if (num(d.mtu) !== undefined) g.linkMtu.set(name, num(d.mtu)!);
      if (list(d.addresses).length > 0 || d.dhcp4 === true || d.dhcp6 === true)
        g.notes.push(
          `${name}: addresses and DHCP are not part of a persona (left to the host's configuration)`,
        );
      if (str(d.gateway4) || str(d.gateway6)) {
        g.routes.push({ to: "default", via: str(d.gateway4) ?? str(d.gateway6), dev: name });
        g.notes.push(`${name}: gateway4/gateway6 are deprecated in netplan; read as a default route`);
      }
      for (const r of list(d.routes).map(obj)) {
        const to = str(r.to);
        if (!to) continue;
        if (num(r.table) !== undefined && r.table !== 254) {
          g.notes.push(`route ${to} in table ${r.table}: a persona manages the main table only; left out`);
          continue;
        }
        g.routes.push({ to, via: str(r.via), dev: name, metric: num(r.metric), mtu: num(r.mtu) });
      }
      const ns = obj(d.nameservers);
      servers = [...servers, ...list(ns.addresses).map(String)];
      search = [...search, ...list(ns.search).map(String)];
    }
  }
  if (servers.length > 0)
    g.dns = { servers: [...new Set(servers)], search: [...new Set(search)], options: [] };
  return toPersona(g);
}

/** The persona `text` (an nmstate state or a netplan file, YAML or JSON) corresponds to. */
export function importPersona(text: string, format: ImportFormat): Imported {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`not valid YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (format === "netplan" && !obj(doc).network)
    throw new Error("not a netplan file: it has no top-level `network:`");
  return format === "nmstate" ? fromNmstate(obj(doc)) : fromNetplan(obj(doc));
}
