// The host controller: applies desired personas to the kernel of one host (this process's namespace, or a
// named one managed from outside), idempotently: plan(desired, current), run, then verify by reading the
// kernel back.
import { QOS_CLASSES, personaSchema, type Persona } from "../../persona/schema";
import { normalizePersona } from "../../persona/validate";
import { checkIfname } from "../../util/names";
import { VerifyError, type Action } from "./actions";
import type { ApplyOutcome, CurrentPersona, HostController, HostSnapshot, PlanStep } from "./api";
import { sameDns, writeResolvDns } from "./dns";
import { planCcSysctl, planLinkMtu } from "./links";
import { renderNft, sameQos, writeNft, type QosState } from "./nft";
import { checkEcmp, planEcmp, planRoutes, type EcmpNexthop } from "./route-applier";
import { asSnapshot, restoreSnapshot, takeSnapshot } from "./snapshot";
import { resolvedDesired, resolvedRuns, writeResolved } from "./dns-resolved";
import { currentPersona, egressDevices, readKernelState, type DnsBackend, type KernelState } from "./state";
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

/** Plans the actions that take the kernel from `current` to the merged state. */
type Planner = (current: KernelState) => Promise<Action[]>;

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
    current: KernelState,
    desired: Persona,
  ): Promise<Action[]> {
    if (sameDns(current.dns, dns)) return [];
    const servers = dns.servers.join(", ");
    if ((await dnsBackend()) === "file") {
      const was = current.dns?.servers.length ? ` (was ${current.dns.servers.join(", ")})` : "";
      const write = () => writeResolvDns(resolvConfPath, dns);
      return [fileAction("dns", `resolv.conf nameservers in order: ${servers}${was}`, resolvConfPath, write)];
    }
    const link = egressDevices(desired, current.routes)[0];
    if (!link) throw new Error("dns: no egress link to set systemd-resolved servers on");
    const resolved = resolvedDesired(link, dns);
    const command = ["resolvectl", "dns", link, ...dns.servers];
    return [
      {
        step: { field: "dns", description: `systemd-resolved on ${link}: ${servers}`, command },
        run: () => writeResolved(resolved),
      },
    ];
  }

  async function qosActions(
    qos: Persona["qos"],
    share: number,
    current: KernelState,
    desired: Persona,
  ): Promise<Action[]> {
    const desiredNft: QosState | null = qos
      ? { class: qos.class, share, ...(qos.htbPriority !== undefined && { htbPriority: qos.htbPriority }) }
      : null;
    const devs = qos?.htbPriority !== undefined ? egressDevices(desired, current.routes) : [];
    if (qos?.htbPriority !== undefined && devs.length === 0) {
      throw new Error("qos.htbPriority: no egress device (no default route and no routes.preferredDevice)");
    }
    const actions = await planHtb(
      devs.map((dev) => ({ dev, priority: qos?.htbPriority as number })),
      netns,
    );
    if (!sameQos(current.nft, desiredNft)) {
      const dscp = (c: QosState["class"]) => QOS_CLASSES[c].name.toUpperCase();
      const was =
        current.nft && current.nft !== "foreign"
          ? `, was ${dscp(current.nft.class)} on ${current.nft.share}%`
          : "";
      const what = desiredNft
        ? `mark ${desiredNft.share}% of flows DSCP ${dscp(desiredNft.class)} (${desiredNft.class})${was}`
        : "remove table inet netpersona";
      const script = renderNft(desiredNft);
      actions.push({
        step: { field: "qos", description: what, command: ["nft", "-f", "-", "<<", script] },
        run: () => writeNft(desiredNft, netns),
      });
    }
    return actions;
  }

  /** plan(desired, current): every action that takes the kernel from `current` to the merged state. */
  async function planActions(desired: Persona, current: KernelState): Promise<Action[]> {
    const actions = planRoutes(desired, current.routes, netns);
    if (desired.mtu !== undefined && desired.mtuScope !== "route") {
      const devs = new Set([
        ...egressDevices(desired, current.routes),
        ...(desired.routes?.prefixes ?? []).flatMap((h) => h.dev ?? []),
      ]);
      if (devs.size === 0)
        throw new Error("mtu: no egress device to set the link MTU on; set routes.preferredDevice");
      const mtus = [...devs].map((name) => ({ name, mtu: desired.mtu as number }));
      actions.push(...planLinkMtu(mtus, current.links, netns));
    }
    actions.push(...planCcSysctl(desired.congestionControl, current.cc, netns));
    if (desired.qos) actions.push(...(await qosActions(desired.qos, 100, current, desired)));
    if (desired.dns) actions.push(...(await dnsActions(desired.dns, current, desired)));
    return actions;
  }

  /** verify(merged, current): re-plans over the kernel's current state read back after applying; any action
   *  left means the kernel did not take the merged state. */
  async function verify(merged: Planner, current: KernelState): Promise<void> {
    const remaining = await merged(current);
    if (remaining.length > 0) throw new VerifyError(remaining.map((a) => a.step));
  }

  /** Plans over the current kernel state, runs the actions, then verifies by reading the kernel back. */
  async function converge(plan: Planner, desired?: Persona): Promise<ApplyOutcome> {
    const current = await readState();
    const actions = await plan(current);
    if (actions.length === 0) return { changed: false, steps: [], live: currentPersona(current, desired) };
    for (const a of actions) await a.run();
    const applied = await readState();
    await verify(plan, applied);
    return { changed: true, steps: actions.map((a) => a.step), live: currentPersona(applied, desired) };
  }

  const validated = (persona: Persona) => normalizePersona(personaSchema.parse(persona));

  return {
    netns,
    resolvConfPath,
    readState,
    snapshot: async (): Promise<HostSnapshot> => ({
      ...(await takeSnapshot(netns, resolvConfPath, await dnsBackend())),
    }),
    restore: async (snap: HostSnapshot) => restoreSnapshot(asSnapshot(snap)),
    readCurrent: async (): Promise<CurrentPersona> => currentPersona(await readState()),
    plan: async (persona: Persona): Promise<PlanStep[]> => {
      const desired = validated(persona);
      return (await planActions(desired, await readState())).map((a) => a.step);
    },
    apply: async (persona: Persona) => {
      const desired = validated(persona);
      return converge((current) => planActions(desired, current), desired);
    },
    applyQos: async (qos, sharePercent = 100) => {
      const q = qos ? validated({ mtuScope: "route", qos }).qos : undefined;
      const desired: Persona = { mtuScope: "route", ...(q && { qos: q }) };
      return converge((current) => qosActions(q, sharePercent, current, desired), desired);
    },
    applyEcmp: async (nexthops: EcmpNexthop[]) => {
      checkEcmp(nexthops);
      return converge(async (current) => planEcmp(nexthops, current.routes, netns));
    },
  };
}
