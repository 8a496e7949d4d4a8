// Part 1, disruption: a live iperf3 flow and a request/response workload cross the migrated node's path while
// its persona changes from source to target (a) all at once, in one apply, as a declarative tool converging
// the host in one step does, (b) blended by the engine: the policy's schedule of weights, each plan put on the
// host by the agent's own applyPlan. A control run (no change) gives the noise floor of every figure.
import { setTimeout as sleep } from "node:timers/promises";

import { applyPlan } from "../provider/agent/session/apply";
import { createHostController } from "../provider/agent/host";
import { blend, DEFAULT_POLICY } from "../provider/engine";
import { labImpair } from "../provider/lab";
import { personaSchema, type Persona, type PersonaInput } from "../provider/persona/schema";
import { run } from "../provider/util/exec";
import { hostOn, withLab, type LabInventory } from "./lab";
import { figure, percentile, type PartResult } from "./stats";
import { runTraffic, type TrafficResult } from "./traffic";
import type { PartOptions } from "./part";

type Mode = "none" | "all-at-once" | "blended";

function personas(inv: LabInventory): { source: Persona; target: Persona } {
  const dst = inv.networks.find((n) => n.name === "destination")!;
  const dns = inv.dnsResponders.map((r) => r.address);
  const base = { mtuScope: "route" as const };
  const input: Record<"source" | "target", PersonaInput> = {
    source: {
      ...base,
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "standard" },
      dns: { servers: dns },
      routes: { preferredGateway: dst.gateway },
    },
    target: {
      ...base,
      congestionControl: "bbr",
      mtu: 1400,
      qos: { class: "low-latency-data" },
      dns: { servers: [...dns].reverse() },
      routes: { preferredGateway: secondGateway(inv) },
    },
  };
  return { source: personaSchema.parse(input.source), target: personaSchema.parse(input.target) };
}

/** A second router address on the destination network, so that the target persona changes the egress gateway. */
function secondGateway(inv: LabInventory): string {
  const gw = inv.networks.find((n) => n.name === "destination")!.gateway;
  return gw.replace(/\.1$/, ".3");
}

export interface DisruptionRun {
  mode: Mode;
  repeat: number;
  changeStartS: number;
  changeEndS: number;
  baselineMbps: number;
  dipMbit: number;
  depthPct: number;
  belowS: number;
  retransmits: number;
  p99Ms: number;
  failed: number;
  requests: number;
}

/** Figures of one run from its traffic: the window is everything from the change to the end of the flow. */
/** Throughput averaged over 5 iperf3 intervals (0.5 s): paced flows alternate full and short 0.1 s intervals. */
function smooth(flow: TrafficResult["flow"]): TrafficResult["flow"] {
  return flow.map((s, i) => {
    const w = flow.slice(Math.max(0, i - 2), i + 3);
    return { ...s, mbps: w.reduce((a, x) => a + x.mbps, 0) / w.length };
  });
}

/** Figures of one run from its traffic: the window is everything from the change to the end of the flow. */
export function analyse(
  mode: Mode,
  repeat: number,
  tr: TrafficResult,
  change: [number, number],
): DisruptionRun {
  const [c0, c1] = change.map((t) => (t - tr.startUnixMs) / 1000);
  const flow = smooth(tr.flow);
  const before = flow.filter((s) => s.t > 0.5 && s.t <= c0 - 0.2);
  const base = before.reduce((a, s) => a + s.mbps, 0) / before.length;
  // The last 0.5 s is left out: the flow's final, shorter intervals are not a dip.
  const end = tr.flow.length ? tr.flow[tr.flow.length - 1].t - 0.5 : 0;
  const win = flow.filter((s) => s.t > c0 && s.t <= end);
  const raw = tr.flow.filter((s) => s.t > c0 && s.t <= end);
  const rrOffset = tr.requestsStartUnixMs - tr.startUnixMs;
  const reqs = tr.requests.filter(([off]) => off + rrOffset >= c0 * 1000);
  const ok = reqs.filter(([, lat]) => lat >= 0).map(([, lat]) => lat);
  return {
    mode,
    repeat,
    changeStartS: c0,
    changeEndS: c1,
    baselineMbps: base,
    dipMbit: win.reduce((a, s) => a + Math.max(0, base - s.mbps) * s.seconds, 0),
    depthPct: win.length ? Math.max(0, ...win.map((s) => (100 * (base - s.mbps)) / base)) : NaN,
    belowS: win.filter((s) => s.mbps < 0.9 * base).reduce((a, s) => a + s.seconds, 0),
    retransmits: raw.reduce((a, s) => a + s.retransmits, 0),
    p99Ms: percentile(ok, 99),
    failed: reqs.length - ok.length,
    requests: reqs.length,
  };
}

export async function benchDisruption(o: PartOptions): Promise<PartResult> {
  const steps = DEFAULT_POLICY.schedule.steps.map((s) => (typeof s === "number" ? s : s.weight));
  const dwellMs = o.smoke ? 300 : 1000;
  const leadS = o.smoke ? 1.5 : 3;
  const seconds = Math.ceil(leadS + (steps.length * dwellMs) / 1000 + (o.smoke ? 1.5 : 3));
  const rate = o.smoke ? "50mbit" : "100mbit";
  const flowRate = o.smoke ? "30M" : "60M";
  const requestRate = o.smoke ? 20 : 40;
  const runs: DisruptionRun[] = [];
  await withLab(o.smoke ? "bsdis" : "bdis", 2, async (inv) => {
    const node = hostOn(inv, "destination");
    const peer = hostOn(inv, "source");
    const dstNet = inv.networks.find((n) => n.name === "destination")!;
    await run(["ip", "addr", "add", `${secondGateway(inv)}/24`, "dev", dstNet.bridge], {
      netns: inv.router.netns,
    });
    await labImpair(inv.name, { link: "destination:source", rate });
    const host = createHostController({ netns: node.netns });
    const { source, target } = personas(inv);
    const pristine = await host.snapshot();
    try {
      for (let r = 0; r < o.repeat; r++) {
        for (const mode of ["none", "all-at-once", "blended"] as Mode[]) {
          await host.apply(source);
          let change: [number, number] = [0, 0];
          const tr = await runTraffic({
            serverNs: peer.netns,
            serverAddr: peer.address,
            clientNs: node.netns,
            seconds,
            requestRate,
            flowRate,
            during: async () => {
              await sleep(leadS * 1000);
              const t0 = Date.now();
              if (mode === "all-at-once") await host.apply(target);
              if (mode === "blended") {
                for (const [i, w] of steps.entries()) {
                  await applyPlan(host, blend(source, target, w));
                  if (i < steps.length - 1) await sleep(dwellMs);
                }
              }
              change = [t0, Date.now()];
            },
          });
          const a = analyse(mode, r + 1, tr, change);
          o.log(
            `disruption ${mode} #${r + 1}: dip ${a.dipMbit.toFixed(2)} Mbit, retrans ${a.retransmits}, p99 ${a.p99Ms} ms, failed ${a.failed}`,
          );
          runs.push(a);
          await host.restore(pristine);
        }
      }
    } finally {
      await host.restore(pristine);
    }
  });
  return summarise(runs, {
    steps,
    dwellMs,
    seconds,
    bottleneck: rate,
    flowRate,
    requestRate,
    repeat: o.repeat,
  });
}

function summarise(runs: DisruptionRun[], settings: Record<string, unknown>): PartResult {
  const of = (m: Mode, k: keyof DisruptionRun) => runs.filter((r) => r.mode === m).map((r) => r[k] as number);
  const ratio = (k: keyof DisruptionRun) => {
    const a = of("all-at-once", k);
    const b = of("blended", k);
    return b.map((v, i) => (a[i] > 0 ? v / a[i] : NaN));
  };
  const figures = [];
  for (const [m, tag] of [
    ["all-at-once", "a"],
    ["blended", "b"],
    ["none", "none"],
  ] as [Mode, string][]) {
    figures.push(
      figure(`dip.${tag}`, `throughput dip, ${m} (${tag})`, "Mbit", of(m, "dipMbit")),
      figure(`depth.${tag}`, `dip depth, ${m}`, "% of baseline", of(m, "depthPct")),
      figure(`below.${tag}`, `time below 90 % of baseline, ${m}`, "s", of(m, "belowS")),
      figure(`retrans.${tag}`, `retransmissions, ${m}`, "segments", of(m, "retransmits")),
      figure(`p99.${tag}`, `request p99 latency, ${m}`, "ms", of(m, "p99Ms")),
      figure(`failed.${tag}`, `failed requests, ${m}`, "requests", of(m, "failed")),
    );
  }
  const excess = (m: Mode) => of(m, "dipMbit").map((v, i) => v - of("none", "dipMbit")[i]);
  figures.push(
    figure(
      "excess.a",
      "dip above the no-change run of the same repeat, all-at-once",
      "Mbit",
      excess("all-at-once"),
    ),
    figure("excess.b", "dip above the no-change run of the same repeat, blended", "Mbit", excess("blended")),
    figure("ratio.dip", "dip ratio (b)/(a)", "ratio", ratio("dipMbit"), {
      op: "<=",
      value: 0.2,
      text: "≤ 0.2",
    }),
    figure("ratio.retrans", "retransmissions ratio (b)/(a)", "ratio", ratio("retransmits")),
    figure("ratio.p99", "p99 latency ratio (b)/(a)", "ratio", ratio("p99Ms")),
  );
  return {
    title: "Disruption: persona change under live traffic",
    settings,
    figures,
    notes: [
      "Lab of 2 hosts: the migrated node h2 (destination network) sends one iperf3 TCP flow (cubic, paced at `flowRate`) and opens one new TCP connection per request (512 B request, 16 KiB response, 2 s timeout) to its peer h1 (source network), through the router with a `bottleneck` tbf rate limit.",
      "Source persona: cubic, MTU 1500 (route lock), QoS standard, DNS in lab order, gateway .1. Target: bbr, MTU 1400, QoS low-latency-data, DNS reversed, gateway .3 (a second router address). (a) = one HostController.apply of the target; (b) = blend(source, target, w) for each step of the default schedule, applied with the agent's applyPlan, `dwellMs` apart.",
      "Window: from the start of the change to 0.5 s before the end of the flow (same length for every mode). Dip = Σ max(0, baseline − throughput) × interval over iperf3's 0.1 s intervals averaged over 0.5 s (Mbit not carried); baseline = mean throughput before the change; depth = largest drop of that average below the baseline. 'none' runs the same traffic with no change: its figures are the noise floor.",
      "The dip of the no-change run is not 0: Σ max(0, baseline − throughput) adds up the paced flow's own ripple. The 'dip above the no-change run' rows subtract it per repeat; values around 0 (either sign) mean no disruption measurable above that ripple.",
      "A ratio is computed per repeat; it is undefined (left out) when (a) has 0 in that repeat. The kernel changes involved (route replace, nft table swap, resolv.conf rename) do not reset links or flush sockets, so both dips can be at the noise floor: compare with 'none' before reading the ratio.",
    ],
    runs,
  };
}
