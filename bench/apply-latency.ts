// Part 5, apply latency: one persona apply + verify (read back, re-plan) on a lab host through the host
// controller (measureApplyVerify, alternating two personas so every round changes the kernel), against the
// floor: the same kernel changes made by a plain shell script of ip/nft commands (bench/floor-apply.sh).
// After the floor's first run the controller must plan nothing for that persona, which proves the script
// makes the same changes.
import path from "node:path";

import { createHostController } from "../provider/agent/host";
import { measureApplyVerify, type ApplyTimings } from "../provider/agent/safe-apply/timing";
import { personaSchema, QOS_CLASSES, type Persona, type PersonaInput } from "../provider/persona/schema";
import { run } from "../provider/util/exec";
import { withLab, type LabInventory } from "./lab";
import type { PartOptions } from "./part";
import { elapsedMs, figure, median, type PartResult } from "./stats";

const FLOOR = path.join(__dirname, "..", "..", "bench", "floor-apply.sh");
const WORKER = path.join(__dirname, "apply-worker.js");

/** measureApplyVerify inside the namespace, as the agent daemon runs it (median of the rounds, ms). */
async function insideMs(inv: LabInventory, a: Persona, b: Persona, rounds: number): Promise<number> {
  const h = inv.hosts[0];
  const argv = [process.execPath, WORKER, `/etc/netns/${h.netns}/resolv.conf`, String(rounds)];
  const out = await run([...argv, JSON.stringify(a), JSON.stringify(b)], { netns: h.netns });
  return (JSON.parse(out.stdout) as ApplyTimings).changeMs.median;
}

function personas(inv: LabInventory): [Persona, Persona] {
  const [d1, d2] = inv.dnsResponders.map((r) => r.address);
  const list: PersonaInput[] = [
    {
      mtuScope: "route",
      congestionControl: "bbr",
      mtu: 1400,
      qos: { class: "low-latency-data" },
      dns: { servers: [d1, d2] },
    },
    {
      mtuScope: "route",
      congestionControl: "reno",
      mtu: 1450,
      qos: { class: "telephony" },
      dns: { servers: [d2, d1] },
    },
  ];
  return [personaSchema.parse(list[0]), personaSchema.parse(list[1])];
}

async function floorApply(inv: LabInventory, p: Persona): Promise<number> {
  const h = inv.hosts[0];
  const servers = p.dns?.servers ?? [];
  const argv = ["sh", FLOOR, h.gateway, h.ifname, String(p.congestionControl), String(p.mtu)];
  argv.push(
    String(QOS_CLASSES[p.qos!.class].dscp),
    `/etc/netns/${h.netns}/resolv.conf`,
    servers[0],
    servers[1],
  );
  const t0 = process.hrtime.bigint();
  await run(argv, { netns: h.netns });
  return elapsedMs(t0);
}

export async function benchApplyLatency(o: PartOptions): Promise<PartResult> {
  const rounds = o.smoke ? 4 : 10;
  const runs: {
    repeat: number;
    changeMs: number;
    insideMs: number;
    noopMs: number;
    floorMs: number;
    floorEquivalent: boolean;
  }[] = [];
  await withLab(o.smoke ? "bsapl" : "bapl", 2, async (inv) => {
    const host = createHostController({ netns: inv.hosts[0].netns });
    const [a, b] = personas(inv);
    const pristine = await host.snapshot();
    try {
      for (let r = 0; r < o.repeat; r++) {
        const t = await measureApplyVerify(host, a, b, rounds);
        const inside = await insideMs(inv, a, b, rounds);
        const floor: number[] = [];
        let equivalent = true;
        for (let i = 0; i < rounds; i++) {
          const p = i % 2 === 0 ? a : b;
          floor.push(await floorApply(inv, p));
          if (i < 2) equivalent &&= (await host.plan(p)).length === 0;
        }
        await host.restore(pristine);
        const row = {
          repeat: r + 1,
          changeMs: t.changeMs.median,
          insideMs: inside,
          noopMs: t.noopMs.median,
          floorMs: median(floor),
          floorEquivalent: equivalent,
        };
        o.log(
          `apply #${r + 1}: apply+verify ${row.changeMs} ms (inside the namespace ${inside} ms), no-op ${row.noopMs} ms, floor ${row.floorMs.toFixed(1)} ms (same changes: ${equivalent})`,
        );
        runs.push(row);
      }
    } finally {
      await host.restore(pristine);
    }
  });
  const col = (k: "changeMs" | "insideMs" | "noopMs" | "floorMs") => runs.map((r) => r[k]);
  return {
    title: "Apply latency: persona apply + verify against a plain ip/nft script",
    settings: { rounds, repeat: o.repeat, fields: "congestion control, MTU (route lock), QoS class, DNS" },
    figures: [
      figure(
        "apply.verify",
        "apply + verify, in the namespace as the agent runs it (median of the rounds)",
        "ms",
        col("insideMs"),
        { op: "<", value: 100, text: "< 100 ms" },
      ),
      figure(
        "apply.verify.outside",
        "apply + verify, managed from outside (ip netns exec per command)",
        "ms",
        col("changeMs"),
      ),
      figure("apply.noop", "no-op apply (read, plan, nothing to run)", "ms", col("noopMs")),
      figure("apply.floor", "floor: plain ip/nft/sysctl script (median of the rounds)", "ms", col("floorMs")),
      figure(
        "apply.ratio",
        "apply + verify (in the namespace) / floor",
        "ratio",
        runs.map((r) => r.insideMs / r.floorMs),
      ),
    ],
    notes: [
      "A lab host. 'In the namespace' = measureApplyVerify in a process started inside the host's namespace, as the agent daemon runs (each command a plain exec); 'from outside' = the same from the root namespace, where each command goes through `ip netns exec`. Personas alternate bbr/1400/low-latency-data/DNS order A and reno/1450/telephony/DNS order B, so every round changes every field.",
      "apply + verify = read the kernel state, plan, run the changes, read back and re-plan (anything left is a verify failure). The floor runs the same changes (route replace with congctl and mtu lock, sysctl, one nft transaction, resolv.conf rename) with no reading and no verification, in one `sh` under one `ip netns exec`.",
      `The floor made exactly the controller's changes (the controller planned nothing after it): ${runs.every((r) => r.floorEquivalent)}.`,
    ],
    runs,
  };
}
