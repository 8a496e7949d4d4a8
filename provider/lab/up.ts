// `lab up`: N hosts (namespaces with a real sshd) on K networks joined by a router namespace that the root
// namespace routes to. On any failure, everything made so far is removed before the error is reported.
import { writeFile } from "node:fs/promises";
import path from "node:path";

import { run } from "../util/exec";
import { checkLabName } from "../util/names";
import { startResponders } from "./dns";
import { labDown } from "./down";
import { detectNetem } from "./impair";
import {
  FIRST_OCTET2,
  HOST_IFNAME,
  MAX_LABS,
  ROUTER_UPLINK_IFNAME,
  checkCounts,
  labNetnsPattern,
  planLab,
  type LabPlan,
} from "./plan";
import { mapLimit } from "./pool";
import { preflight } from "./preflight";
import { listNetns } from "./procs";
import { generateKey, prepareHost, startSshd, waitSshReady, type HostKey } from "./sshd";
import { claimIndex, createLabDir, writeInventory } from "./state";
import {
  configureHosts,
  configureRoot,
  configureRouter,
  createNamespacesAndLinks,
  writeResolvConfs,
} from "./topology";
import type { LabInventory } from "./types";

export interface LabUpOptions {
  name: string;
  hosts: number;
  /** Number of networks (default 2: "source" and "destination"). */
  networks?: number;
  /** Run a DNS responder per network (default true). */
  dns?: boolean;
  /** Parallel work (default 8). */
  concurrency?: number;
}

/** Address blocks already used in the root namespace (routes or addresses in 10.200-255.x.x). */
async function busyBlocks(): Promise<Set<number>> {
  const busy = new Set<number>();
  const routes = (await run(["ip", "-4", "route", "show", "table", "all"])).stdout;
  const addrs = (await run(["ip", "-4", "-o", "addr", "show"])).stdout;
  for (const m of `${routes}\n${addrs}`.matchAll(/\b10\.(\d{1,3})\.\d{1,3}\.\d{1,3}/g)) {
    const i = Number(m[1]) - FIRST_OCTET2;
    if (i >= 0 && i < MAX_LABS) busy.add(i);
  }
  return busy;
}

function dnsOrder(plan: LabPlan, network: number): string[] {
  const own = plan.networks[network - 1];
  return [own.dns, ...plan.networks.filter((n) => n !== own).map((n) => n.dns)].slice(0, 3);
}

function inventory(
  plan: LabPlan,
  dir: string,
  client: HostKey,
  keys: HostKey[],
  dns: LabInventory["dnsResponders"],
  netem: boolean,
): LabInventory {
  const clientKeyPath = path.join(dir, "id_ed25519");
  return {
    name: plan.name,
    index: plan.index,
    block: plan.block,
    createdAt: new Date().toISOString(),
    stateDir: dir,
    user: "root",
    clientKeyPath,
    clientPublicKey: client.publicKey,
    knownHostsPath: path.join(dir, "known_hosts"),
    root: {
      ifname: plan.uplink.rootIfname,
      address: plan.uplink.rootAddress,
      route: `${plan.block} via ${plan.uplink.routerAddress}`,
    },
    router: {
      netns: plan.router,
      addresses: plan.networks.map((n) => ({ network: n.name, address: n.gateway, ifname: n.bridge })),
      uplink: { ifname: ROUTER_UPLINK_IFNAME, address: plan.uplink.routerAddress },
    },
    networks: plan.networks.map((n) => ({
      name: n.name,
      index: n.index,
      cidr: n.cidr,
      gateway: n.gateway,
      bridge: n.bridge,
      dns: dns.length ? n.dns : undefined,
    })),
    hosts: plan.hosts.map((h, i) => ({
      name: h.name,
      netns: h.netns,
      ifname: HOST_IFNAME,
      network: plan.networks[h.network - 1].name,
      address: h.address,
      addresses: [h.address],
      prefixLength: 24,
      gateway: plan.networks[h.network - 1].gateway,
      dns: dns.length ? dnsOrder(plan, h.network) : [],
      sshPort: 22,
      user: "root",
      privateKeyPath: clientKeyPath,
      hostPublicKey: keys[i].publicKey,
      hostKeyFingerprint: keys[i].fingerprint,
      routerPort: h.routerPort,
    })),
    dnsResponders: dns,
    netem,
  };
}

async function build(plan: LabPlan, dir: string, opts: LabUpOptions): Promise<LabInventory> {
  const limit = opts.concurrency ?? 8;
  await createNamespacesAndLinks(plan);
  await configureRouter(plan);
  await configureRoot(plan);
  await configureHosts(plan);
  const client = await generateKey(path.join(dir, "id_ed25519"), `netpersona-lab-${plan.name}`);
  await writeFile(path.join(dir, "authorized_keys"), `${client.publicKey} netpersona-lab-${plan.name}\n`, {
    mode: 0o600,
  });
  const keys = await mapLimit(plan.hosts, limit, (h) => prepareHost(dir, h));
  const known = plan.hosts.map((h, i) => `${h.address} ${keys[i].publicKey}\n`).join("");
  await writeFile(path.join(dir, "known_hosts"), known, { mode: 0o600 });
  const withDns = opts.dns !== false;
  // Before sshd starts: `ip netns exec` binds resolv.conf into the mount namespace that sessions inherit.
  await writeResolvConfs(plan, (h) =>
    withDns ? dnsOrder(plan, h.network) : [plan.networks[h.network - 1].gateway],
  );
  await mapLimit(plan.hosts, limit, (h) => startSshd(dir, h));
  const dns = withDns ? await startResponders(plan, dir) : [];
  await mapLimit(plan.hosts, limit, (h) => waitSshReady(h));
  const inv = inventory(plan, dir, client, keys, dns, await detectNetem(plan.router));
  await writeInventory(inv);
  return inv;
}

export async function labUp(opts: LabUpOptions): Promise<LabInventory> {
  checkLabName("--name", opts.name);
  const networks = opts.networks ?? 2;
  checkCounts(opts.hosts, networks);
  await preflight("lab up");
  const pattern = labNetnsPattern(opts.name);
  const stale = (await listNetns()).filter((n) => pattern.test(n));
  if (stale.length > 0) {
    throw new Error(
      `namespaces of lab '${opts.name}' exist already (${stale[0]}...): run 'netpersona lab down --name ${opts.name}'`,
    );
  }
  const dir = await createLabDir(opts.name);
  try {
    const index = await claimIndex(opts.name, await busyBlocks());
    return await build(planLab(opts.name, index, opts.hosts, networks), dir, opts);
  } catch (err) {
    await labDown(opts.name).catch(() => undefined);
    throw new Error(
      `lab up '${opts.name}' failed (everything it made was removed): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
