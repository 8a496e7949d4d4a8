// Parsing and merging of `lab impair` options into per-link impairments (pure; no kernel access).
import type { LabInventory, LinkImpairment } from "./types";

export interface ImpairOptions {
  link: string;
  loss?: number | string;
  rate?: string;
  mtu?: number | string;
  pmtuBlackhole?: boolean;
  delay?: string;
  clear?: boolean;
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** `10mbit`, `1.5mbit`, `500kbit`, `1gbit` or a plain number of bits per second. */
export function parseRate(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)?$/.exec(value.trim().toLowerCase());
  const bits = m ? Math.round(Number(m[1]) * RATE_UNITS[m[2] ?? "bit"]) : NaN;
  if (!(bits >= 8000 && bits <= 100e9)) {
    throw new Error(
      `--rate: '${value}' is not a rate from 8kbit to 100gbit: write e.g. 10mbit, 500kbit, 1gbit`,
    );
  }
  return bits;
}

/** `50ms`, `0.5s` or a plain number of milliseconds. */
export function parseDelay(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim().toLowerCase());
  const ms = m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : NaN;
  if (!(ms >= 0 && ms <= 60_000))
    throw new Error(`--delay: '${value}' is not a delay from 0 to 60s: write e.g. 50ms`);
  return ms;
}

function parseIntIn(field: string, value: number | string, min: number, max: number): number {
  const n = typeof value === "number" ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${field}: '${value}' must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Resolves `A:B` (network names or 1-based numbers) to network names of the lab. */
export function parseLink(inv: LabInventory, spec: string): { from: string; to: string } {
  const parts = spec.split(":");
  const find = (p: string) => inv.networks.find((n) => n.name === p || String(n.index) === p)?.name;
  const from = parts.length === 2 ? find(parts[0]) : undefined;
  const to = parts.length === 2 ? find(parts[1]) : undefined;
  if (!from || !to || from === to) {
    const names = inv.networks.map((n) => n.name).join(", ");
    throw new Error(
      `--link: '${spec}' is not FROM:TO of two different networks of lab '${inv.name}' (${names})`,
    );
  }
  return { from, to };
}

/** The list of impairments after applying `opts` to it. */
export function mergeImpairment(
  inv: LabInventory,
  list: LinkImpairment[],
  opts: ImpairOptions,
): LinkImpairment[] {
  const { from, to } = parseLink(inv, opts.link);
  const rest = list.filter((l) => !(l.from === from && l.to === to));
  const prev = list.find((l) => l.from === from && l.to === to);
  if (opts.clear) return rest;
  const next: LinkImpairment = { ...(prev ?? { from, to }) };
  if (opts.loss !== undefined) next.lossPercent = parseIntIn("--loss", opts.loss, 0, 100);
  if (opts.rate !== undefined) next.rateBitsPerSecond = parseRate(opts.rate);
  if (opts.mtu !== undefined) next.mtu = parseIntIn("--mtu", opts.mtu, 576, 1500);
  if (opts.pmtuBlackhole) next.pmtuBlackhole = true;
  if (opts.delay !== undefined) next.delayMs = parseDelay(opts.delay);
  if (next.lossPercent === 0) delete next.lossPercent;
  if (next.delayMs === 0) delete next.delayMs;
  const empty = Object.keys(next).every((k) => k === "from" || k === "to");
  return empty ? rest : [...rest, next];
}
