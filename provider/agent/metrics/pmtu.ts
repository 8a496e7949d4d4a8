// Path MTU probing with DF-marked pings (`ping -M do -s SIZE -c 1 -W SEC ADDR`): a binary search between
// the minimum (576 for IPv4, 1280 for IPv6) and the outgoing link's MTU for the largest packet that passes.
// Each refused size says how: "frag-needed" (an ICMP error came back, or the kernel already knows the path
// MTU: "message too long") or "timeout" (no reply and no error: a PMTU black hole when the size is larger
// than one that passed).
import { isIP } from "node:net";

import { checkIfname } from "../../util/names";
import { runHere } from "./netns";

export type PingOutcome = "ok" | "frag-needed" | "timeout" | "error";

export interface PingResult {
  outcome: PingOutcome;
  /** The MTU named by the ICMP error or the kernel ("mtu = 1400", "mtu=1400"). */
  mtu?: number;
  /** The last line of ping's output for "error". */
  message?: string;
}

/** Classifies one `ping -c 1` run from its exit status and combined output. */
export function parsePing(code: number, output: string): PingResult {
  const frag = /(?:Frag needed and DF set \(mtu = |message too long, mtu=|Packet too big: mtu=)(\d+)/.exec(
    output,
  );
  if (frag) return { outcome: "frag-needed", mtu: Number(frag[1]) };
  if (code === 0 && /bytes from /.test(output)) return { outcome: "ok" };
  if (code === 1 && / 0 received/.test(output) && !/errors/.test(output)) return { outcome: "timeout" };
  const lines = output.trim().split("\n").filter(Boolean);
  return { outcome: "error", message: lines[lines.length - 1] ?? `ping exited ${code}` };
}

export interface PmtuProbe extends PingResult {
  /** IP packet size: ping payload + 28 (IPv4) or + 48 (IPv6). */
  size: number;
}

export interface PmtuSearch {
  /** Largest packet size that passed; 0 when even the minimum did not. */
  pathMtu: number;
  /** A size above pathMtu vanished without an error: something drops the ICMP "fragmentation needed". */
  blackhole: boolean;
  /** A size was refused with "fragmentation needed" (or the kernel's cached "message too long"). */
  fragNeeded: boolean;
  /** The MTU named by the first such error. */
  reportedMtu?: number;
  probes: PmtuProbe[];
}

/** The search itself, over any probe function (tests drive it with a fake path). */
export async function searchPathMtu(
  min: number,
  max: number,
  probe: (size: number) => Promise<PingResult>,
): Promise<PmtuSearch> {
  const probes: PmtuProbe[] = [];
  const tryIt = async (size: number) => {
    const r = await probe(size);
    probes.push({ size, ...r });
    return r;
  };
  const result = (pathMtu: number): PmtuSearch => {
    const refused = probes.filter((p) => p.size > pathMtu && p.outcome !== "ok");
    const firstFrag = probes.find((p) => p.outcome === "frag-needed");
    return {
      pathMtu,
      blackhole: pathMtu > 0 && refused.some((p) => p.outcome === "timeout"),
      fragNeeded: firstFrag !== undefined,
      reportedMtu: firstFrag?.mtu,
      probes,
    };
  };
  const first = await tryIt(min);
  if (first.outcome !== "ok") return result(0);
  if (max <= min) return result(min);
  let hint = (await tryIt(max)).mtu;
  if (probes[probes.length - 1].outcome === "ok") return result(max);
  let lo = min;
  let hi = max;
  while (hi - lo > 1) {
    const mid = hint !== undefined && hint > lo && hint < hi ? hint : Math.floor((lo + hi) / 2);
    const r = await tryIt(mid);
    hint = r.outcome === "ok" && mid === hint ? mid + 1 : r.mtu;
    if (r.outcome === "ok") lo = mid;
    else hi = mid;
  }
  return result(lo);
}

export interface PmtuOptions {
  /** Run ping inside this namespace (callers in the root namespace); default: the process's own. */
  netns?: string;
  /** Largest size to try; default the MTU of the interface the route to the peer leaves by. */
  max?: number;
  /** Attempts of a size that times out before it counts as refused (default 2: one lost ping is no black hole). */
  tries?: number;
  /** Seconds ping waits for the reply (default 1). */
  waitSeconds?: number;
}

export interface PmtuResult extends PmtuSearch {
  address: string;
  linkMtu: number;
  device: string;
}

/** The outgoing device towards `address` and its MTU (`ip -o route get`, `ip -o link show dev`). */
export async function linkMtuTowards(
  address: string,
  netns?: string,
): Promise<{ device: string; mtu: number }> {
  const route = (await runHere(["ip", "-o", "route", "get", address], netns)).stdout;
  const device = checkIfname("route device", /\bdev (\S+)/.exec(route)?.[1] ?? "");
  const link = (await runHere(["ip", "-o", "link", "show", "dev", device], netns)).stdout;
  const mtu = Number(/\bmtu (\d+)/.exec(link)?.[1]);
  if (!Number.isInteger(mtu)) throw new Error(`no MTU for ${device} in: ${link.trim()}`);
  return { device, mtu };
}

export async function probePathMtu(address: string, opts: PmtuOptions = {}): Promise<PmtuResult> {
  const family = isIP(address);
  if (family === 0) throw new Error(`path MTU: '${address}' is not an IP address`);
  const overhead = family === 6 ? 48 : 28;
  const min = family === 6 ? 1280 : 576;
  const link = await linkMtuTowards(address, opts.netns);
  const max = Math.min(opts.max ?? link.mtu, link.mtu);
  const tries = Math.max(1, opts.tries ?? 2);
  const wait = String(opts.waitSeconds ?? 1);
  const ping = async (size: number): Promise<PingResult> => {
    let r: PingResult = { outcome: "timeout" };
    for (let i = 0; i < tries && r.outcome === "timeout"; i++) {
      const argv = ["ping", family === 6 ? "-6" : "-4", "-n", "-M", "do", "-s", String(size - overhead)];
      const out = await runHere([...argv, "-c", "1", "-W", wait, address], opts.netns, false);
      r = parsePing(out.code, `${out.stdout}\n${out.stderr}`);
    }
    return r;
  };
  return { address, linkMtu: link.mtu, device: link.device, ...(await searchPathMtu(min, max, ping)) };
}
