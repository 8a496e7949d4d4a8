// The bad targets of the blast-radius benchmark, each made real in the lab's router: a second gateway on the
// destination network (a macvlan with its own MAC, test/fixtures/second-gateway.ts) that drops 30 % of what
// it receives or forwards only ICMP; a path MTU of 1400 that sends no "fragmentation needed" back (lab
// impair --mtu --pmtu-blackhole, both ways); a DNS server address that answers nothing. Beside each bad case
// its control: the same target persona on a healthy path.
import { labImpair, type LabInventory } from "../provider/lab";
import { personaSchema, type Persona, type PersonaInput } from "../provider/persona/schema";
import { run } from "../provider/util/exec";
import { addSecondGateway, removeSecondGateway, type SecondGateway } from "../test/fixtures/second-gateway";

const TABLE = "blr_fault";
const MACVLAN = "npblrgw";

export type Family = "gateway" | "pmtu" | "dns";

export interface BlastCase {
  id: string;
  family: Family;
  /** The healthy target of the family (the control run). */
  control: boolean;
  /** What is wrong, in one line. */
  what: string;
  target: (env: BlastEnv) => Persona;
  /** Makes the path bad (before the change); `clear` puts it back. */
  inject: (env: BlastEnv) => Promise<void>;
}

export interface BlastEnv {
  inv: LabInventory;
  gw: SecondGateway;
  /** An address on the destination network that drops DNS queries (no answer, no ICMP). */
  silentDns: string;
  source: Persona;
}

const dst = (inv: LabInventory) => inv.networks.find((n) => n.name === "destination")!;
const dnsOf = (inv: LabInventory, network: string) =>
  inv.dnsResponders.find((r) => r.network === network)!.address;

async function nft(env: BlastEnv, chains: string[]): Promise<void> {
  const body = chains.map((c) => `  ${c}\n`).join("");
  const script = `table inet ${TABLE}\ndelete table inet ${TABLE}\ntable inet ${TABLE} {\n${body}}\n`;
  await run(["nft", "-f", "-"], { netns: env.inv.router.netns, input: script });
}

/** The router's rules that make `silentDns` silent, kept in every run (only the bad DNS target names it). */
const SILENT = (env: BlastEnv) =>
  `chain silent { type filter hook input priority -10; policy accept; ip daddr ${env.silentDns} meta l4proto { udp, tcp } th dport 53 drop; }`;

const persona = (env: BlastEnv, change: Partial<PersonaInput>) =>
  personaSchema.parse({ ...env.source, ...change });

const viaSecond = (env: BlastEnv) => persona(env, { routes: { preferredGateway: env.gw.address } });
const healthy = async (env: BlastEnv) => nft(env, [SILENT(env)]);

export const CASES: BlastCase[] = [
  {
    id: "gw-control",
    family: "gateway",
    control: true,
    what: "egress gateway .1 → .3, .3 healthy",
    target: viaSecond,
    inject: healthy,
  },
  {
    id: "gw-loss30",
    family: "gateway",
    control: false,
    what: "egress gateway .1 → .3, .3 drops 30 % of the packets it receives (its own pings included)",
    target: viaSecond,
    inject: (env) =>
      nft(env, [
        SILENT(env),
        // The router sees these packets arrive on the macvlan only from the forward and input hooks on.
        `chain loss { type filter hook forward priority -10; policy accept; iifname "${MACVLAN}" numgen random mod 100 < 30 drop; }`,
        `chain lossin { type filter hook input priority -10; policy accept; ip daddr ${env.gw.address} numgen random mod 100 < 30 drop; }`,
      ]),
  },
  {
    id: "gw-blackhole",
    family: "gateway",
    control: false,
    what: "egress gateway .1 → .3, .3 answers ping (and forwards ICMP) but drops all forwarded TCP and UDP",
    target: viaSecond,
    inject: (env) =>
      nft(env, [
        SILENT(env),
        `chain hole { type filter hook forward priority -10; policy accept; iifname "${MACVLAN}" meta l4proto != icmp drop; }`,
      ]),
  },
  {
    id: "pmtu-control",
    family: "pmtu",
    control: true,
    what: "MTU 1400 → 1500 (route lock), path MTU 1500",
    target: (env) => persona(env, { mtu: 1500 }),
    inject: healthy,
  },
  {
    id: "pmtu-blackhole",
    family: "pmtu",
    control: false,
    what: "MTU 1400 → 1500 (route lock), path MTU 1400 both ways, ICMP frag-needed dropped",
    target: (env) => persona(env, { mtu: 1500 }),
    inject: async (env) => {
      await healthy(env);
      for (const link of ["destination:source", "source:destination"])
        await labImpair(env.inv.name, { link, mtu: 1400, pmtuBlackhole: true });
    },
  },
  {
    id: "dns-control",
    family: "dns",
    control: true,
    what: "DNS servers reordered: the source network's responder first",
    target: (env) =>
      persona(env, { dns: { servers: [dnsOf(env.inv, "source"), dnsOf(env.inv, "destination")] } }),
    inject: healthy,
  },
  {
    id: "dns-silent",
    family: "dns",
    control: false,
    what: "DNS servers: a silent address first (drops queries, no ICMP), then the destination's responder",
    target: (env) => persona(env, { dns: { servers: [env.silentDns, dnsOf(env.inv, "destination")] } }),
    inject: healthy,
  },
];

/** Puts the path back: no fault rules (the silent DNS address stays silent), no link impairment, and no path
 *  MTU a host learned (between lab impair's nft rules and its bridge MTU a "fragmentation needed" can get
 *  through and be cached for 10 minutes: a later all-at-once run would then be spared the black hole). */
export async function clearFaults(env: BlastEnv): Promise<void> {
  await healthy(env);
  for (const link of ["destination:source", "source:destination"])
    await labImpair(env.inv.name, { link, clear: true });
  for (const h of env.inv.hosts) await run(["ip", "route", "flush", "cache"], { netns: h.netns });
}

/** The second gateway (.3), the silent DNS address (.4) and the source persona: MTU 1400, cubic, standard,
 *  gateway .1, the destination's DNS responder first. */
export async function blastEnv(inv: LabInventory): Promise<BlastEnv> {
  const net = dst(inv);
  const gw = await addSecondGateway({
    routerNetns: inv.router.netns,
    bridge: net.bridge,
    ifname: MACVLAN,
    address: net.gateway.replace(/\.1$/, ".3"),
    prefixLength: Number(net.cidr.split("/")[1]),
  });
  const silentDns = net.gateway.replace(/\.1$/, ".4");
  await run(["ip", "addr", "add", `${silentDns}/${net.cidr.split("/")[1]}`, "dev", net.bridge], {
    netns: inv.router.netns,
  });
  const source = personaSchema.parse({
    congestionControl: "cubic",
    mtu: 1400,
    mtuScope: "route",
    qos: { class: "standard" },
    dns: { servers: [dnsOf(inv, "destination"), dnsOf(inv, "source")] },
    routes: { preferredGateway: net.gateway },
  });
  const env = { inv, gw, silentDns, source };
  await healthy(env);
  return env;
}

export async function removeBlastEnv(env: BlastEnv | undefined): Promise<void> {
  if (!env) return;
  await run(["nft", "delete", "table", "inet", TABLE], { netns: env.inv.router.netns, check: false });
  await removeSecondGateway(env.gw);
}
