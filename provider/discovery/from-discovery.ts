// Turns a discovery result into persona arguments (what `Persona.fromDiscovery(...)` in the sdk hands to
// the Persona resource): the recommendation of a chosen class, or of the class that moved the most bytes.
import type { PersonaInput } from "../persona/schema";
import { validatePersona } from "../persona/validate";
import { APP_CLASSES, type AppClass, type DiscoveryResult, type DiscoverySummary } from "./types";

/** What choosing a recommendation needs of a discovery: also satisfied by an agent's Discover answer. */
export type Recommendations = Pick<DiscoveryResult, "recommendations" | "note"> & {
  summary: Pick<DiscoverySummary, "classes">;
};

export interface FromDiscoveryOptions {
  /** The class whose persona to use; defaults to the host's dominant class (most bytes). */
  applicationClass?: AppClass;
}

export function personaArgsFromDiscovery(
  result: Recommendations,
  opts: FromDiscoveryOptions = {},
): PersonaInput {
  const wanted = opts.applicationClass;
  if (wanted !== undefined && !APP_CLASSES.includes(wanted))
    throw new Error(`fromDiscovery: unknown class '${wanted}': use one of ${APP_CLASSES.join(", ")}`);
  if (result.recommendations.length === 0)
    throw new Error(
      `fromDiscovery: the discovery recommended no persona${result.note ? ` (${result.note})` : ""}`,
    );
  const byBytes = [...result.summary.classes]
    .sort((a, b) => b.bytes - a.bytes)
    .map((c) => c.applicationClass);
  const cls = wanted ?? byBytes.find((c) => result.recommendations.some((r) => r.applicationClass === c));
  const rec = result.recommendations.find((r) => r.applicationClass === cls);
  if (!rec) {
    const have = result.recommendations.map((r) => r.applicationClass).join(", ");
    throw new Error(
      `fromDiscovery: no recommendation for class '${cls}'; the discovery recommended: ${have}`,
    );
  }
  const v = validatePersona(rec.persona);
  if (!v.ok) throw new Error(`fromDiscovery: recommended persona is invalid: ${JSON.stringify(v.failures)}`);
  return v.value;
}
