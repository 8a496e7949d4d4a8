// `netpersona lab ...`: up, status, list, impair, down. Thin wrappers over provider/lab (the library).
import type { Command } from "commander";

import {
  labDown,
  labDownAll,
  labImpair,
  labList,
  labStatus,
  labUp,
  type LabInventory,
  type LinkImpairment,
} from "../lab";

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

function wholeNumber(field: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${field}: '${v}' must be a whole number`);
    return Number(v);
  };
}

function describeLab(inv: LabInventory): string {
  const lines = [
    `lab ${inv.name}: ${inv.hosts.length} hosts, ${inv.networks.length} networks (${inv.block})`,
  ];
  for (const n of inv.networks)
    lines.push(`  network ${n.name} ${n.cidr} gateway ${n.gateway}${n.dns ? ` dns ${n.dns}` : ""}`);
  for (const h of inv.hosts)
    lines.push(
      `  host ${h.name} ${h.address} (${h.network}) ssh ${h.user}@${h.address}:${h.sshPort} netns ${h.netns}`,
    );
  lines.push(
    `  ssh: ssh -i ${inv.clientKeyPath} -o UserKnownHostsFile=${inv.knownHostsPath} -o StrictHostKeyChecking=yes root@ADDRESS`,
  );
  return lines.join("\n");
}

function describeImpairment(l: LinkImpairment): string {
  const parts = [
    l.lossPercent !== undefined ? `loss ${l.lossPercent}%` : "",
    l.rateBitsPerSecond !== undefined ? `rate ${l.rateBitsPerSecond}bit/s` : "",
    l.mtu !== undefined ? `mtu ${l.mtu}` : "",
    l.pmtuBlackhole ? "pmtu-blackhole" : "",
    l.delayMs !== undefined ? `delay ${l.delayMs}ms` : "",
  ].filter((p) => p);
  return `  ${l.from} -> ${l.to}: ${parts.join(", ")}`;
}

export function registerLab(program: Command): void {
  const lab = program
    .command("lab")
    .description("hosts made of network namespaces, each with a real sshd, joined by a router");

  lab
    .command("up")
    .description("create a lab: N hosts on K networks joined by a router namespace")
    .requiredOption("--name <name>", "lab name (1-12 of a-z, 0-9, '-')")
    .requiredOption("--hosts <n>", "number of hosts", wholeNumber("--hosts"))
    .option(
      "--networks <k>",
      "number of networks (source, destination, net3...)",
      wholeNumber("--networks"),
      2,
    )
    .option("--no-dns", "do not run a DNS responder per network")
    .option("--json", "print the inventory as JSON")
    .action(async (o: { name: string; hosts: number; networks: number; dns: boolean; json?: boolean }) => {
      const inv = await labUp({ name: o.name, hosts: o.hosts, networks: o.networks, dns: o.dns });
      print(!!o.json, inv, describeLab(inv));
    });

  lab
    .command("status")
    .description("print a lab's inventory (hosts, addresses, keys, router, DNS) and impairments")
    .requiredOption("--name <name>", "lab name")
    .option("--json", "print JSON")
    .action(async (o: { name: string; json?: boolean }) => {
      const st = await labStatus(o.name);
      const extra = [
        ...st.impairments.map(describeImpairment),
        st.sshdDown.length ? `  sshd not running on: ${st.sshdDown.join(", ")}` : "",
      ].filter((l) => l);
      print(!!o.json, st, [describeLab(st), ...extra].join("\n"));
    });

  lab
    .command("list")
    .description("names of the labs that are up")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const names = await labList();
      print(!!o.json, names, names.join("\n"));
    });

  lab
    .command("impair")
    .description(
      "impair the router's link from network A to network B (loss, rate, MTU, PMTU black hole, delay)",
    )
    .requiredOption("--name <name>", "lab name")
    .requiredOption("--link <A:B>", "from network A to network B, e.g. source:destination")
    .option("--loss <pct>", "drop this percentage of packets at random (nftables numgen)")
    .option("--rate <rate>", "rate limit, e.g. 10mbit (tbf with a deep buffer)")
    .option("--mtu <n>", "MTU of the router's interface towards B")
    .option("--pmtu-blackhole", "drop ICMP fragmentation-needed sent back towards A")
    .option("--delay <ms>", "added delay, e.g. 50ms (needs the netem qdisc)")
    .option("--clear", "remove every impairment of this link")
    .option("--json", "print JSON")
    .action(
      async (o: {
        name: string;
        link: string;
        loss?: string;
        rate?: string;
        mtu?: string;
        pmtuBlackhole?: boolean;
        delay?: string;
        clear?: boolean;
        json?: boolean;
      }) => {
        const list = await labImpair(o.name, o);
        print(!!o.json, list, list.length ? list.map(describeImpairment).join("\n") : "  no impairments");
      },
    );

  lab
    .command("down")
    .description("remove a lab (namespaces, links, processes, files); idempotent")
    .option("--name <name>", "lab name")
    .option("--all", "remove every lab, also those left by a crashed run")
    .option("--json", "print JSON")
    .action(async (o: { name?: string; all?: boolean; json?: boolean }) => {
      if (!o.all && !o.name) throw new Error("lab down: give --name NAME or --all");
      const r = o.all ? await labDownAll() : await labDown(o.name as string);
      print(
        !!o.json,
        r,
        `removed ${r.namespaces.length} namespaces and ${r.processes} processes (${r.labs.join(", ") || "no lab state"})`,
      );
    });
}
