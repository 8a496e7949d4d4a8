// How the agent's safe applies probe and report: the probe settings (daemon flags), the caller taken as the
// controller (from the gRPC peer), and the one log line per safe apply with its timings and probe results.
import { isIP } from "node:net";

import type { SafeApplyEnv } from "../safe-apply/env";
import type { ProbeResult, ProbeSpec } from "../safe-apply/probes";
import type { SafeApplyResult } from "../safe-apply/safe-apply";

export interface SafeApplyConfig {
  /** Injected parts of safe apply: how to start the watchdog (the bundle re-runs itself), how to probe. */
  env?: Partial<Pick<SafeApplyEnv, "startWatchdog" | "runProbes">>;
  /** The name the DNS probe asks the first nameserver for (any answer passes, NXDOMAIN included); "" turns
   *  the DNS probe off. Default "localhost". */
  dnsName?: string;
  /** Per probe; default 2000 ms. */
  probeTimeoutMs?: number;
}

/** Who asked: `address` (the gRPC peer's IP) is the controller that the controller probe pings. */
export interface Caller {
  address?: string;
}

/** The caller's IP from the gRPC peer ("10.0.0.1:34567", "[fd00::1]:34567", "ipv4:..."); none for a peer that
 *  is not an IP address. */
export function callerOf(call: { getPeer(): string }): Caller {
  const peer = call.getPeer().replace(/^ipv[46]:/, "");
  const m = /^\[([0-9A-Fa-f:.]+)\]:\d+$/.exec(peer) ?? /^([0-9.]+):\d+$/.exec(peer);
  const address = m?.[1]?.replace(/^::ffff:(?=\d+\.)/i, "");
  return address && isIP(address) !== 0 ? { address } : {};
}

/** Probes for one safe apply: the default gateway, the caller (ping), the first nameserver. */
export function probeSpec(cfg: SafeApplyConfig, caller: Caller): ProbeSpec {
  const dnsName = cfg.dnsName ?? "localhost";
  return {
    gateway: "auto",
    ...(caller.address && { controller: { host: caller.address } }),
    ...(dnsName && { dnsName }),
    timeoutMs: cfg.probeTimeoutMs ?? 2000,
  };
}

const probeList = (rs: ProbeResult[]) =>
  rs.map((r) => `${r.name} ${r.ok ? "ok" : "failed"}`).join(", ") || "none";

/** "apply ID pending: probes before 50 ms (gateway ok, ...), snapshot 61 ms, apply+verify 115 ms, ..." */
export function timingLine(what: string, r: SafeApplyResult): string {
  const t = r.timings;
  return (
    `${what} ${r.applyId} ${r.outcome}: probes before ${t.probeBeforeMs} ms (${probeList(r.probesBefore)}), ` +
    `snapshot ${t.snapshotMs} ms, apply+verify ${t.applyVerifyMs} ms, ` +
    `probes after ${t.probeAfterMs} ms (${probeList(r.probesAfter)}), total ${t.totalMs} ms`
  );
}
