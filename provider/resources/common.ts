// Shared pieces of the dynamic resource providers: the version input, meta keys and field-level diffs.
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

/** Compares the given keys of the old outputs and the new inputs; keys in `replaceKeys` force replacement. */
export function fieldDiff(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  keys: readonly string[],
  replaceKeys: readonly string[] = [],
): pulumi.dynamic.DiffResult {
  const changed = keys.filter((k) => !isDeepStrictEqual(olds[k] ?? null, news[k] ?? null));
  const replaces = changed.filter((k) => replaceKeys.includes(k));
  return {
    changes: changed.length > 0,
    replaces,
    deleteBeforeReplace: false,
  };
}

/** Prints a progress line; console output of a dynamic provider shows in the Pulumi CLI. */
export function progress(resource: string, message: string): void {
  console.log(`[netpersona] ${resource}: ${message}`);
}
