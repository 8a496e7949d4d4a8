// What a session measures of the target before traffic takes it (the shadow persona's own path): echo probes
// to the peer routed only through the target's preferred gateway (host/path-steer.ts), and queries to the DNS
// servers the target adds. Both run from the first decision on, at weight 0, so the gates (targetLossPct,
// targetRttP90Ms, dnsLossPct) can roll a bad target back before a single flow moves to it. The mixed probes
// (probes.ts) still see what the blend does to the traffic.
import { isIP } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import type { MetricsWindow } from "../../engine";
import type { Persona } from "../../persona/schema";
import { PATH_SLOTS, steerPath, unsteerPath } from "../host/path-steer";
import { runHere } from "../metrics/netns";
import { EchoProber } from "../metrics/prober";
import { dns } from "../safe-apply/probes";

/** Sockets of the target-path prober: spread like the traffic would be over whatever lies past the gateway. */
const TARGET_PROBE_PORTS = 4;
/** At most this many DNS servers a target adds are probed (resolv.conf honours 3). */
const MAX_DNS_SERVERS = 3;
/** Queries per server and second, at most: a production resolver should not notice. */
const DNS_MIN_SPACING_MS = 250;

export type TargetMetrics = Pick<MetricsWindow, "targetRttP90Ms" | "targetLossRatio" | "dnsLossRatio">;

export interface TargetProbeOptions {
  source: Persona;
  target: Persona | undefined;
  peer: string;
  port: number;
  spacingMs: number;
  windowMs: number;
  /** The name asked (the agent's safe-apply DNS probe name; "" turns the DNS probe off). */
  dnsName: string;
  netns?: string;
  log: (line: string) => void;
}

/** The target's gateway when it differs from the source's, in the peer's family; else undefined. */
export function targetGateway(
  source: Persona,
  target: Persona | undefined,
  peer: string,
): { via: string; dev?: string } | undefined {
  const t = target?.routes;
  if (!t?.preferredGateway || isIP(t.preferredGateway) !== isIP(peer)) return undefined;
  const s = source.routes;
  if (s?.preferredGateway === t.preferredGateway && s?.preferredDevice === t.preferredDevice)
    return undefined;
  return { via: t.preferredGateway, ...(t.preferredDevice !== undefined && { dev: t.preferredDevice }) };
}

/** The DNS servers the target lists and the source does not (at most 3, in the target's order). */
export function newDnsServers(source: Persona, target: Persona | undefined): string[] {
  const had = new Set(source.dns?.servers ?? []);
  return (target?.dns?.servers ?? []).filter((s) => !had.has(s)).slice(0, MAX_DNS_SERVERS);
}

/** A rolling window of one server's query outcomes. */
class DnsWindow {
  private readonly outcomes: { at: number; ok: boolean }[] = [];
  constructor(private readonly windowMs: number) {}
  note(ok: boolean): void {
    const now = Date.now();
    this.outcomes.push({ at: now, ok });
    while (this.outcomes.length > 0 && now - this.outcomes[0].at > this.windowMs) this.outcomes.shift();
    if (this.outcomes.length > 1000) this.outcomes.shift();
  }
  lossRatio(): number | undefined {
    if (this.outcomes.length === 0) return undefined;
    return this.outcomes.filter((o) => !o.ok).length / this.outcomes.length;
  }
}

/** Steering slots in use by this agent's running sessions (each session its own table, mark and rule). */
const slotsInUse = new Set<number>();

function takeSlot(): number | undefined {
  for (let i = 0; i < PATH_SLOTS; i++)
    if (!slotsInUse.has(i)) {
      slotsInUse.add(i);
      return i;
    }
  return undefined;
}

export class TargetProbes {
  private prober: EchoProber | undefined;
  private slot: number | undefined;
  private readonly dnsWindows = new Map<string, DnsWindow>();
  private readonly stop$ = new AbortController();
  private dnsLoops: Promise<void>[] = [];
  private startedAt = 0;

  constructor(readonly o: TargetProbeOptions) {}

  /** Starts what the target changes; nothing when it changes neither the gateway nor the DNS servers. A
   *  gateway that cannot be steered to (not on a connected network) is said in the log and left unprobed. */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    const gw = targetGateway(this.o.source, this.o.target, this.o.peer);
    if (gw && (await this.peerBehindGateway())) {
      const prober = new EchoProber([{ name: "target-path", address: this.o.peer, port: this.o.port }], {
        intervalMs: this.o.spacingMs,
        timeoutMs: 1000,
        window: Math.max(10, Math.ceil(this.o.windowMs / this.o.spacingMs)),
        sourcePorts: TARGET_PROBE_PORTS,
      });
      const slot = takeSlot();
      if (slot === undefined) {
        this.o.log(`target path: not probed (all ${PATH_SLOTS} steering slots are in use)`);
      } else {
        await prober.open();
        try {
          await steerPath(
            slot,
            { peer: this.o.peer, peerPort: this.o.port, sourcePorts: prober.localPorts(), ...gw },
            this.o.netns,
          );
          prober.start();
          this.prober = prober;
          this.slot = slot;
          this.o.log(`target path: probing ${this.o.peer} through the target's gateway ${gw.via}`);
        } catch (err) {
          await prober.close();
          await unsteerPath(slot, this.o.netns).catch(() => undefined);
          slotsInUse.delete(slot);
          this.o.log(`target path: not probed (${(err as Error).message.split("\n")[0]})`);
        }
      }
    }
    if (this.o.dnsName === "") return;
    const servers = newDnsServers(this.o.source, this.o.target);
    const spacing = Math.max(DNS_MIN_SPACING_MS, this.o.spacingMs);
    for (const server of servers) {
      const w = new DnsWindow(this.o.windowMs);
      this.dnsWindows.set(server, w);
      this.dnsLoops.push(this.queryLoop(server, w, spacing));
    }
    if (servers.length > 0) this.o.log(`target DNS: querying ${servers.join(", ")} for '${this.o.dnsName}'`);
  }

  /** Only a peer reached through a gateway has a path the target's gateway changes. */
  private async peerBehindGateway(): Promise<boolean> {
    const r = await runHere(["ip", "-o", "route", "get", this.o.peer], this.o.netns, false);
    return r.code === 0 && / via /.test(r.stdout);
  }

  private async queryLoop(server: string, w: DnsWindow, spacingMs: number): Promise<void> {
    const signal = this.stop$.signal;
    while (!signal.aborted) {
      const started = Date.now();
      // Each query waits at most one spacing (at least 1 s): a silent server is lost, not queued.
      const [ok] = await dns(server, this.o.dnsName, Math.max(1000, spacingMs));
      if (signal.aborted) return;
      w.note(ok);
      const rest = spacingMs - (Date.now() - started);
      if (rest > 0) await sleep(rest, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Waits until the probes have covered one detection window (the first decision sees a full one). */
  async firstWindow(signal: AbortSignal): Promise<void> {
    if (!this.prober && this.dnsWindows.size === 0) return;
    const rest = this.o.windowMs + 1000 - (Date.now() - this.startedAt);
    if (rest > 0) await sleep(rest, undefined, { signal }).catch(() => undefined);
  }

  /** The target metrics now; a metric nothing measured is absent (its gates are not evaluated). */
  summary(): TargetMetrics {
    const out: TargetMetrics = {};
    const round = (v: number) => Math.round(v * 1000) / 1000;
    const s = this.prober?.stats()[0];
    if (s && s.sent - s.pending > 0) {
      out.targetLossRatio = round(s.lossRatio);
      if (s.rtt) out.targetRttP90Ms = round(s.rtt.p90Ms);
    }
    const losses = [...this.dnsWindows.values()].flatMap((w) => {
      const l = w.lossRatio();
      return l === undefined ? [] : [l];
    });
    if (losses.length > 0) out.dnsLossRatio = round(Math.max(...losses));
    return out;
  }

  async stop(): Promise<void> {
    this.stop$.abort();
    await Promise.all(this.dnsLoops);
    // Idempotent: the session stops the probes before its final event and again on its way out.
    await this.prober?.close();
    this.prober = undefined;
    if (this.slot !== undefined) {
      const slot = this.slot;
      await unsteerPath(slot, this.o.netns).catch((e: Error) =>
        this.o.log(`target path: cleanup: ${e.message}`),
      );
      slotsInUse.delete(slot);
      this.slot = undefined;
    }
  }
}
