// Metrics measured for real in a lab: the echo responder runs inside host h2's namespace, the prober and the
// sampler inside h1's (as the agent does), across the router whose source→destination link is impaired.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { labImpair } from "../../provider/lab";
import type { MetricsSampleData } from "../../provider/agent/metrics/sampler";
import type { PeerProbeStats } from "../../provider/agent/metrics/prober";
import { probePathMtu } from "../../provider/agent/metrics/pmtu";
import { readTcpFlows, tcpTowards } from "../../provider/agent/metrics/tcp";
import { run, start } from "../../provider/util/exec";
import { createLab, destroyLab, host, type LabHost, type LabInventory } from "../lab-fixture";

const LAB = "mtr1";
const LINK = "source:destination";
const PORT = 7047;
const MAIN = path.join(__dirname, "../../provider/agent/metrics/main.js");

/** Bounds of a binomial count at ±z standard deviations (z = 4.5: a false failure about once in 150000 runs). */
function binomialBounds(n: number, p: number, z = 4.5): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - z * sd), Math.ceil(n * p + z * sd)];
}

describe("metrics in a lab: probes, path MTU, TCP statistics and interface rates", function () {
  let inv: LabInventory;
  let h1: LabHost;
  let h2: LabHost;
  const children: ChildProcess[] = [];

  const spawnIn = (h: LabHost, argv: string[]) => {
    const c = start(argv, { netns: h.netns, stdio: ["ignore", "pipe", "pipe"] });
    children.push(c);
    return c;
  };
  const probe = async (count: number): Promise<PeerProbeStats> => {
    const argv = ["node", MAIN, "probe", "--peer", `h2=${h2.address}:${PORT}`, "--count", String(count)];
    const out = await run([...argv, "--interval-ms", "10", "--timeout-ms", "2000"], { netns: h1.netns });
    return (JSON.parse(out.stdout) as { peers: PeerProbeStats[] }).peers[0];
  };
  const iperfServer = async () => {
    spawnIn(h2, ["iperf3", "-s", "-1", "-B", h2.address]);
    for (let i = 0; i < 100; i++) {
      const ss = await run(["ss", "-tlnH", "sport", "=", ":5201"], { netns: h2.netns });
      if (ss.stdout.trim()) return;
      await sleep(50);
    }
    throw new Error("iperf3 server did not listen");
  };

  before(async function () {
    inv = await createLab({ name: LAB, hosts: 2, dns: false });
    h1 = host(inv, "h1");
    h2 = host(inv, "h2");
    const responder = spawnIn(h2, ["node", MAIN, "respond", "--listen", `${h2.address}:${PORT}`]);
    const line = await new Promise<string>((resolve, reject) => {
      responder.stdout?.once("data", (d: Buffer) => resolve(d.toString()));
      responder.once("exit", (code) => reject(new Error(`responder exited ${code}`)));
    });
    assert.deepEqual(JSON.parse(line), { listening: [`${h2.address}:${PORT}`] });
  });
  afterEach(async function () {
    await labImpair(LAB, { link: LINK, clear: true });
    await run(["ip", "route", "flush", "cache"], { netns: h1.netns }); // forget learned path MTUs
    for (const c of children.splice(1)) if (c.exitCode === null) c.kill();
  });
  after(async function () {
    for (const c of children) if (c.exitCode === null) c.kill();
    await destroyLab(LAB);
  });

  it("without impairment: no loss, RTT p50 under 100 ms, no duplicates", async function () {
    const s = await probe(200);
    assert.deepEqual([s.sent, s.received, s.lost, s.late, s.duplicate, s.lossRatio], [200, 200, 0, 0, 0, 0]);
    assert.ok(s.rtt && s.rtt.p50Ms > 0 && s.rtt.p50Ms < 100, `p50 ${s.rtt?.p50Ms} ms`);
  });

  it("with --loss 10 on source→destination: about 10% of 1000 probes lost (binomial bound)", async function () {
    await labImpair(LAB, { link: LINK, loss: 10 });
    const s = await probe(1000);
    const [lo, hi] = binomialBounds(1000, 0.1);
    assert.equal(s.sent, 1000);
    assert.equal(s.pending, 0);
    console.log(
      `      measured: ${s.lost}/1000 lost (${lo}..${hi} allowed), p50 ${s.rtt?.p50Ms.toFixed(3)} ms`,
    );
    assert.ok(s.lost >= lo && s.lost <= hi, `lost ${s.lost} of 1000, expected ${lo}..${hi}`);
    assert.equal(s.received + s.lost, 1000);
    assert.equal(s.duplicate, 0);
  });

  it("path MTU: the whole link, then --mtu 1400 refused with frag-needed", async function () {
    const clear = await probePathMtu(h2.address, { netns: h1.netns });
    assert.deepEqual(
      [clear.pathMtu, clear.linkMtu, clear.blackhole, clear.fragNeeded],
      [1500, 1500, false, false],
    );
    await labImpair(LAB, { link: LINK, mtu: 1400 });
    const r = await probePathMtu(h2.address, { netns: h1.netns });
    assert.deepEqual([r.pathMtu, r.blackhole, r.fragNeeded, r.reportedMtu], [1400, false, true, 1400]);
  });

  it("path MTU: --mtu 1400 --pmtu-blackhole gives 1400 and flags the black hole", async function () {
    await labImpair(LAB, { link: LINK, mtu: 1400, pmtuBlackhole: true });
    const r = await probePathMtu(h2.address, { netns: h1.netns });
    assert.deepEqual([r.pathMtu, r.blackhole, r.fragNeeded, r.reportedMtu], [1400, true, false, undefined]);
    assert.ok(r.probes.some((p) => p.size === 1401 && p.outcome === "timeout"));
    assert.ok(r.probes.some((p) => p.size === 1400 && p.outcome === "ok"));
  });

  it("with --rate 10mbit: the sampler in h1 sees the capped iperf3 rate on eth0 and the flow in ss", async function () {
    await labImpair(LAB, { link: LINK, rate: "10mbit" });
    await iperfServer();
    spawnIn(h1, ["iperf3", "-c", h2.address, "-t", "12"]);
    await sleep(3000); // past the start-up burst that fills the tbf queue
    const argv = ["node", MAIN, "sample", "--peer", `h2=${h2.address}:${PORT}`, "--samples", "5"];
    const out = await run([...argv, "--interface", "eth0", "--no-pmtu"], { netns: h1.netns });
    const samples = out.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as MetricsSampleData);
    assert.equal(samples.length, 5);
    assert.deepEqual(
      samples.map((s) => s.errors),
      [[], [], [], [], []],
    );
    const eth0 = samples.map((s) => s.interfaces.find((i) => i.name === "eth0"));
    const tx = eth0.reduce((sum, i) => sum + (i?.txBitsPerSecond ?? 0), 0) / eth0.length;
    console.log(`      measured: eth0 tx ${(tx / 1e6).toFixed(2)} Mbit/s under a 10mbit cap`);
    assert.ok(tx > 8e6 && tx < 12e6, `mean tx ${(tx / 1e6).toFixed(2)} Mbit/s, expected 10 ± 2`);
    const algo = (
      await run(["cat", "/proc/sys/net/ipv4/tcp_congestion_control"], { netns: h1.netns })
    ).stdout.trim();
    const tcp = samples[4].peers[0].tcp;
    assert.ok(tcp.connections >= 1 && tcp.srttMs > 0 && tcp.bytesAcked > 0, JSON.stringify(tcp));
    assert.deepEqual(tcp.congestionControls, [algo]);
    assert.ok(samples[4].peers[0].sent > 0); // probes share the tbf queue: their loss and RTT are not asserted
  });

  it("with --loss 10: ss shows the iperf3 flow's retransmissions and RTT", async function () {
    await labImpair(LAB, { link: LINK, loss: 10 });
    await iperfServer();
    spawnIn(h1, ["iperf3", "-c", h2.address, "-t", "6", "-b", "2M"]);
    await sleep(3000); // about 500 segments sent, about 50 of them lost
    const flows = (await readTcpFlows(h1.netns)).filter((f) => f.peer.port === 5201);
    const data = flows.find((f) => (f.bytesAcked ?? 0) > 10_000);
    assert.ok(data, `no iperf3 data flow in ${JSON.stringify(flows)}`);
    console.log(
      `      measured: retrans ${data.retransTotal}, rtt ${data.rttMs} ms, acked ${data.bytesAcked} B`,
    );
    assert.ok((data.retransTotal ?? 0) > 0 && (data.rttMs ?? 0) > 0, JSON.stringify(data));
    const agg = tcpTowards(flows, h2.address);
    assert.equal(agg.connections, flows.length);
    assert.ok(agg.retransmits >= (data.retransTotal ?? 0));
  });
});
