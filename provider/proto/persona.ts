// Converts personas between the wire message (proto/netpersona/agent/v1/persona.proto, snake_case) and the
// zod schema's shape (provider/persona/schema.ts). Incoming personas are always validated by validatePersona:
// the wire only carries values, the schema decides what is valid.
import type { Persona } from "../persona/schema";
import { validatePersona, type Validated } from "../persona/validate";
import type {
  Persona as WirePersona,
  Persona__Output as WirePersonaOut,
} from "./gen/netpersona/agent/v1/Persona";

/** The persona as a wire message. Unset fields stay unset. */
export function personaToWire(p: Persona): WirePersona {
  const out: WirePersona = { mtu_scope: p.mtuScope };
  if (p.congestionControl !== undefined) out.congestion_control = p.congestionControl;
  if (p.mtu !== undefined) out.mtu = p.mtu;
  if (p.qos) {
    out.qos = { class: p.qos.class };
    if (p.qos.htbPriority !== undefined) out.qos.htb_priority = p.qos.htbPriority;
  }
  if (p.dns)
    out.dns = { servers: [...p.dns.servers], search: [...p.dns.search], options: [...p.dns.options] };
  if (p.routes) {
    const r = p.routes;
    out.routes = {
      ...(r.preferredGateway !== undefined && { preferred_gateway: r.preferredGateway }),
      ...(r.preferredDevice !== undefined && { preferred_device: r.preferredDevice }),
      ...(r.metric !== undefined && { metric: r.metric }),
      prefixes: r.prefixes.map((h) => ({
        prefix: h.prefix,
        ...(h.via !== undefined && { via: h.via }),
        ...(h.dev !== undefined && { dev: h.dev }),
        ...(h.metric !== undefined && { metric: h.metric }),
      })),
    };
  }
  return out;
}

/** The wire message in the schema's input shape, before validation (unset optional fields left out). */
export function personaInputFromWire(m: WirePersonaOut): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.congestion_control !== undefined) out.congestionControl = m.congestion_control;
  if (m.mtu !== undefined) out.mtu = m.mtu;
  if (m.mtu_scope !== undefined) out.mtuScope = m.mtu_scope;
  if (m.qos) {
    out.qos = {
      class: m.qos.class,
      ...(m.qos.htb_priority !== undefined && { htbPriority: m.qos.htb_priority }),
    };
  }
  if (m.dns) out.dns = { servers: m.dns.servers, search: m.dns.search, options: m.dns.options };
  if (m.routes) {
    const r = m.routes;
    out.routes = {
      ...(r.preferred_gateway !== undefined && { preferredGateway: r.preferred_gateway }),
      ...(r.preferred_device !== undefined && { preferredDevice: r.preferred_device }),
      ...(r.metric !== undefined && { metric: r.metric }),
      prefixes: r.prefixes.map((h) => ({
        prefix: h.prefix,
        ...(h.via !== undefined && { via: h.via }),
        ...(h.dev !== undefined && { dev: h.dev }),
        ...(h.metric !== undefined && { metric: h.metric }),
      })),
    };
  }
  return out;
}

/** Entries of a persona list read at all (the schema's own limits are lower: 3 servers, 6 search domains, 64
 *  prefixes); a longer list is refused as a whole before its entries are validated one by one. */
export const WIRE_LIST_CAP = 256;

/** Validates an incoming persona; failures name the field with `field` as prefix (e.g. `persona.dns.servers.0`). */
export function personaFromWire(m: WirePersonaOut | null | undefined, field: string): Validated<Persona> {
  if (!m) return { ok: false, failures: [{ property: field, reason: "is required" }] };
  const lists: [string, unknown[] | undefined][] = [
    ["dns.servers", m.dns?.servers],
    ["dns.search", m.dns?.search],
    ["dns.options", m.dns?.options],
    ["routes.prefixes", m.routes?.prefixes],
  ];
  const long = lists.filter(([, l]) => (l?.length ?? 0) > WIRE_LIST_CAP);
  if (long.length > 0) {
    // One failure per list, not one per entry: a 1 MiB request holds 100 000 entries.
    const failures = long.map(([p, l]) => ({
      property: `${field}.${p}`,
      reason: `at most ${WIRE_LIST_CAP} entries are read, got ${l!.length}: list only what the persona needs`,
    }));
    return { ok: false, failures };
  }
  return validatePersona(personaInputFromWire(m), [field]);
}
