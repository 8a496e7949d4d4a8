// The lab inventory: what `lab status --json` prints and what tests, examples and users consume.

export interface LabHost {
  name: string;
  /** Network namespace of the host (`ip netns exec <netns> ...`). */
  netns: string;
  /** Interface inside the namespace. */
  ifname: string;
  network: string;
  /** Primary address (sshd listens here); `addresses` lists every address of the host. */
  address: string;
  addresses: string[];
  prefixLength: number;
  gateway: string;
  /** DNS servers in the host's /etc/netns/<netns>/resolv.conf, in order. */
  dns: string[];
  sshPort: number;
  user: string;
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA...` of the host's sshd. */
  hostPublicKey: string;
  /** `SHA256:...` fingerprint of the host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** Interface of the router's port towards this host (inside the router namespace). */
  routerPort: string;
}

export interface LabNetwork {
  name: string;
  index: number;
  cidr: string;
  gateway: string;
  /** Bridge inside the router namespace that joins this network's hosts. */
  bridge: string;
  /** DNS responder address on this network, when the lab runs them. */
  dns?: string;
}

export interface LabRouter {
  netns: string;
  /** The router's address on each network (the hosts' gateway there). */
  addresses: { network: string; address: string; ifname: string }[];
  uplink: { ifname: string; address: string };
}

export interface LabInventory {
  name: string;
  index: number;
  block: string;
  createdAt: string;
  stateDir: string;
  user: string;
  clientKeyPath: string;
  clientPublicKey: string;
  /** known_hosts file with every host's pinned key, for `-o UserKnownHostsFile=`. */
  knownHostsPath: string;
  /** The root namespace's end of the root↔router link; routes to `block` go through it. */
  root: { ifname: string; address: string; route: string };
  router: LabRouter;
  networks: LabNetwork[];
  hosts: LabHost[];
  dnsResponders: { network: string; address: string; names: Record<string, string> }[];
  /** Whether this kernel has the netem qdisc (needed for `lab impair --delay`). */
  netem: boolean;
}

export interface LinkImpairment {
  from: string;
  to: string;
  /** Percent of forwarded packets dropped at random (0-100). */
  lossPercent?: number;
  /** Rate limit in bits per second (tbf with a deep buffer). */
  rateBitsPerSecond?: number;
  /** MTU of the router's interface towards `to`. */
  mtu?: number;
  /** Drop ICMP "fragmentation needed" sent back towards `from`. */
  pmtuBlackhole?: boolean;
  /** Added delay in milliseconds (netem; only where the kernel has it). */
  delayMs?: number;
}

/** A host as `lab status` lists it: the inventory's fields, plus where its agent lives and its resolv.conf
 *  (`labAgentPaths`), the values an Agent of a YAML or Python program takes. */
export interface LabStatusHost extends LabHost {
  /** The agent's directory on this host: installDir `<agentDir>/opt`, stateDir `<agentDir>/state`. */
  agentDir: string;
  /** The host's resolv.conf as the agent must edit it (`/etc/netns/<netns>/resolv.conf`). */
  resolvConfPath: string;
}

export interface LabStatus extends LabInventory {
  hosts: LabStatusHost[];
  impairments: LinkImpairment[];
  /** Hosts whose sshd is not running (empty when all is well). */
  sshdDown: string[];
}
