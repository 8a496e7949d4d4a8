// A persona in the formats of the tools that own hosts' networks: nmstate (NetworkManager), netplan and
// systemd-networkd. Each renders what it can express (MTU, routes with metric and mtu, DNS, congestion control
// where the format has it) and says plainly what it cannot (`notes`). Pure: text in, text out.
import { stringify } from "yaml";

import type { Persona } from "../persona/schema";
import { ipFamily } from "../persona/schema";

export const FORMATS = ["nmstate", "netplan", "networkd"] as const;
export type Format = (typeof FORMATS)[number];

export interface ExportedFile {
  /** A file name for it (`--out DIR` writes it there). */
  name: string;
  text: string;
}

export interface Export {
  format: Format;
  files: ExportedFile[];
  /** What the format cannot express, one plain sentence each. */
  notes: string[];
}

/** One route of the persona, with the device it leaves by. */
interface Route {
  to: string;
  via?: string;
  dev: string;
  metric?: number;
  mtu?: number;
}

const DEFAULT4 = "0.0.0.0/0";

/** The persona's routes (its default route when it names a gateway, and its prefixes) per device. */
function routesOf(p: Persona, iface: string): Route[] {
  const routeMtu = p.mtu !== undefined && p.mtuScope !== "link" ? p.mtu : undefined;
  const out: Route[] = [];
  const r = p.routes;
  if (r?.preferredGateway) {
    const to = ipFamily(r.preferredGateway) === 6 ? "::/0" : DEFAULT4;
    out.push({
      to,
      via: r.preferredGateway,
      dev: r.preferredDevice ?? iface,
      metric: r.metric,
      mtu: routeMtu,
    });
  }
  for (const h of r?.prefixes ?? []) {
    out.push({
      to: h.prefix,
      via: h.via ?? r?.preferredGateway,
      dev: h.dev ?? r?.preferredDevice ?? iface,
      metric: h.metric,
      mtu: routeMtu,
    });
  }
  return out;
}

function devicesOf(p: Persona, iface: string): string[] {
  const devs = [p.routes?.preferredDevice ?? iface, ...routesOf(p, iface).map((r) => r.dev)];
  return [...new Set(devs)];
}

const linkMtu = (p: Persona) => (p.mtu !== undefined && p.mtuScope !== "route" ? p.mtu : undefined);

function commonNotes(p: Persona, f: Format): string[] {
  const notes: string[] = [];
  if (p.qos)
    notes.push(
      `qos (${p.qos.class}): ${f} cannot mark DSCP; netpersona's agent keeps the marking in its own nftables table (table inet netpersona), which ${f === "nmstate" ? "NetworkManager" : "this configuration"} leaves alone`,
    );
  if (p.mtu !== undefined && p.mtuScope !== "link")
    notes.push(
      `mtu ${p.mtu} per route: ${f} sets the route's mtu but cannot lock it (the kernel may still lower it on a path-MTU message; netpersona writes "mtu lock")`,
    );
  if (p.mtu !== undefined && p.mtuScope !== "link" && routesOf(p, "x").length === 0)
    notes.push(
      "mtu per route: the persona names no route (no preferredGateway, no prefixes), so nothing carries it",
    );
  return notes;
}

function nmstate(p: Persona, iface: string): Export {
  const devs = devicesOf(p, iface);
  const routes = routesOf(p, iface);
  const doc: Record<string, unknown> = {
    interfaces: devs.map((name) => ({
      name,
      type: "ethernet",
      state: "up",
      ...(name === (p.routes?.preferredDevice ?? iface) && linkMtu(p) !== undefined && { mtu: linkMtu(p) }),
      // Routes need IP on their interface; addresses are not a persona's: nmstatectl apply merges this with
      // the interface's current addressing.
      ipv4: { enabled: true },
    })),
  };
  if (routes.length > 0)
    doc.routes = {
      config: routes.map((r) => ({
        destination: r.to,
        ...(r.via && { "next-hop-address": r.via }),
        "next-hop-interface": r.dev,
        ...(r.metric !== undefined && { metric: r.metric }),
        ...(r.mtu !== undefined && { mtu: r.mtu }),
      })),
    };
  if (p.dns)
    doc["dns-resolver"] = {
      config: {
        server: p.dns.servers,
        ...(p.dns.search.length > 0 && { search: p.dns.search }),
        ...(p.dns.options.length > 0 && { options: p.dns.options }),
      },
    };
  const notes = commonNotes(p, "nmstate");
  if (p.congestionControl)
    notes.push(
      `congestionControl ${p.congestionControl}: nmstate and NetworkManager have no per-route congestion control; set it host-wide (sysctl net.ipv4.tcp_congestion_control=${p.congestionControl}) or let netpersona keep the routes (congctl)`,
    );
  notes.push(
    "addresses are not part of a persona: the interfaces say only ipv4 enabled; `nmstatectl apply` merges this state with their current addressing",
  );
  return {
    format: "nmstate",
    files: [{ name: "netpersona.nmstate.yml", text: header(notes, "#") + stringify(doc) }],
    notes,
  };
}

function netplan(p: Persona, iface: string): Export {
  const ethernets: Record<string, Record<string, unknown>> = {};
  const main = p.routes?.preferredDevice ?? iface;
  for (const dev of devicesOf(p, iface)) ethernets[dev] = {};
  if (linkMtu(p) !== undefined) ethernets[main].mtu = linkMtu(p);
  for (const r of routesOf(p, iface)) {
    const list = (ethernets[r.dev].routes ??= []) as Record<string, unknown>[];
    list.push({
      to: r.to === DEFAULT4 || r.to === "::/0" ? "default" : r.to,
      ...(r.via && { via: r.via }),
      ...(r.metric !== undefined && { metric: r.metric }),
      ...(r.mtu !== undefined && { mtu: r.mtu }),
    });
  }
  if (p.dns)
    ethernets[main].nameservers = {
      addresses: p.dns.servers,
      ...(p.dns.search.length > 0 && { search: p.dns.search }),
    };
  const notes = commonNotes(p, "netplan");
  if (p.congestionControl)
    notes.push(
      `congestionControl ${p.congestionControl}: netplan has no congestion control for a route; with the networkd renderer, a drop-in [Route] TCPCongestionControlAlgorithm=${p.congestionControl} does it (netpersona export --format networkd), or set it host-wide (sysctl net.ipv4.tcp_congestion_control)`,
    );
  if (p.dns?.options.length)
    notes.push(
      `dns options (${p.dns.options.join(" ")}): netplan has no resolver options; set them in resolved.conf or resolv.conf`,
    );
  notes.push(
    "addresses are not part of a persona: add this file beside the one that gives the interfaces their addresses (netplan merges them)",
  );
  const doc = { network: { version: 2, renderer: "networkd", ethernets } };
  return {
    format: "netplan",
    files: [{ name: "90-netpersona.yaml", text: header(notes, "#") + stringify(doc) }],
    notes,
  };
}

function networkd(p: Persona, iface: string): Export {
  const main = p.routes?.preferredDevice ?? iface;
  const notes = commonNotes(p, "networkd");
  if (p.dns?.options.length)
    notes.push(
      `dns options (${p.dns.options.join(" ")}): a .network file has no resolver options; set them in resolved.conf`,
    );
  notes.push(
    "addresses are not part of a persona: merge these sections into the .network file that configures each interface (networkd uses only the first .network file that matches an interface, so a file of its own would take the interface over), or put them without [Match] in a drop-in NAME.network.d/50-netpersona.conf",
  );
  if (p.congestionControl && routesOf(p, iface).length === 0)
    notes.push(
      `congestionControl ${p.congestionControl}: carried by [Route] sections, and the persona names no route`,
    );
  const files = devicesOf(p, iface).map((dev) => {
    const lines = [`[Match]`, `Name=${dev}`, ""];
    if (dev === main && linkMtu(p) !== undefined) lines.push("[Link]", `MTUBytes=${linkMtu(p)}`, "");
    if (dev === main && p.dns) {
      lines.push("[Network]", ...p.dns.servers.map((s) => `DNS=${s}`));
      if (p.dns.search.length) lines.push(`Domains=${p.dns.search.join(" ")}`);
      lines.push("");
    }
    for (const r of routesOf(p, iface).filter((x) => x.dev === dev)) {
      lines.push("[Route]", `Destination=${r.to}`);
      if (r.via) lines.push(`Gateway=${r.via}`);
      if (r.metric !== undefined) lines.push(`Metric=${r.metric}`);
      if (r.mtu !== undefined) lines.push(`MTUBytes=${r.mtu}`);
      if (p.congestionControl) lines.push(`TCPCongestionControlAlgorithm=${p.congestionControl}`);
      lines.push("");
    }
    return { name: `50-netpersona-${dev}.network`, text: header(notes, "#") + lines.join("\n") };
  });
  return { format: "networkd", files, notes };
}

function header(notes: string[], c: string): string {
  const lines = [
    `${c} Generated by netpersona export. Not expressed in this format:`,
    ...notes.map((n) => `${c} - ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** The persona in `format`, for `iface` (the device its routes leave by unless it names one). */
export function exportPersona(p: Persona, format: Format, iface: string): Export {
  if (format === "nmstate") return nmstate(p, iface);
  if (format === "netplan") return netplan(p, iface);
  return networkd(p, iface);
}
