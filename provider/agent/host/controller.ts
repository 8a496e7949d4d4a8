// The host controller: applies personas to the kernel of one host (the current namespace, or a named one
// managed from outside), idempotently, verified by reading the kernel back.
import { isIP } from "node:net";

import { QOS_CLASSES, personaSchema, type Persona } from "../../persona/schema";
import { normalizePersona } from "../../persona/validate";
import { checkIfname } from "../../util/names";
import { VerifyError, type Action } from "./actions";
import type { ApplyOutcome, HostController, HostSnapshot, LivePersona, PlanStep } from "./api";
import { sameDns, writeResolvDns } from "./dns";
import { planCcSysctl, planLinkMtu } from "./links";
import { renderNft, sameQos, writeNft, type QosState } from "./nft";
import { planEcmp, planRoutes, type EcmpNexthop } from "./route-applier";
import { asSnapshot, restoreSnapshot, takeSnapshot } from "./snapshot";
import { resolvedRuns, resolvedWant, writeResolved } from "./dns-resolved";
import { egressDevices, livePersona, readKernelState, type DnsBackend, type KernelState } from "./state";
import { planHtb } from "./tc";

export interface HostControllerOptions {
  /** Manage this network namespace from outside (`ip netns exec`); unset: the namespace this process is in. */
  netns?: string;
  /** The resolv.conf the host's processes read. Default: /etc/netns/<netns>/resolv.conf (what `ip netns exec`
   *  shows the namespace as /etc/resolv.conf) with `netns`, else /etc/resolv.conf. */
  resolvConfPath?: string;
  /** "auto" (default): systemd-resolved when it runs here and neither `netns` nor `resolvConfPath` is given,
   *  else the resolv.conf file. */
  dnsBackend?: "auto" | DnsBackend;
}

export interface NetpersonaHostController extends HostController {
  readonly netns?: string;
  readonly resolvConfPath: string;
  /** Marks `sharePercent` (1-100) of TCP flows (flow-consistent jhash) with the class; `undefined` removes the
   *  agent's QoS table and qdiscs. For blending. */
  applyQos(qos: Persona["qos"], sharePercent?: number): Promise<ApplyOutcome>;
  /** Weighted ECMP default route (`nexthop via A weight 1 nexthop via B weight 3`), for blending. */
  applyEcmp(nexthops: EcmpNexthop[]): Promise<ApplyOutcome>;
  /** The raw kernel state, for diagnostics and tests. */
  readState(): Promise<KernelState>;
}

function fileAction(field: string, description: string, path: string, write: () => Promise<void>): Action {
  return { step: { field, description, command: ["write-file", path] }, run: write };
}

export function createHostController(opts: HostControllerOptions = {}): NetpersonaHostController {
  const netns = opts.netns === undefined ? undefined : checkIfname("netns", opts.netns);
  const resolvConfPath =
    opts.resolvConfPath ?? (netns ? `/etc/netns/${netns}/resolv.conf` : "/etc/resolv.conf");

  const explicitFile = netns !== undefined || opts.resolvConfPath !== undefined;
  let backend: Promise<DnsBackend> | undefined;
  const dnsBackend = (): Promise<DnsBackend> => {
    if (opts.dnsBackend && opts.dnsBackend !== "auto") return Promise.resolve(opts.dnsBackend);
    backend ??= explicitFile
      ? Promise.resolve("file")
      : resolvedRuns().then((r) => (r ? "resolved" : "file"));
    return backend;
  };
  const readState = async () => readKernelState(netns, resolvConfPath, await dnsBackend());

  async function dnsActions(
    dns: NonNullable<Persona["dns"]>,
    st: KernelState,
    p: Persona,
  ): Promise<Action[]> {
    if (sameDns(st.dns, dns)) return [];
    if ((await dnsBackend()) === "file") {
      const was = st.dns?.servers.length ? ` (was ${st.dns.servers.join(", ")})` : "";
      return [fileAction("dns", `resolv.conf nameservers in order: ${dns.servers.join(", ")}${was}`, resolvConfPath, () => writeResolvDns(resolvConfPath, dns))]; // prettier-ignore
    }
    const link = egressDevices(p, st.routes)[0];
    if (!link) throw new Error("dns: no egress link to set systemd-resolved servers on");
    const want = resolvedWant(link, dns);
    return [
      {
        step: { field: "dns", description: `systemd-resolved on ${link}: ${dns.servers.join(", ")}`, command: ["resolvectl", "dns", link, ...dns.servers] }, // prettier-ignore
        run: () => writeResolved(want),
      },
    ];
  }

  async function qosActions(
    qos: Persona["qos"],
    share: number,
    st: KernelState,
    p: Persona,
  ): Promise<Action[]> {
    const want: QosState | null = qos
      ? { class: qos.class, share, ...(qos.htbPriority !== undefined && { htbPriority: qos.htbPriority }) }
      : null;
    const devs = qos?.htbPriority !== undefined ? egressDevices(p, st.routes) : [];
    if (qos?.htbPriority !== undefined && devs.length === 0) {
      throw new Error("qos.htbPriority: no egress device (no default route and no routes.preferredDevice)");
    }
    const actions = await planHtb(
      devs.map((dev) => ({ dev, priority: qos?.htbPriority as number })),
      netns,
    );
    if (!sameQos(st.nft, want)) {
      const what = want
        ? `mark ${want.share}% of flows DSCP ${QOS_CLASSES[want.class].name.toUpperCase()} (${want.class})${st.nft && st.nft !== "foreign" ? `, was ${QOS_CLASSES[st.nft.class].name.toUpperCase()} on ${st.nft.share}%` : ""}`
        : "remove table inet netpersona";
      const script = renderNft(want);
      actions.push({
        step: { field: "qos", description: what, command: ["nft", "-f", "-", "<<", script] },
        run: () => writeNft(want, netns),
      });
    }
    return actions;
  }

  async function planActions(p: Persona, st: KernelState): Promise<Action[]> {
    const actions = planRoutes(p, st.routes, netns);
    if (p.mtu !== undefined && p.mtuScope !== "route") {
      const devs = new Set([
        ...egressDevices(p, st.routes),
        ...(p.routes?.prefixes ?? []).flatMap((h) => h.dev ?? []),
      ]);
      if (devs.size === 0)
        throw new Error("mtu: no egress device to set the link MTU on; set routes.preferredDevice");
      actions.push(
        ...planLinkMtu(
          [...devs].map((name) => ({ name, mtu: p.mtu as number })),
          st.links,
          netns,
        ),
      );
    }
    actions.push(...planCcSysctl(p.congestionControl, st.cc, netns));
    if (p.qos) actions.push(...(await qosActions(p.qos, 100, st, p)));
    if (p.dns) actions.push(...(await dnsActions(p.dns, st, p)));
    return actions;
  }

  /** Runs `plan` against the live kernel, runs its actions, then re-plans: anything left is a verify failure. */
  async function converge(plan: (st: KernelState) => Promise<Action[]>, p?: Persona): Promise<ApplyOutcome> {
    const before = await readState();
    const actions = await plan(before);
    if (actions.length === 0) return { changed: false, steps: [], live: livePersona(before, p) };
    for (const a of actions) await a.run();
    const after = await readState();
    const remaining = await plan(after);
    if (remaining.length > 0) throw new VerifyError(remaining.map((a) => a.step));
    return { changed: true, steps: actions.map((a) => a.step), live: livePersona(after, p) };
  }

  const validated = (persona: Persona) => normalizePersona(personaSchema.parse(persona));

  return {
    netns,
    resolvConfPath,
    readState,
    snapshot: async (): Promise<HostSnapshot> => ({ ...(await takeSnapshot(netns, resolvConfPath, await dnsBackend())) }), // prettier-ignore
    restore: async (snap: HostSnapshot) => restoreSnapshot(asSnapshot(snap)),
    readLive: async (): Promise<LivePersona> => livePersona(await readState()),
    plan: async (persona: Persona): Promise<PlanStep[]> => {
      const p = validated(persona);
      return (await planActions(p, await readState())).map((a) => a.step);
    },
    apply: async (persona: Persona) => {
      const p = validated(persona);
      return converge((st) => planActions(p, st), p);
    },
    applyQos: async (qos, sharePercent = 100) => {
      const q = qos ? validated({ mtuScope: "route", qos }).qos : undefined;
      const p: Persona = { mtuScope: "route", ...(q && { qos: q }) };
      return converge((st) => qosActions(q, sharePercent, st, p), p);
    },
    applyEcmp: async (nexthops: EcmpNexthop[]) => {
      if (nexthops.length < 1 || nexthops.length > 16) throw new Error("ecmp: give 1 to 16 nexthops");
      for (const n of nexthops) {
        if (isIP(n.via) !== 4) throw new Error(`ecmp: '${n.via}' is not an IPv4 gateway address`);
        if (n.dev !== undefined) checkIfname("ecmp dev", n.dev);
        if (!Number.isInteger(n.weight) || n.weight < 1 || n.weight > 256) {
          throw new Error(`ecmp: weight ${n.weight} of ${n.via} must be a whole number from 1 to 256`);
        }
      }
      return converge(async (st) => planEcmp(nexthops, st.routes, netns));
    },
  };
}
