// `lab impair` measured for real: random loss within a binomial interval, a rate cap on iperf3, a smaller
// MTU with and without a PMTU black hole, netem detection; and `--clear` restores the router exactly.
import assert from "node:assert/strict";

import { labImpair, labStatus, NFT_TABLE } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, host, type LabInventory } from "../lab-fixture";

const LAB = "npl-t2";
const LINK = "source:destination";

/** Bounds of a binomial count at ±z standard deviations (z = 4.5: a false failure about once in 150000 runs). */
function binomialBounds(n: number, p: number, z = 4.5): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - z * sd), Math.ceil(n * p + z * sd)];
}

async function routerState(inv: LabInventory) {
  const r = inv.router.netns;
  return {
    tables: (await run(["nft", "list", "tables"], { netns: r })).stdout.trim(),
    qdisc: (await run(["tc", "-n", r, "qdisc", "show", "dev", "br2"])).stdout
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(" "),
    mtu: /mtu (\d+)/.exec((await run(["ip", "-n", r, "link", "show", "dev", "br2"])).stdout)?.[1],
  };
}

describe("lab impair: real impairments on the router's links", function () {
  let inv: LabInventory;
  let clean: Awaited<ReturnType<typeof routerState>>;

  before(async function () {
    inv = await createLab({ name: LAB, hosts: 2, dns: false });
    clean = await routerState(inv);
  });
  afterEach(async function () {
    await labImpair(LAB, { link: LINK, clear: true });
    await run(["ip", "-n", host(inv, "h1").netns, "route", "flush", "cache"]);
    assert.deepEqual(await routerState(inv), clean);
  });
  after(async function () {
    await destroyLab(LAB);
  });

  it("--loss 10 drops about 10% of 1000 forwarded probes, only from A to B, in the lab's own nft table", async function () {
    const list = await labImpair(LAB, { link: LINK, loss: 10 });
    assert.deepEqual(list, [{ from: "source", to: "destination", lossPercent: 10 }]);
    const rules = (await run(["nft", "list", "table", "inet", NFT_TABLE], { netns: inv.router.netns }))
      .stdout;
    assert.match(rules, /iifname "br1" oifname "br2" numgen random mod 100 < 10 drop/);
    const h1 = host(inv, "h1");
    const out = (
      await run(["ping", "-q", "-c", "1000", "-i", "0.002", "-W", "1", host(inv, "h2").address], {
        netns: h1.netns,
        check: false,
      })
    ).stdout;
    const received = Number(/(\d+) received/.exec(out)?.[1]);
    const [lo, hi] = binomialBounds(1000, 0.1);
    assert.ok(
      1000 - received >= lo && 1000 - received <= hi,
      `lost ${1000 - received} of 1000, expected ${lo}..${hi}`,
    );
    // Traffic into B that does not come from A (here: from the root namespace) is not dropped.
    const fromRoot = (
      await run(["ping", "-q", "-c", "200", "-i", "0.002", "-W", "1", host(inv, "h2").address])
    ).stdout;
    assert.match(fromRoot, /200 packets transmitted, 200 received/);
    assert.deepEqual((await labStatus(LAB)).impairments, list);
  });

  it("--rate 10mbit caps iperf3 throughput from A to B with tbf", async function () {
    await labImpair(LAB, { link: LINK, rate: "10mbit" });
    const tc = (await run(["tc", "-n", inv.router.netns, "qdisc", "show", "dev", "br2"])).stdout;
    assert.match(tc, /qdisc tbf 10: parent 1:1 rate 10Mbit .*lat 400ms/);
    const h2 = host(inv, "h2");
    const server = await run(["iperf3", "-s", "-1", "-D", "-B", h2.address], { netns: h2.netns });
    assert.equal(server.code, 0);
    const client = await run(["iperf3", "-c", h2.address, "-t", "3", "-J"], {
      netns: host(inv, "h1").netns,
      timeoutMs: 30_000,
    });
    const bps = JSON.parse(client.stdout).end.sum_received.bits_per_second as number;
    assert.ok(bps <= 10.5e6 && bps >= 5e6, `received ${Math.round(bps)} bit/s under a 10mbit cap`);
  });

  it("--mtu 1400 --pmtu-blackhole makes large DF packets vanish; without the black hole the router says why", async function () {
    const [h1, h2] = [host(inv, "h1"), host(inv, "h2")];
    await labImpair(LAB, { link: LINK, mtu: 1400, pmtuBlackhole: true });
    assert.equal((await routerState(inv)).mtu, "1400");
    const big = ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-M", "do", "-s", "1450", h2.address];
    const hole = await run(big, { netns: h1.netns, check: false });
    assert.match(hole.stdout, /3 packets transmitted, 0 received, 100% packet loss/);
    assert.doesNotMatch(hole.stdout, /Frag needed/);
    const small = await run(
      ["ping", "-c", "2", "-i", "0.2", "-W", "1", "-M", "do", "-s", "1300", h2.address],
      { netns: h1.netns },
    );
    assert.match(small.stdout, /2 received/);
    await labImpair(LAB, { link: LINK, clear: true });
    await labImpair(LAB, { link: LINK, mtu: 1400 });
    const told = await run(big, { netns: h1.netns, check: false });
    assert.match(
      told.stdout,
      new RegExp(
        `From ${h1.gateway.replace(/\./g, "\\.")} icmp_seq=1 Frag needed and DF set \\(mtu = 1400\\)`,
      ),
    );
  });

  it("--delay uses netem where the kernel has it and says so plainly where it has not", async function () {
    if (inv.netem) {
      await labImpair(LAB, { link: LINK, delay: "20ms" });
      assert.match(
        (await run(["tc", "-n", inv.router.netns, "qdisc", "show", "dev", "br2"])).stdout,
        /netem 10: .*delay 20ms/,
      );
    } else {
      await assert.rejects(
        labImpair(LAB, { link: LINK, delay: "20ms" }),
        /--delay needs the netem qdisc, which this kernel does not have/,
      );
      assert.deepEqual((await labStatus(LAB)).impairments, []);
    }
  });

  it("refuses a link or value that is not one of the lab's", async function () {
    await assert.rejects(
      labImpair(LAB, { link: "source:source", loss: 5 }),
      /--link: 'source:source' is not FROM:TO/,
    );
    await assert.rejects(
      labImpair(LAB, { link: LINK, loss: 101 }),
      /--loss: '101' must be a whole number from 0 to 100/,
    );
    await assert.rejects(labImpair(LAB, { link: LINK, rate: "fast" }), /--rate: 'fast' is not a rate/);
    await assert.rejects(labImpair(LAB, { link: LINK, mtu: "1400;x" }), /--mtu: '1400;x'/);
  });
});
