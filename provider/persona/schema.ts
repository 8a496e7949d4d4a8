// The persona: one zod schema is the single source of truth for its shape, defaults and messages.
// Used by the Persona resource's `check`, by persona files, by the agent before it touches the kernel,
// by the adjustment engine (it never produces a persona outside this schema) and by schema.json.
import { z } from "zod";

import { IFNAME_RE } from "../util/names";

export const CONGESTION_CONTROLS = ["cubic", "bbr", "reno"] as const;
export type CongestionControl = (typeof CONGESTION_CONTROLS)[number];

/** RFC 4594 service classes with their recommended DSCP (RFC 4594 fig. 3, RFC 8622 for LE). */
export const QOS_CLASSES = {
  "network-control": { dscp: 48, name: "cs6" },
  telephony: { dscp: 46, name: "ef" },
  signaling: { dscp: 40, name: "cs5" },
  "multimedia-conferencing": { dscp: 34, name: "af41" },
  "real-time-interactive": { dscp: 32, name: "cs4" },
  "multimedia-streaming": { dscp: 26, name: "af31" },
  "broadcast-video": { dscp: 24, name: "cs3" },
  "low-latency-data": { dscp: 18, name: "af21" },
  oam: { dscp: 16, name: "cs2" },
  "high-throughput-data": { dscp: 10, name: "af11" },
  standard: { dscp: 0, name: "cs0" },
  "low-priority-data": { dscp: 1, name: "le" },
} as const;
export type QosClass = keyof typeof QOS_CLASSES;
export const QOS_CLASS_NAMES = Object.keys(QOS_CLASSES) as QosClass[];

/** Relative priority of the classes, highest first: the engine raises QoS by moving up this list. */
export const QOS_PRIORITY_ORDER: readonly QosClass[] = [
  "network-control",
  "telephony",
  "signaling",
  "multimedia-conferencing",
  "real-time-interactive",
  "multimedia-streaming",
  "broadcast-video",
  "low-latency-data",
  "oam",
  "high-throughput-data",
  "standard",
  "low-priority-data",
];

export const MTU_MIN = 576;
export const MTU_MAX = 9000;

/** The message of an optional field's wrong value; null is said as for every other field ("leave it out"). */
const optionalField =
  (text: string) =>
  (iss: { input?: unknown }): string =>
    iss.input === null ? `${text}, not null: give one or leave the field out` : text;

const ifname = z
  .string()
  .regex(
    IFNAME_RE,
    "must be an interface name: 1-15 letters, digits, '_', '.', '-', not starting with '-' or '.'",
  );

const IPV4 = z.ipv4();
const IPV6 = z.ipv6();

/** 4 or 6 for an IP address in textual form, 0 for anything else (zod's checks: the persona stays free of
 *  Node's I/O modules, see eslint.config.mjs "Boundaries"). */
export function ipFamily(v: string): 0 | 4 | 6 {
  if (IPV4.safeParse(v).success) return 4;
  return IPV6.safeParse(v).success ? 6 : 0;
}

const ipAddress = z
  .string()
  .refine((v) => ipFamily(v) !== 0, "must be an IPv4 or IPv6 address, e.g. 10.0.0.1");

/** A prefix in CIDR form whose host bits are zero (so `10.1.2.3/24` is refused with the fix spelled out). */
const cidr = z.string().superRefine((v, ctx) => {
  const problem = cidrProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const DOMAIN_RE =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const domain = z.string().superRefine((v, ctx) => {
  if (v.length > 253)
    ctx.addIssue({ code: "custom", message: `must be at most 253 characters (a DNS name), not ${v.length}` });
  else if (!DOMAIN_RE.test(v))
    ctx.addIssue({ code: "custom", message: "must be a DNS domain such as corp.example.com" });
});

const resolvOption = z
  .string()
  .regex(
    /^(ndots:\d{1,2}|timeout:\d{1,2}|attempts:\d|rotate|edns0|single-request|single-request-reopen|no-aaaa|trust-ad|use-vc)$/,
    "must be a resolv.conf option: ndots:N, timeout:N, attempts:N, rotate, edns0, single-request, single-request-reopen, no-aaaa, trust-ad or use-vc",
  );

export const routeHintSchema = z
  .strictObject({
    prefix: cidr.describe("Destination prefix in CIDR form, e.g. 10.20.0.0/16."),
    via: ipAddress.optional().describe("Gateway for this prefix; defaults to the preferred gateway."),
    dev: ifname.optional().describe("Egress device for this prefix."),
    metric: z.int().min(0).max(4294967295).optional().describe("Route metric (lower wins)."),
  })
  .describe("An extra prefix the persona covers, with an optional gateway, device and metric.")
  .meta({ title: "RouteHint" });

export const qosSchema = z
  .strictObject({
    class: z
      .enum(QOS_CLASS_NAMES as [QosClass, ...QosClass[]], {
        error: `must be one of the RFC 4594 classes: ${QOS_CLASS_NAMES.join(", ")}`,
      })
      .meta({ title: "QosClass" })
      .describe("RFC 4594 service class; mapped to its DSCP code point."),
    htbPriority: z
      .int()
      .min(0)
      .max(7)
      .optional()
      .describe("Optional local htb priority (0 highest, 7 lowest) for the marked traffic."),
  })
  .describe("Quality of service: the traffic class marked on the host's outgoing packets.")
  .meta({ title: "Qos" });

export const dnsSchema = z
  .strictObject({
    servers: z
      .array(ipAddress)
      .min(1, "list at least one server")
      .max(3, "resolv.conf honours at most 3 servers: keep the 3 preferred ones")
      .describe("DNS servers in preference order."),
    search: z.array(domain).max(6, "at most 6 search domains").default([]).describe("Search domains."),
    options: z.array(resolvOption).default([]).describe("resolv.conf options, e.g. timeout:1."),
  })
  .describe("DNS server preference.")
  .meta({ title: "Dns" });

export const routesSchema = z
  .strictObject({
    preferredGateway: ipAddress.optional().describe("Preferred egress gateway for the default route."),
    preferredDevice: ifname.optional().describe("Preferred egress device for the default route."),
    metric: z.int().min(0).max(4294967295).optional().describe("Metric of the default route."),
    prefixes: z.array(routeHintSchema).max(64).default([]).describe("Extra prefixes the persona covers."),
  })
  .describe("Routing hints: preferred egress gateway or device, metrics, extra prefixes.")
  .meta({ title: "Routes" });

/** The persona definition. Every field is optional: a persona manages exactly the fields it sets. */
export const personaSchema = z
  .strictObject({
    congestionControl: z
      .enum(CONGESTION_CONTROLS, {
        error: optionalField(`must be one of: ${CONGESTION_CONTROLS.join(", ")}`),
      })
      .meta({ title: "CongestionControl" })
      .optional()
      .describe("TCP congestion control for the routes the persona covers."),
    mtu: z
      .int({ error: optionalField(`must be a whole number of bytes between ${MTU_MIN} and ${MTU_MAX}`) })
      .min(MTU_MIN, `must be at least ${MTU_MIN} (the IPv4 minimum datagram size)`)
      .max(MTU_MAX, `must be at most ${MTU_MAX} (jumbo frames)`)
      .optional()
      .describe("MTU in bytes."),
    mtuScope: z
      .enum(["route", "link", "both"], { error: optionalField("must be one of: route, link, both") })
      .meta({ title: "MtuScope" })
      .default("route")
      .describe("Where the MTU applies: per-route `mtu lock` (default), the link, or both."),
    qos: qosSchema.optional(),
    dns: dnsSchema.optional(),
    routes: routesSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const r = p.routes;
    if (r?.prefixes) {
      const seen = new Set<string>();
      r.prefixes.forEach((h, i) => {
        if (seen.has(h.prefix)) {
          ctx.addIssue({
            code: "custom",
            path: ["routes", "prefixes", i, "prefix"],
            message: `duplicate prefix ${h.prefix}: list each prefix once`,
          });
        }
        seen.add(h.prefix);
      });
    }
  })
  .describe("A network persona: congestion control, MTU, QoS class, DNS preference and routing hints.")
  .meta({ title: "PersonaDefinition" });

export type PersonaInput = z.input<typeof personaSchema>;
export type Persona = z.output<typeof personaSchema>;

/** Why `v` is not a canonical CIDR prefix, or undefined when it is one. */
export function cidrProblem(v: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  const family = m ? ipFamily(m[1]) : 0;
  if (!m || family === 0) return "must be a prefix in CIDR form, e.g. 10.20.0.0/16";
  const len = Number(m[2]);
  const bits = family === 4 ? 32 : 128;
  if (len > bits) return `prefix length must be at most ${bits}`;
  const canonical = canonicalPrefix(m[1], len, family);
  if (canonical !== v) return `host bits are set or the form is not canonical: did you mean ${canonical}?`;
  return undefined;
}

function canonicalPrefix(addr: string, len: number, family: number): string {
  if (family === 4) {
    const n = addr.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    const masked = len === 0 ? 0n : (n >> BigInt(32 - len)) << BigInt(32 - len);
    const octets = [24n, 16n, 8n, 0n].map((s) => String((masked >> s) & 255n));
    return `${octets.join(".")}/${len}`;
  }
  const full = expandIPv6(addr);
  const n = BigInt(`0x${full.replace(/:/g, "")}`);
  const masked = len === 0 ? 0n : (n >> BigInt(128 - len)) << BigInt(128 - len);
  return `${compressIPv6(masked)}/${len}`;
}

function expandIPv6(input: string): string {
  let addr = input;
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    const o = v4[2].split(".").map(Number);
    addr = `${v4[1]}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((g) => g.padStart(4, "0")).join(":");
}

function compressIPv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - i * 16)) & 0xffffn).toString(16));
  let best = [-1, 0];
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best[1] && j - i > 1) best = [i, j - i];
    i = j;
  }
  if (best[0] < 0) return groups.join(":");
  return `${groups.slice(0, best[0]).join(":")}::${groups.slice(best[0] + best[1]).join(":")}`;
}

/** Canonical textual form of an IP address (IPv6 compressed, lower-case). */
export function canonicalIp(addr: string): string {
  if (ipFamily(addr) !== 6) return addr;
  return compressIPv6(BigInt(`0x${expandIPv6(addr.toLowerCase()).replace(/:/g, "")}`));
}
