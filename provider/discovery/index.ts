// Automated persona discovery as a library: sample a host's live TCP flows over a window, classify each
// flow, summarise the host and recommend a persona per class. The agent's Discover RPC, the CLI
// (`netpersona discover`) and the sdk call `discover`; `toDiscoverResponse` maps a result onto the proto.
import { analyse } from "./analyse";
import type { HintOptions } from "./hints";
import { sampleFlows } from "./sampler";
import type { DiscoveryResult } from "./types";

export { analyse, noTrafficNote } from "./analyse";
export { CATALOGUE, recommendPersona } from "./catalogue";
export { classifyFlow } from "./classify";
export { personaArgsFromDiscovery } from "./from-discovery";
export { toDiscoverResponse } from "./wire";
export * from "./types";

export interface DiscoverOptions extends HintOptions {
  /** Sample inside this network namespace (a lab host); the current namespace otherwise. */
  netns?: string;
  /** Window length in milliseconds (1 s .. 600 s). */
  windowMs: number;
  /** Time between socket samples in milliseconds (50 .. 10 000, at most a tenth of the window). */
  sampleEveryMs: number;
  /** Stops the sampling (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

export const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Why the options are unusable, or undefined. */
export function discoverOptionsProblem(o: DiscoverOptions): string | undefined {
  if (o.netns !== undefined && !NETNS_RE.test(o.netns))
    return `netns '${o.netns}' is not a namespace name (letters, digits, '_', '.', '-')`;
  if (!Number.isInteger(o.windowMs) || o.windowMs < 1000 || o.windowMs > 600_000)
    return `window must be between 1 s and 600 s, got ${o.windowMs} ms`;
  if (!Number.isInteger(o.sampleEveryMs) || o.sampleEveryMs < 50 || o.sampleEveryMs > 10_000)
    return `sample interval must be between 50 ms and 10 s, got ${o.sampleEveryMs} ms`;
  if (o.sampleEveryMs * 10 > o.windowMs)
    return `sample interval ${o.sampleEveryMs} ms is too long for a ${o.windowMs} ms window: take at least 10 samples`;
  return undefined;
}

/** Samples, classifies and recommends. Rejects bad options before any command runs. */
export async function discover(opts: DiscoverOptions): Promise<DiscoveryResult> {
  const problem = discoverOptionsProblem(opts);
  if (problem) throw new Error(`discover: ${problem}`);
  const window = await sampleFlows(opts);
  return analyse(window, opts);
}
