// Metrics parsers with exact values: `ss -tin` captured on this machine while iperf3 ran in a lab (10mbit
// cap, 1% loss), ping's DF outcomes, the path MTU search over a scripted path, interface rates, wire mapping.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import { ifRates, InterfaceMeter } from "../../provider/agent/metrics/ifstats";
import { checkNetns } from "../../provider/agent/metrics/netns";
import { parsePing, searchPathMtu, type PingResult } from "../../provider/agent/metrics/pmtu";
import { aggregateFlows, parseEndpoint, parseRate, parseSsTcpInfo } from "../../provider/util/ss";
import { canonicalAddress, tcpTowards } from "../../provider/agent/metrics/tcp";

const fixture = (name: string) => readFileSync(path.join(__dirname, "../../../test/fixtures", name), "utf8");

describe("metrics: ss -tin parser", function () {
  it("reads the iperf3 sender's sockets field by field", function () {
    const flows = parseSsTcpInfo(fixture("ss-tin-iperf3-sender.txt"));
    assert.equal(flows.length, 2);
    const data = flows[1];
    assert.deepEqual(data, {
      state: "ESTAB",
      recvQ: 0,
      sendQ: 550240,
      local: { address: "10.200.1.10", port: 51444 },
      peer: { address: "10.200.2.10", port: 5201 },
      appLimited: false,
      congestionControl: "bbr",
      rtoMs: 216,
      rttMs: 14.964,
      rttVarMs: 2.254,
      mss: 1448,
      pmtu: 1500,
      cwnd: 16,
      ssthresh: 136,
      bytesSent: 3672165,
      bytesRetrans: 56472,
      bytesAcked: 3598318,
      segsOut: 2539,
      segsIn: 707,
      dataSegsOut: 2537,
      sendBps: 12385993,
      pacingRateBps: 9547904,
      deliveryRateBps: 7160560,
      delivered: 2487,
      unacked: 12,
      retransCurrent: 0,
      retransTotal: 39,
      minRttMs: 0.013,
    });
    assert.equal(flows[0].appLimited, true);
    assert.equal(flows[0].bytesReceived, 4);
  });

  it("aggregates the flows towards one peer", function () {
    const flows = parseSsTcpInfo(fixture("ss-tin-iperf3-sender.txt"));
    assert.deepEqual(tcpTowards(flows, "10.200.2.10"), {
      connections: 2,
      retransmits: 39,
      segmentsOut: 2546,
      bytesSent: 3672329,
      bytesAcked: 3598483,
      bytesReceived: 4,
      bytesRetrans: 56472,
      srttMs: (0.077 + 14.964) / 2,
      cwnd: 14.5,
      deliveryRateBps: 609684208 + 7160560,
      pacingRateBps: 3941112168 + 9547904,
      congestionControls: ["bbr"],
    });
    assert.equal(tcpTowards(flows, "10.200.9.9").connections, 0);
    assert.deepEqual(aggregateFlows([]).congestionControls, []);
  });

  it("reads the receiver side (bytes_received, no retrans field)", function () {
    const flows = parseSsTcpInfo(fixture("ss-tin-iperf3-receiver.txt"));
    assert.deepEqual(
      flows.map((f) => [f.local.port, f.peer.port, f.bytesReceived, f.retransTotal, f.rttMs]),
      [
        [5201, 51444, 3605557, undefined, 0.015],
        [5201, 51434, 164, undefined, 0.216],
      ],
    );
  });

  it("IPv6 endpoints, flags before the algorithm, human rates, no header", function () {
    const text =
      "ESTAB 0 0 [::ffff:192.0.2.1]:22 [2001:db8::7%eth0]:40000\n" +
      "\t ts sack cubic wscale:7,7 rto:201 rtt:0.5/0.25 cwnd:10 retrans:1/3 send 231.7Mbps pacing_rate 1.5Gbps\n";
    const [f] = parseSsTcpInfo(text);
    assert.deepEqual(f.local, { address: "192.0.2.1", port: 22 });
    assert.deepEqual(f.peer, { address: "2001:db8::7", port: 40000 });
    assert.deepEqual(
      [f.congestionControl, f.retransCurrent, f.retransTotal, f.sendBps, f.pacingRateBps],
      ["cubic", 1, 3, 231.7e6, 1.5e9],
    );
    assert.equal(parseRate("500Kbps"), 500e3);
    assert.equal(parseRate("fast"), undefined);
    assert.equal(parseEndpoint("*:*"), undefined);
    assert.equal(canonicalAddress("2001:DB8:0:0::7"), "2001:db8::7");
    assert.equal(canonicalAddress("::ffff:192.0.2.1"), "192.0.2.1");
  });
});

describe("metrics: ping outcomes and the path MTU search", function () {
  it("classifies DF pings as iputils prints them", function () {
    const ok =
      "PING 10.0.0.2 (10.0.0.2) 1372(1400) bytes of data.\n1380 bytes from 10.0.0.2: icmp_seq=1 ttl=63\n";
    assert.deepEqual(parsePing(0, ok), { outcome: "ok" });
    const frag =
      "From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n1 packets transmitted, 0 received, +1 errors";
    assert.deepEqual(parsePing(1, frag), { outcome: "frag-needed", mtu: 1400 });
    assert.deepEqual(parsePing(1, "ping: local error: message too long, mtu=1400\n"), {
      outcome: "frag-needed",
      mtu: 1400,
    });
    assert.deepEqual(parsePing(1, "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n"), {
      outcome: "timeout",
    });
    assert.deepEqual(parsePing(2, "ping: connect: Network is unreachable\n"), {
      outcome: "error",
      message: "ping: connect: Network is unreachable",
    });
  });

  /** A path that passes packets up to `mtu` and refuses larger ones with frag-needed or silence. */
  const path1400 =
    (blackhole: boolean) =>
    async (size: number): Promise<PingResult> =>
      size <= 1400
        ? { outcome: "ok" }
        : blackhole
          ? { outcome: "timeout" }
          : { outcome: "frag-needed", mtu: 1400 };

  it("follows the frag-needed hint: four probes", async function () {
    const r = await searchPathMtu(576, 1500, path1400(false));
    assert.deepEqual(
      r.probes.map((p) => [p.size, p.outcome]),
      [
        [576, "ok"],
        [1500, "frag-needed"],
        [1400, "ok"],
        [1401, "frag-needed"],
      ],
    );
    assert.deepEqual([r.pathMtu, r.blackhole, r.fragNeeded, r.reportedMtu], [1400, false, true, 1400]);
  });

  it("bisects a black hole to the exact size and flags it", async function () {
    const r = await searchPathMtu(576, 1500, path1400(true));
    assert.deepEqual(
      r.probes.map((p) => p.size),
      [576, 1500, 1038, 1269, 1384, 1442, 1413, 1398, 1405, 1401, 1399, 1400],
    );
    assert.deepEqual([r.pathMtu, r.blackhole, r.fragNeeded, r.reportedMtu], [1400, true, false, undefined]);
  });

  it("the whole link passes; an unreachable peer gives 0", async function () {
    const all = await searchPathMtu(576, 1500, async () => ({ outcome: "ok" }));
    assert.deepEqual([all.pathMtu, all.probes.length, all.blackhole], [1500, 2, false]);
    const none = await searchPathMtu(576, 1500, async () => ({ outcome: "timeout" }));
    assert.deepEqual([none.pathMtu, none.probes.length, none.blackhole], [0, 1, false]);
  });
});

describe("metrics: interface rates", function () {
  const reading = (atMs: number, rx: number, tx: number, drops = 0) => ({
    name: "eth0",
    atMs,
    values: {
      rx_bytes: rx,
      tx_bytes: tx,
      rx_packets: rx / 100,
      tx_packets: tx / 100,
      rx_dropped: drops,
      tx_dropped: 0,
    },
  });

  it("bits, bytes and packets per second between two readings", function () {
    const r = ifRates(reading(1000, 0, 1000), reading(3000, 250_000, 2_501_000, 7));
    assert.deepEqual(
      [
        r.seconds,
        r.rxBitsPerSecond,
        r.txBitsPerSecond,
        r.rxPacketsPerSecond,
        r.txPacketsPerSecond,
        r.rxDropped,
      ],
      [2, 1_000_000, 10_000_000, 1250, 12500, 7],
    );
    assert.throws(() => ifRates(reading(1000, 0, 0), reading(1000, 0, 0)), /later/);
  });

  it("refuses names that are not interface or namespace names", function () {
    assert.throws(() => new InterfaceMeter(["eth0/../x"]), /not a valid interface name/);
    assert.throws(() => checkNetns("netns", "-n"), /not a valid namespace name/);
    assert.equal(checkNetns("netns", "np-m1-h1"), "np-m1-h1");
  });
});
