// Validation and normalisation of persona definitions, shared by `check`, persona files and the agent.
import type { z } from "zod";

import { issueMessage, receivedOf } from "./messages";
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

/** Keys that name JavaScript object internals: as data they would replace an object's prototype (`__proto__`)
 *  or shadow its machinery, so they are refused by name wherever they appear. */
export const FORBIDDEN_KEYS = ["__proto__", "constructor", "prototype"] as const;

/** The SDK renames a forbidden key to this prefix + the key before Pulumi's serializer sees it (which would
 *  otherwise turn `{"__proto__": {"admin": true}}` into `{admin: true}`), so `check` can name it. */
export const FORBIDDEN_KEY_MARKER = "netpersona:forbidden-key:";

function forbiddenName(key: string): string | undefined {
  const name = key.startsWith(FORBIDDEN_KEY_MARKER) ? key.slice(FORBIDDEN_KEY_MARKER.length) : key;
  return (FORBIDDEN_KEYS as readonly string[]).includes(name) ? name : undefined;
}

/** One failure per `__proto__`, `constructor` or `prototype` key anywhere in `input`, by its own name. */
export function forbiddenKeyFailures(input: unknown, prefix: readonly (string | number)[] = []): Failure[] {
  const failures: Failure[] = [];
  const walk = (v: unknown, path: (string | number)[], depth: number): void => {
    if (v === null || typeof v !== "object" || depth > 64) return;
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, i], depth + 1));
    for (const key of Object.keys(v)) {
      const name = forbiddenName(key);
      if (name) {
        failures.push({
          property: joinPath(prefix, [...path, name]),
          reason:
            name === "__proto__"
              ? "field '__proto__' is not allowed (it would replace the object's prototype): remove it"
              : `field '${name}' is not allowed (a reserved JavaScript name): remove it`,
        });
        continue;
      }
      walk((v as Record<string, unknown>)[key], [...path, key], depth + 1);
    }
  };
  walk(input, [], 0);
  return failures;
}

/** `schema.safeParse` with our messages for every issue that has none of its own (see messages.ts). */
export function parseWith<S extends z.core.$ZodType>(
  schema: S & { safeParse(input: unknown, params?: object): z.ZodSafeParseResult<z.output<S>> },
  input: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  return schema.safeParse(input, { error: (issue: unknown) => issueMessage(issue, schema) });
}

/** Turns zod issues into Pulumi check failures: `property` is the dotted path, `reason` says the fix.
 *  Issues about values that are unknown at preview (or sit inside one) are skipped, and so are forbidden
 *  keys, which `forbiddenKeyFailures` reports by name. */
export function issuesToFailures(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly (string | number)[] = [],
): Failure[] {
  const failures: Failure[] = [];
  // A value of the wrong type gets one message: zod may still run a size check on it ("at most 6").
  const wrongType = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => joinPath([], i.path)));
  for (const issue of issues) {
    if (valueAt(input, issue.path).some((v) => v === UNKNOWN)) continue;
    if (issue.code !== "invalid_type" && wrongType.has(joinPath([], issue.path))) continue;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        if (forbiddenName(key)) continue;
        failures.push({
          property: joinPath(prefix, [...issue.path, key]),
          reason: `unknown field '${key}': remove it or check its spelling`,
        });
      }
      continue;
    }
    const at = valueAt(input, issue.path);
    const missing = at.length === issue.path.length + 1 && at.at(-1) === undefined;
    // A missing value of a field the schema requires; a rule of our own about a missing field (e.g. a host key
    // that must be pinned) already says what to do.
    const reason =
      missing && issue.code === "invalid_type" && !issue.message.startsWith("is required")
        ? `is required: ${issue.message}`
        : issue.message;
    failures.push({ property: joinPath(prefix, issue.path), reason });
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
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    const what = "an object with persona fields such as mtu, congestionControl, qos, dns or routes";
    const example = 'e.g. {mtu: 1400, congestionControl: "bbr"}';
    const reason =
      input === undefined
        ? `is required: give ${what}, ${example}`
        : `must be ${what}, not ${receivedOf(input)}: ${example}`;
    return { ok: false, failures: [{ property: joinPath(prefix, []), reason }] };
  }
  const forbidden = forbiddenKeyFailures(input, prefix);
  const r = parseWith(personaSchema, input);
  if (!r.success || forbidden.length > 0) {
    return {
      ok: false,
      failures: [...forbidden, ...(r.success ? [] : issuesToFailures(r.error.issues, input, prefix))],
    };
  }
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

/**
 * For the SDK: `value` with every own `__proto__`, `constructor` or `prototype` key of its plain objects
 * renamed to FORBIDDEN_KEY_MARKER + key, so that Pulumi's serializer (which assigns `obj[key] = v`) cannot turn
 * it into a prototype, and `check` refuses it by its own name. Outputs, promises and other non-plain values
 * are left as they are; `value` itself is returned when it has no such key.
 */
export function markForbiddenKeys<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== "object" || depth > 64) return value;
  if (Array.isArray(value)) {
    const items = value.map((x) => markForbiddenKeys(x, depth + 1));
    return (items.some((x, i) => x !== value[i]) ? items : value) as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const marked = markForbiddenKeys(v, depth + 1);
    const name = (FORBIDDEN_KEYS as readonly string[]).includes(key) ? FORBIDDEN_KEY_MARKER + key : key;
    if (name !== key || marked !== v) changed = true;
    Object.defineProperty(out, name, { value: marked, enumerable: true, writable: true, configurable: true });
  }
  return (changed ? out : value) as T;
}
