// Namespaces, veth pairs, bridges, addresses and routes of a lab, made with `ip -batch` (few processes,
// so 50 hosts come up fast). Every name and address here comes from planLab, which validated its inputs.
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";

import { run } from "../util/exec";
import { mapLimit } from "./pool";
import { HOST_IFNAME, ROUTER_UPLINK_IFNAME, type HostPlan, type LabPlan } from "./plan";

const CONCURRENCY = 8;

/** Runs `ip [-n NS] -batch -` over the given lines (each an `ip` command without the leading `ip`). */
export async function ipBatch(lines: string[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  const argv = netns ? ["ip", "-n", netns, "-batch", "-"] : ["ip", "-batch", "-"];
  await run(argv, { input: `${lines.join("\n")}\n`, timeoutMs: 120_000 });
}

/** Root-namespace work: the namespaces, the root↔router link, every host↔router veth, the route to the lab. */
export async function createNamespacesAndLinks(plan: LabPlan): Promise<void> {
  const r = plan.router;
  const lines = [`netns add ${r}`, ...plan.hosts.map((h) => `netns add ${h.netns}`)];
  await ipBatch(lines);
  const links = [
    `link add ${plan.uplink.rootIfname} type veth peer name ${ROUTER_UPLINK_IFNAME} netns ${r}`,
    ...plan.hosts.map(
      (h) => `link add ${HOST_IFNAME} netns ${h.netns} type veth peer name ${h.routerPort} netns ${r}`,
    ),
  ];
  await ipBatch(links);
}

export async function configureRouter(plan: LabPlan): Promise<void> {
  const r = plan.router;
  const lines = ["link set lo up", `addr add ${plan.uplink.routerAddress}/30 dev ${ROUTER_UPLINK_IFNAME}`];
  lines.push(`link set dev ${ROUTER_UPLINK_IFNAME} up`);
  for (const n of plan.networks) {
    lines.push(`link add ${n.bridge} type bridge stp_state 0`);
    lines.push(`addr add ${n.gateway}/24 dev ${n.bridge}`);
    lines.push(`addr add ${n.dns}/32 dev ${n.bridge}`);
    lines.push(`link set dev ${n.bridge} up`);
  }
  for (const h of plan.hosts) {
    lines.push(`link set dev ${h.routerPort} master ${plan.networks[h.network - 1].bridge}`);
    lines.push(`link set dev ${h.routerPort} up`);
  }
  await ipBatch(lines, r);
  await run(["ip", "netns", "exec", r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
}

export async function configureRoot(plan: LabPlan): Promise<void> {
  const u = plan.uplink;
  await ipBatch([
    `addr add ${u.rootAddress}/30 dev ${u.rootIfname}`,
    `link set dev ${u.rootIfname} up`,
    `route add ${plan.block} via ${u.routerAddress} dev ${u.rootIfname}`,
  ]);
}

async function configureHost(plan: LabPlan, h: HostPlan): Promise<void> {
  const net = plan.networks[h.network - 1];
  await ipBatch(
    [
      "link set lo up",
      `addr add ${h.address}/24 dev ${HOST_IFNAME}`,
      `link set dev ${HOST_IFNAME} up`,
      `route add default via ${net.gateway} dev ${HOST_IFNAME}`,
    ],
    h.netns,
  );
}

export async function configureHosts(plan: LabPlan): Promise<void> {
  await mapLimit(plan.hosts, CONCURRENCY, (h) => configureHost(plan, h));
}

/** /etc/netns/<netns>/resolv.conf: `ip netns exec` binds it over /etc/resolv.conf for that host. */
export async function writeResolvConfs(plan: LabPlan, dnsOrder: (h: HostPlan) => string[]): Promise<void> {
  for (const h of plan.hosts) {
    const dir = path.join("/etc/netns", h.netns);
    await mkdir(dir, { recursive: true });
    const servers = dnsOrder(h).map((s) => `nameserver ${s}`);
    const body = [
      `# netpersona lab ${plan.name}, host ${h.name}`,
      ...servers,
      `search ${plan.name}.lab`,
      "options timeout:1 attempts:1",
      "",
    ];
    await writeFile(path.join(dir, "resolv.conf"), body.join("\n"));
  }
}
