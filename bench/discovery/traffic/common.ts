// Shared by the traffic programs: a seeded random generator, `--key value` arguments, clean shutdown, and the
// ssh options the mixes use to reach a lab host.
import type { LabInventory } from "../../../provider/lab";

/** mulberry32: small, fast, deterministic for a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform draw in [lo, hi]. */
export function between(r: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}

/** Parses `--key value` pairs; every listed key is required and must be a number unless it is in `strings`. */
export function args<K extends string>(
  argv: readonly string[],
  numbers: readonly K[],
  strings: readonly string[] = [],
): Record<K, number> & Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, "");
    const value = argv[i + 1];
    if (!key || value === undefined) throw new Error(`expected --key value pairs, got ${argv.join(" ")}`);
    if (strings.includes(key)) out[key] = value;
    else if (Number.isFinite(Number(value))) out[key] = Number(value);
    else throw new Error(`--${key}: '${value}' is not a number`);
  }
  for (const k of numbers) if (typeof out[k] !== "number") throw new Error(`--${k} is required`);
  return out as Record<K, number> & Record<string, string | number>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Exits quietly on SIGTERM/SIGINT after `cleanup`. */
export function onStop(cleanup: () => void = () => undefined): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(0);
    });
  }
}

/** ssh options for a lab host: the inventory's key, its pinned known_hosts only, no prompt, no agent keys. */
export function sshOptions(inv: LabInventory): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    inv.clientKeyPath,
    "-o",
    `UserKnownHostsFile=${inv.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
  ];
}
