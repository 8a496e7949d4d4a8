// DNS preference through systemd-resolved (`resolvectl dns|domain LINK ...`) on hosts where it runs: the
// per-link servers and search domains of the egress link. resolv.conf options have no resolved equivalent.
import { access } from "node:fs/promises";

import { run, which } from "../../util/exec";
import { checkIfname } from "../../util/names";
import { canonicalIp } from "../../persona/schema";
import type { Dns } from "./dns";

export interface ResolvedLink {
  link: string;
  servers: string[];
  domains: string[];
}

/** True when systemd-resolved runs here and answers on its varlink socket, and `resolvectl` is installed. */
export async function resolvedRuns(): Promise<boolean> {
  if (!(await which("resolvectl"))) return false;
  try {
    await access("/run/systemd/resolve/io.systemd.Resolve");
  } catch {
    return false;
  }
  return (await run(["resolvectl", "status"], { check: false })).code === 0;
}

/** The values after "Link N (dev):" in resolvectl's one-link output. */
function values(out: string): string[] {
  const line = out.split("\n").find((l) => /^Link \d+ \(/.test(l)) ?? "";
  const at = line.indexOf("):");
  return at < 0
    ? []
    : line
        .slice(at + 2)
        .trim()
        .split(/\s+/)
        .filter(Boolean);
}

export async function readResolved(link: string): Promise<ResolvedLink> {
  checkIfname("dns link", link);
  const [dns, domain] = await Promise.all([
    run(["resolvectl", "dns", link]),
    run(["resolvectl", "domain", link]),
  ]);
  return {
    link,
    // resolvectl may print "addr%ifindex#name" forms: keep the address.
    servers: values(dns.stdout).map((s) => canonicalIp(s.replace(/[%#].*$/, ""))),
    domains: values(domain.stdout).map((d) => d.toLowerCase().replace(/\.$/, "")),
  };
}

export function resolvedDns(r: ResolvedLink): Dns | undefined {
  return r.servers.length === 0 && r.domains.length === 0
    ? undefined
    : { servers: r.servers, search: r.domains, options: [] };
}

/** Argument vectors that give the link the desired servers and domains (empty lists: `resolvectl revert`). */
export function resolvedCommands(desired: ResolvedLink): string[][] {
  const link = checkIfname("dns link", desired.link);
  if (desired.servers.length === 0 && desired.domains.length === 0) return [["resolvectl", "revert", link]];
  return [
    ["resolvectl", "dns", link, ...desired.servers],
    ["resolvectl", "domain", link, ...desired.domains],
  ];
}

/** The resolved settings the desired persona's DNS asks for, or an error for what resolved cannot do. */
export function resolvedDesired(link: string, dns: Dns): ResolvedLink {
  if (dns.options.length > 0) {
    throw new Error(
      `dns.options: systemd-resolved manages DNS on this host and has no resolv.conf options; remove dns.options (${dns.options.join(" ")})`,
    );
  }
  return { link, servers: dns.servers, domains: dns.search };
}

export async function writeResolved(desired: ResolvedLink): Promise<void> {
  for (const argv of resolvedCommands(desired)) await run(argv);
}
