// The lab's naming and address plan: every namespace, interface and address derives from (lab, index).
// Pure functions only; names are validated before anything derived from them reaches a command line.
import { checkLabName } from "../util/names";

/** Where the state of every lab lives (inventory, keys, sshd configs, pid files). */
export const LABS_DIR = "/run/netpersona/labs";
/** One directory per claimed address block, created with mkdir (atomic) so two `lab up`s never share one. */
export const INDEX_DIR = "/run/netpersona/lab-index";
/** Lab blocks are 10.<200+index>.0.0/16. */
export const FIRST_OCTET2 = 200;
export const MAX_LABS = 56;
export const MAX_HOSTS = 200;
export const MAX_NETWORKS = 8;
/** Hosts on network k get 10.B.k.(HOST_BASE + n). */
const HOST_BASE = 10;
/** Address of the DNS responder on every network (on the router's bridge). */
const DNS_OCTET = 2;

export const HOST_IFNAME = "eth0";
export const ROUTER_UPLINK_IFNAME = "uplink";

export function networkName(k: number): string {
  return k === 1 ? "source" : k === 2 ? "destination" : `net${k}`;
}

export function hostName(j: number): string {
  return `h${j}`;
}

export function labNetns(lab: string, host: string): string {
  return `np-${lab}-${host}`;
}

export function routerNetns(lab: string): string {
  return `np-${lab}-r`;
}

/** Root-namespace side of the root↔router veth: `np-<lab>` is at most 15 bytes since lab names are ≤ 12. */
export function rootIfname(lab: string): string {
  return `np-${lab}`;
}

/** Where a netpersona agent on a lab host lives, and the host's resolv.conf. Lab hosts share one file system, so
 *  each agent gets its own directory: installDir `<agentDir>/opt`, stateDir `<agentDir>/state`. The one
 *  definition: `labAgentArgs` (sdk/lab.ts) and `lab status --json` (per host, for YAML and Python programs)
 *  both take them from here. */
export interface LabAgentPaths {
  agentDir: string;
  resolvConfPath: string;
}

export function labAgentPaths(
  inv: { stateDir: string },
  host: { name: string; netns: string },
): LabAgentPaths {
  return {
    agentDir: `${inv.stateDir}/agents/${host.name}`,
    resolvConfPath: `/etc/netns/${host.netns}/resolv.conf`,
  };
}

/** A namespace belongs to lab `lab` exactly when it matches this (host names are h<n>, the router is r). */
export function labNetnsPattern(lab: string): RegExp {
  return new RegExp(`^np-${lab}-(r|h[0-9]+)$`);
}

/** Every namespace made by any lab. */
export const ANY_LAB_NETNS = /^np-[a-z][a-z0-9-]{0,11}-(r|h[0-9]+)$/;

export interface HostPlan {
  name: string;
  netns: string;
  network: number;
  address: string;
  routerPort: string;
}

export interface NetworkPlan {
  index: number;
  name: string;
  cidr: string;
  gateway: string;
  bridge: string;
  dns: string;
}

export interface LabPlan {
  name: string;
  index: number;
  block: string;
  uplink: { rootAddress: string; routerAddress: string; cidr: string; rootIfname: string };
  router: string;
  networks: NetworkPlan[];
  hosts: HostPlan[];
}

export function checkCounts(hosts: number, networks: number): void {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) {
    throw new Error(`--hosts: '${hosts}' must be a whole number from 1 to ${MAX_HOSTS}`);
  }
  if (!Number.isInteger(networks) || networks < 1 || networks > MAX_NETWORKS) {
    throw new Error(`--networks: '${networks}' must be a whole number from 1 to ${MAX_NETWORKS}`);
  }
}

/** Hosts are dealt round-robin over the networks: h1 on "source", h2 on "destination", h3 on "source"... */
export function planLab(name: string, index: number, hosts: number, networks: number): LabPlan {
  checkLabName("--name", name);
  checkCounts(hosts, networks);
  if (!Number.isInteger(index) || index < 0 || index >= MAX_LABS)
    throw new Error(`lab index ${index} out of range`);
  const b = FIRST_OCTET2 + index;
  const nets: NetworkPlan[] = [];
  for (let k = 1; k <= networks; k++) {
    nets.push({
      index: k,
      name: networkName(k),
      cidr: `10.${b}.${k}.0/24`,
      gateway: `10.${b}.${k}.1`,
      bridge: `br${k}`,
      dns: `10.${b}.${k}.${DNS_OCTET}`,
    });
  }
  const perNet = new Array<number>(networks + 1).fill(0);
  const hs: HostPlan[] = [];
  for (let j = 1; j <= hosts; j++) {
    const k = ((j - 1) % networks) + 1;
    const n = perNet[k]++;
    const h = hostName(j);
    hs.push({
      name: h,
      netns: labNetns(name, h),
      network: k,
      address: `10.${b}.${k}.${HOST_BASE + n}`,
      routerPort: `p${j}`,
    });
  }
  return {
    name,
    index,
    block: `10.${b}.0.0/16`,
    uplink: {
      rootAddress: `10.${b}.0.1`,
      routerAddress: `10.${b}.0.2`,
      cidr: `10.${b}.0.0/30`,
      rootIfname: rootIfname(name),
    },
    router: routerNetns(name),
    networks: nets,
    hosts: hs,
  };
}
