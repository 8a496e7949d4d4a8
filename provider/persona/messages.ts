// Our words for every validation problem. zod's own messages ("Too small: expected number to be >=0") name
// neither the rule in the user's terms nor the fix, so every parse runs with `issueMessage` as its error map:
// messages written on a schema (`.max(9000, "must be at most 9000 (jumbo frames)")`) still win, and every
// other issue is rendered here as "<problem>: <fix>". The field path is added by the caller.
import type { z } from "zod";

type Schema = z.core.$ZodType;
type RawIssue = z.core.$ZodRawIssue & {
  input?: unknown;
  inst?: unknown;
  schema?: Schema;
  path?: PropertyKey[];
};

interface Def {
  type?: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  in?: Schema;
  element?: Schema;
  valueType?: Schema;
  entries?: Record<string, unknown>;
  values?: unknown[];
  checks?: unknown[];
}

const defOf = (s: unknown): Def => ((s as { _zod?: { def?: Def } })?._zod?.def ?? {}) as Def;

/** The bounds and format a number schema's checks set (zod fills `_zod.bag` only lazily). */
function boundsOf(s: unknown): { min?: number; max?: number; whole: boolean } {
  const d = defOf(s) as Def & { format?: string };
  let whole = /int/.test(d.format ?? "");
  let min: number | undefined;
  let max: number | undefined;
  for (const c of d.checks ?? []) {
    const cd = defOf(c) as { check?: string; value?: unknown; format?: string };
    if (cd.check === "greater_than" && typeof cd.value === "number") min = cd.value;
    if (cd.check === "less_than" && typeof cd.value === "number") max = cd.value;
    if (cd.check === "number_format" && /int/.test(cd.format ?? "")) whole = true;
  }
  return { min: finite(min), max: finite(max), whole };
}

const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"]);

/** The schema at `path` under `root`, unwrapping optional/default/pipe, and whether its field is optional. */
export function schemaAt(root: Schema, path: readonly PropertyKey[]): { schema?: Schema; optional: boolean } {
  let cur: Schema | undefined = root;
  let optional = false;
  for (const key of path) {
    cur = unwrap(cur);
    const d = defOf(cur);
    if (d.type === "object" && typeof key === "string") cur = d.shape?.[key];
    else if (d.type === "array" && typeof key === "number") cur = d.element;
    else if (d.type === "record") cur = d.valueType;
    else return { optional: false };
    const optin = (cur as { _zod?: { optin?: string } } | undefined)?._zod?.optin;
    optional = optin === "optional" || optin === "defaulted";
  }
  return { schema: unwrap(cur), optional };
}

function unwrap(s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur; i++) {
    const d = defOf(cur);
    if (d.type && WRAPPERS.has(d.type)) cur = d.innerType;
    else if (d.type === "pipe") cur = d.in;
    else break;
  }
  return cur;
}

/** "a whole number from 0 to 7", "one of: a, b", "an object with fields such as x, y", ... */
export function expectedOf(schema: unknown, expected?: string): string {
  const s = unwrap(schema as Schema);
  const d = defOf(s);
  const type = d.type ?? expected;
  switch (type) {
    case "number":
    case "int":
    case "bigint": {
      const b = boundsOf(s);
      const noun = b.whole || type !== "number" || expected === "int" ? "a whole number" : "a number";
      const { min, max } = b;
      if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
      if (min !== undefined) return `${noun} of at least ${min}`;
      if (max !== undefined) return `${noun} of at most ${max}`;
      return noun;
    }
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "enum":
      return `one of: ${Object.values(d.entries ?? {}).join(", ")}`;
    case "literal":
      return `one of: ${(d.values ?? []).map((v) => JSON.stringify(v)).join(", ")}`;
    case "array":
    case "tuple":
      return "a list";
    case "object": {
      const keys = Object.keys(d.shape ?? {});
      return keys.length ? `an object with fields such as ${keys.slice(0, 6).join(", ")}` : "an object";
    }
    case "record":
    case "map":
      return "an object";
    case "null":
      return "null";
    default:
      return type ? `a value of type ${type}` : "a valid value";
  }
}

// Safe integer bounds are zod's way of saying "no bound" for z.int().
function finite(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
}

/** "a string", "a number", "a list", "an object", "true" ... : what the user gave, never the value itself
 *  (it may be a secret). */
export function receivedOf(input: unknown): string {
  if (input === null) return "null";
  if (input === undefined) return "nothing";
  if (Array.isArray(input)) return "a list";
  switch (typeof input) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(input) ? "a whole number" : "a number";
    case "boolean":
      return String(input);
    case "object":
      return "an object";
    default:
      return `a ${typeof input}`;
  }
}

function fixFor(schema: unknown, expected: string, input: unknown): string {
  const type = defOf(unwrap(schema as Schema)).type;
  if (
    (type === "number" || type === "int") &&
    typeof input === "string" &&
    input.trim() !== "" &&
    !isNaN(+input)
  )
    return "write the number without quotes";
  if (type === "boolean" && (input === "true" || input === "false"))
    return "write true or false without quotes";
  if (type === "array" && input !== null && typeof input !== "object")
    return "put the value in a list: [value]";
  if (type === "object") {
    const first = Object.keys(defOf(unwrap(schema as Schema)).shape ?? {})[0];
    return first ? `give its fields as an object, e.g. {${first}: ...}` : "give an object";
  }
  const short = expected.replace(/ (from|of at|with fields) .*$/, "");
  return `change it to ${short}`;
}

/** The schema's own description, as a clause: "the stack CA certificate (StackCa.certPem)". */
function describedAs(schema: unknown): string | undefined {
  const text = (schema as { description?: unknown })?.description;
  if (typeof text !== "string" || text === "") return undefined;
  // "The stack CA" → "the stack CA", but an acronym stays as it is ("DNS servers", "MTU in bytes").
  const first = /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() : text.charAt(0);
  return first + text.slice(1).replace(/\.$/, "");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sizeMessage(iss: RawIssue & { origin?: string; inclusive?: boolean }, small: boolean): string {
  const bound = Number((iss as { minimum?: unknown; maximum?: unknown })[small ? "minimum" : "maximum"]);
  const input = iss.input;
  switch (iss.origin) {
    case "string": {
      const len = typeof input === "string" ? input.length : 0;
      if (small && bound === 1) return "must not be empty: give a value";
      return small
        ? `is too short (${plural(len, "character")}): give at least ${plural(bound, "character")}`
        : `is too long (${plural(len, "character")}): shorten it to at most ${plural(bound, "character")}`;
    }
    case "array":
    case "set": {
      const len = Array.isArray(input) ? input.length : 0;
      return small
        ? `must list at least ${plural(bound, "item")}: add ${bound - len} more`
        : `must list at most ${plural(bound, "item")}, not ${len}: remove ${len - bound}`;
    }
    default: {
      const what = small
        ? iss.inclusive === false
          ? `must be greater than ${bound}`
          : `must be at least ${bound}`
        : iss.inclusive === false
          ? `must be less than ${bound}`
          : `must be at most ${bound}`;
      return `${what}: give ${expectedOf(iss.schema, "number")}`;
    }
  }
}

/**
 * zod error map: our message for issues that carry no message of their own. Returns undefined (zod's default)
 * only if rendering fails, since zod swallows an exception thrown here.
 */
export function issueMessage(issue: unknown, root?: Schema): string | undefined {
  try {
    const iss = issue as RawIssue & Record<string, unknown>;
    switch (iss.code) {
      case "invalid_type": {
        const expected = expectedOf(iss.inst, iss.expected as string);
        if (iss.input === undefined) {
          const about = describedAs(iss.inst);
          return `is required: give ${expected}${about ? ` (${about})` : ""}`;
        }
        if (iss.input === null) {
          const optional = root && iss.path ? schemaAt(root, iss.path).optional : false;
          return `must be ${expected}, not null: ${optional ? `give one or leave the field out` : `give ${expected}`}`;
        }
        return `must be ${expected}, not ${receivedOf(iss.input)}: ${fixFor(iss.inst, expected, iss.input)}`;
      }
      case "too_small":
        return sizeMessage(iss, true);
      case "too_big":
        return sizeMessage(iss, false);
      case "invalid_value": {
        const values = ((iss.values as unknown[]) ?? []).map((v) =>
          typeof v === "string" ? v : JSON.stringify(v),
        );
        const near =
          typeof iss.input === "string"
            ? values.find((v) => v.toLowerCase() === (iss.input as string).toLowerCase())
            : undefined;
        return near
          ? `is not one of the allowed values: did you mean '${near}'?`
          : `is not one of the allowed values: use one of ${values.join(", ")}`;
      }
      case "invalid_format":
        return `is not a valid ${String(iss.format)}: check its form`;
      case "not_multiple_of":
        return `must be a multiple of ${String(iss.divisor)}: round it`;
      case "unrecognized_keys": {
        const keys = (iss.keys as string[]) ?? [];
        return `unknown field${keys.length === 1 ? "" : "s"} ${keys.map((k) => `'${k}'`).join(", ")}: remove ${keys.length === 1 ? "it" : "them"} or check the spelling`;
      }
      case "invalid_union": {
        const options = ((iss.errors as { path?: PropertyKey[]; message: string }[][]) ?? []).map((errs) =>
          errs
            .map((e) => `${e.path?.length ? `${e.path.map(String).join(".")} ` : ""}${e.message}`)
            .join(", "),
        );
        return options.length
          ? `matches none of the accepted forms: fix it as one of them: ${options.map((o, i) => `(${i + 1}) ${o}`).join("; ")}`
          : "matches none of the accepted forms: check the documentation of this field";
      }
      case "invalid_key":
        return "has an invalid key: check the keys of this object";
      case "invalid_element":
        return "has an invalid element: check the values of this list";
      case "custom":
        return "is not valid: check the value against the documentation of this field";
      default:
        return `is not valid (${String((iss as { code?: unknown }).code)}): check the value`;
    }
  } catch {
    return undefined;
  }
}
