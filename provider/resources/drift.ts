// Drift in the persona's own terms: what the kernel has, projected onto exactly the fields and keys the persona
// sets. The kernel fills in values the user left out (a device for a gateway route, a `via` for a prefix, a
// default route's device); those are not the persona's and never drift. Extra prefixes the persona does not
// list are not its business either.
import type { Persona } from "../persona/schema";

type Json = unknown;

function isPlain(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `live` cut down to the shape of `desired`: keys `desired` does not set are dropped, at every level. A key that
 *  `desired` sets and the kernel does not have stays absent (that is drift). Lists of route hints are matched
 *  by prefix; other lists (DNS servers, search domains, options) are compared as they are, order included. */
function project(desired: Json, live: Json, path: string): Json {
  if (live === undefined || live === null) return null;
  if (path === "routes.prefixes" && Array.isArray(desired) && Array.isArray(live)) {
    const byPrefix = new Map(live.filter(isPlain).map((h) => [h.prefix, h]));
    return desired
      .filter(isPlain)
      .flatMap((d) => (byPrefix.has(d.prefix) ? [project(d, byPrefix.get(d.prefix), `${path}[]`)] : []));
  }
  if (isPlain(desired) && isPlain(live)) {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(desired)) {
      const v = project(desired[k], live[k], path ? `${path}.${k}` : k);
      if (v !== null) out[k] = v;
    }
    return out;
  }
  return live;
}

/**
 * The kernel's persona in the terms of `desired`: equal to `desired` when nothing the persona manages was
 * changed by hand, and otherwise different in exactly the fields that were. `mtuScope` says how `mtu` is
 * applied, not a kernel value: it is the desired one.
 */
export function inPersonaTerms(desired: Persona, live: Persona): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(desired) as (keyof Persona)[]) {
    if (k === "mtuScope") out[k] = desired.mtuScope;
    else out[k] = project(desired[k], (live as Record<string, Json>)[k], k);
  }
  return out;
}
