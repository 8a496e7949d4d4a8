// Shared pieces of the dynamic resource providers: the version input, meta keys and field-level diffs.
import { AsyncLocalStorage } from "node:async_hooks";
import { isDeepStrictEqual } from "node:util";

import type * as pulumi from "@pulumi/pulumi";

export const PACKAGE_VERSION: string = require("../../../package.json").version;

/** Input every resource carries so that newer code can read state written by older code. */
export const VERSION_KEY = "netpersonaVersion";
const META_KEYS = new Set(["__provider", VERSION_KEY]);

/** The user's inputs without the engine's and our own bookkeeping keys. */
export function userInputs(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !META_KEYS.has(k)));
}

/** The sentinel the engine sends for a value that is unknown during preview (also nested in objects/arrays). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * True only when `a` and `b` differ in a part of `b` that is known: an unknown value (the preview sentinel,
 * anywhere inside `b`) may turn out equal, so it never counts as a difference here. Absent and null are the same.
 */
export function knownDiffers(a: unknown, b: unknown): boolean {
  if (b === UNKNOWN_VALUE) return false;
  const x = a ?? null;
  const y = b ?? null;
  if (Array.isArray(x) && Array.isArray(y))
    return x.length !== y.length || y.some((v, i) => knownDiffers(x[i], v));
  if (isPlainObject(x) && isPlainObject(y))
    return [...new Set([...Object.keys(x), ...Object.keys(y)])].some((k) => knownDiffers(x[k], y[k]));
  return !isDeepStrictEqual(x, y);
}

/** Something with zod's `safeParse`: a field of an input schema. */
interface FieldSchema {
  safeParse(v: unknown): { success: boolean; data?: unknown };
}

/**
 * `news` with every KNOWN value normalised by its field's schema (defaults filled in, also nested). When any
 * input is unknown at preview, check hands back the inputs as the program gave them; a default the program
 * left out must not then read as a change (e.g. `installDir` absent vs the recorded "/opt/netpersona").
 */
export function normalisedKnown(
  shape: Record<string, FieldSchema>,
  news: Record<string, unknown>,
  olds: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...news };
  for (const [k, schema] of Object.entries(shape)) {
    // Absent on both sides (state written before the field existed): nothing to compare.
    if (news[k] === undefined && olds[k] === undefined) continue;
    if (JSON.stringify(news[k] ?? null).includes(UNKNOWN_VALUE)) continue;
    const r = schema.safeParse(news[k]);
    if (r.success && r.data !== undefined) out[k] = r.data;
  }
  return out;
}

/**
 * Compares the given keys of the old outputs and the new inputs. A key whose new value is unknown at preview
 * counts as changed (an update: `up` compares again with the real value), but only a known difference in a
 * key of `replaceKeys` plans a replacement, so a preview never promises a replacement that `up` would not do.
 */
export function fieldDiff(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  keys: readonly string[],
  replaceKeys: readonly string[] = [],
): pulumi.dynamic.DiffResult & { changed: string[] } {
  const changed = keys.filter((k) => !isDeepStrictEqual(olds[k] ?? null, news[k] ?? null));
  const replaces = changed.filter((k) => replaceKeys.includes(k) && knownDiffers(olds[k], news[k]));
  return {
    changes: changed.length > 0,
    replaces,
    deleteBeforeReplace: false,
    changed,
  };
}

/** Where the progress lines of the current provider call go, when not to stdout (see `withProgressSink`). */
const progressSinks = new AsyncLocalStorage<(line: string) => void>();

/**
 * Runs `f` with its progress lines sent to `sink`. The provider plugin needs it: the engine shows a dynamic
 * provider's stdout but hides a resource plugin's, so the plugin sends each call's lines to the engine's log,
 * attributed to the resource (provider/plugin/engine-log.ts). Calls run concurrently: the sink follows each one.
 */
export function withProgressSink<T>(sink: (line: string) => void, f: () => Promise<T>): Promise<T> {
  return progressSinks.run(sink, f);
}

/** Prints a progress line; console output of a dynamic provider shows in the Pulumi CLI. */
export function progress(resource: string, message: string): void {
  const line = `[netpersona] ${resource}: ${message}`;
  const sink = progressSinks.getStore();
  if (sink) sink(line);
  else console.log(line);
}

/**
 * `value` as the engine can store it. Everything a provider method returns goes through google-protobuf's
 * `Struct.fromJavaScript`, which throws "Unexpected struct type." on `undefined` (and would flatten a class
 * instance): keys whose value is undefined are left out, undefined list elements become null, and anything
 * that is not plain data fails here with the path, so a bug reads as one.
 */
export function wireSafe(value: unknown, where = "value"): unknown {
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (depth > 100) throw new Error(`netpersona: ${path} is nested too deeply to store`);
    if (Array.isArray(v))
      return v.map((x, i) => (x === undefined ? null : walk(x, `${path}[${i}]`, depth + 1)));
    if (typeof v === "object") {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null)
        throw new Error(
          `netpersona: ${path} is a ${proto?.constructor?.name ?? "non-plain object"}, which the engine cannot store (a provider bug)`,
        );
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // defineProperty: a key named __proto__ stays a key and never replaces the prototype.
        if (x !== undefined)
          Object.defineProperty(out, k, {
            value: walk(x, `${path}.${k}`, depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      return out;
    }
    throw new Error(`netpersona: ${path} is a ${typeof v}, which the engine cannot store (a provider bug)`);
  };
  return walk(value, where, 0);
}

/**
 * Check failures in the form the engine prints well. The engine looks `property` up as a TOP-LEVEL key of the
 * program's inputs and prints that value (`property mtu value {70000} has a problem: ...`); a nested path such
 * as `qos.class` is not a key, so it prints `{<nil>}`, and a nested object prints as a Go map. So `property`
 * is kept only for a top-level key holding a plain scalar that is not one of the resource's secret inputs (the
 * engine would print a secret's plaintext); every other failure gets no property and carries its path in the
 * reason: `... has a problem: qos.class: must be one of ...`.
 */
export function engineFailures(
  failures: readonly { property: string; reason: string }[],
  news: Record<string, unknown>,
  secretInputs: readonly string[] = [],
): { property: string; reason: string }[] {
  const seen = new Set<string>();
  const out: { property: string; reason: string }[] = [];
  for (const f of failures) {
    const key = `${f.property}\u0000${f.reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const value = Object.prototype.hasOwnProperty.call(news, f.property) ? news[f.property] : undefined;
    const scalar = typeof value === "string" || typeof value === "number" || typeof value === "boolean";
    if (scalar && !secretInputs.includes(f.property) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(f.property)) {
      out.push({ property: f.property, reason: f.reason });
    } else {
      out.push({ property: "", reason: f.property === "(root)" ? f.reason : `${f.property}: ${f.reason}` });
    }
  }
  return out;
}
