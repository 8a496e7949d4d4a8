// Validation and normalisation of persona definitions, shared by `check`, persona files and the agent.
import type { z } from "zod";

import { canonicalIp, personaSchema, type Persona } from "./schema";

/** The sentinel the Pulumi engine sends for values not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Failure {
  property: string;
  reason: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; failures: Failure[] };

/** True when `value` or anything inside it is unknown at preview. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown[] {
  const seen: unknown[] = [root];
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") break;
    cur = (cur as Record<PropertyKey, unknown>)[key];
    seen.push(cur);
  }
  return seen;
}

/** Turns zod issues into Pulumi check failures: `property` is the dotted path, `reason` says the fix.
 *  Issues about values that are unknown at preview (or sit inside one) are skipped. */
export function issuesToFailures(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly (string | number)[] = [],
): Failure[] {
  const failures: Failure[] = [];
  for (const issue of issues) {
    if (valueAt(input, issue.path).some((v) => v === UNKNOWN)) continue;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        failures.push({
          property: joinPath(prefix, [...issue.path, key]),
          reason: `unknown field '${key}': remove it or check its spelling`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_union" || issue.code === "invalid_type") {
      const at = valueAt(input, issue.path).at(-1);
      if (at === undefined && issue.code === "invalid_type") {
        failures.push({ property: joinPath(prefix, issue.path), reason: `is required: ${issue.message}` });
        continue;
      }
    }
    failures.push({ property: joinPath(prefix, issue.path), reason: issue.message });
  }
  return failures;
}

/** A Pulumi property path: `routes.prefixes[0].prefix`. */
export function joinPath(prefix: readonly (string | number)[], path: readonly PropertyKey[]): string {
  let p = "";
  for (const key of [...prefix, ...path]) {
    p += typeof key === "number" ? `[${key}]` : `${p ? "." : ""}${String(key)}`;
  }
  return p === "" ? "(root)" : p;
}

/** Validates a persona definition and returns it normalised, or every problem found. */
export function validatePersona(
  input: unknown,
  prefix: readonly (string | number)[] = [],
): Validated<Persona> {
  const r = personaSchema.safeParse(input);
  if (!r.success) return { ok: false, failures: issuesToFailures(r.error.issues, input, prefix) };
  return { ok: true, value: normalizePersona(r.data) };
}

/** Canonical form: IPv6 compressed, domains lower-case without a trailing dot, prefixes sorted, fields that
 *  carry no meaning dropped. Two personas that mean the same are deep-equal after this. */
export function normalizePersona(p: Persona): Persona {
  const out: Persona = { mtuScope: p.mtuScope };
  if (p.congestionControl) out.congestionControl = p.congestionControl;
  if (p.mtu !== undefined) out.mtu = p.mtu;
  if (p.qos) out.qos = p.qos.htbPriority === undefined ? { class: p.qos.class } : { ...p.qos };
  if (p.dns) {
    out.dns = {
      servers: p.dns.servers.map(canonicalIp),
      search: p.dns.search.map((d) => d.toLowerCase().replace(/\.$/, "")),
      options: [...p.dns.options],
    };
  }
  if (p.routes) {
    const r = p.routes;
    out.routes = {
      ...(r.preferredGateway !== undefined && { preferredGateway: canonicalIp(r.preferredGateway) }),
      ...(r.preferredDevice !== undefined && { preferredDevice: r.preferredDevice }),
      ...(r.metric !== undefined && { metric: r.metric }),
      prefixes: r.prefixes
        .map((h) => ({
          prefix: h.prefix,
          ...(h.via !== undefined && { via: canonicalIp(h.via) }),
          ...(h.dev !== undefined && { dev: h.dev }),
          ...(h.metric !== undefined && { metric: h.metric }),
        }))
        .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0)),
    };
  }
  return out;
}
