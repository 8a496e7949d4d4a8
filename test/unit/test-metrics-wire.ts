// The metrics library as the agent uses it: samples mapped onto MetricsSample (round-tripped through the
// real protobuf serializer of StreamMetrics), the MetricsSource for the RPC, and the MetricsSampler's
// samples as an async iterator, all against an echo responder on 127.0.0.1.
import assert from "node:assert/strict";

import { startEchoResponder, type EchoResponder } from "../../provider/agent/metrics/echo";
import { MetricsSampler, type MetricsSampleData } from "../../provider/agent/metrics/sampler";
import { createMetricsSource, sampleToWire } from "../../provider/agent/metrics/wire";
import { aggregateFlows } from "../../provider/util/ss";
import type { MetricsSample__Output } from "../../provider/proto/gen/netpersona/agent/v1/MetricsSample";
import { loadAgentApi } from "../../provider/proto/load";

function roundTrip(sample: ReturnType<typeof sampleToWire>): MetricsSample__Output {
  const rpc = loadAgentApi().service.StreamMetrics;
  return rpc.responseDeserialize(rpc.responseSerialize(sample)) as MetricsSample__Output;
}

describe("metrics: the wire form and the agent's sources", function () {
  let responder: EchoResponder | undefined;
  before(async function () {
    responder = await startEchoResponder({ address: "127.0.0.1", port: 0, allowed: () => true });
  });
  after(async function () {
    await responder?.close();
  });

  it("maps a sample onto MetricsSample field by field", function () {
    const tcp = {
      ...aggregateFlows([]),
      connections: 2,
      retransmits: 39,
      segmentsOut: 2546,
      bytesAcked: 3598483,
    };
    const sample: MetricsSampleData = {
      timeUnixMs: 1700000000123,
      seq: 7,
      errors: [],
      peers: [
        {
          name: "h2",
          address: "10.200.2.10",
          port: 7047,
          sent: 10,
          received: 9,
          late: 0,
          lost: 1,
          duplicate: 0,
          pending: 0,
          lossRatio: 0.1,
          rtt: { minMs: 0.25, meanMs: 0.5, p50Ms: 0.5, p90Ms: 0.75, p99Ms: 1, maxMs: 1 },
          jitterMs: 0.125,
          jitterRfc3550Ms: 0.0625,
          totals: { sent: 10, received: 9, late: 0, duplicate: 0 },
          tcp: { ...tcp, srttMs: 7.5, cwnd: 14.5, congestionControls: ["bbr"] },
          pmtu: {
            address: "10.200.2.10",
            linkMtu: 1500,
            device: "eth0",
            pathMtu: 1400,
            blackhole: true,
            fragNeeded: false,
            probes: [],
          },
        },
      ],
      interfaces: [
        {
          name: "eth0",
          seconds: 1,
          rxBitsPerSecond: 8000,
          txBitsPerSecond: 80000,
          rxBytesPerSecond: 1000,
          txBytesPerSecond: 10000,
          rxPacketsPerSecond: 10,
          txPacketsPerSecond: 20,
          rxDropped: 3,
          txDropped: 0,
          totals: { rx_bytes: 1, tx_bytes: 2, rx_packets: 3, tx_packets: 4, rx_dropped: 5, tx_dropped: 6 },
        },
      ],
    };
    assert.deepEqual(roundTrip(sampleToWire(sample)), {
      time_unix_ms: "1700000000123",
      seq: "7",
      peers: [
        {
          name: "h2",
          address: "10.200.2.10",
          rtt: { min_ms: 0.25, mean_ms: 0.5, p50_ms: 0.5, p90_ms: 0.75, p99_ms: 1, max_ms: 1 },
          loss_ratio: 0.1,
          jitter_ms: 0.125,
          path_mtu: 1400,
          tcp: {
            connections: 2,
            retransmits: "39",
            segments_out: "2546",
            bytes_acked: "3598483",
            srtt_ms: 7.5,
            cwnd: 14.5,
            congestion_controls: ["bbr"],
          },
        },
      ],
      interfaces: [
        {
          name: "eth0",
          rx_bytes_per_second: 1000,
          tx_bytes_per_second: 10000,
          rx_packets_per_second: 10,
          tx_packets_per_second: 20,
          rx_dropped: "3",
          tx_dropped: "0",
        },
      ],
    });
  });

  it("MetricsSource.sample sends exactly probesPerSample probes per peer and reports them", async function () {
    const source = createMetricsSource({
      port: responder!.port,
      interfaces: ["lo"],
      pmtuEveryMs: 0,
      spacingMs: 5,
    });
    const peers = [{ name: "self", address: "127.0.0.1" }];
    const first = roundTrip(await source.sample(peers, 8, new AbortController().signal));
    assert.equal(first.peers.length, 1);
    const p = first.peers[0];
    assert.deepEqual([p.name, p.address, p.loss_ratio, p.path_mtu], ["self", "127.0.0.1", 0, 0]);
    assert.ok(p.rtt && p.rtt.min_ms > 0 && p.rtt.min_ms <= p.rtt.max_ms);
    assert.deepEqual(
      first.interfaces.map((i) => i.name),
      ["lo"],
    );
    const before = responder!.counts().echoed;
    await source.sample(peers, 8, new AbortController().signal);
    assert.equal(responder!.counts().echoed - before, 8);
  });

  it("MetricsSampler yields numbered samples from its async iterator until stopped", async function () {
    const sampler = new MetricsSampler({
      peers: [{ name: "self", address: "127.0.0.1", port: responder!.port }],
      intervalMs: 300,
      probeIntervalMs: 20,
      interfaces: ["lo"],
      pmtu: false,
    });
    const got: MetricsSampleData[] = [];
    try {
      for await (const s of sampler) {
        got.push(s);
        if (got.length === 3) break;
      }
    } finally {
      await sampler.stop();
    }
    assert.deepEqual(
      got.map((s) => [s.seq, s.errors, s.peers.map((p) => p.name), s.interfaces.map((i) => i.name)]),
      [1, 2, 3].map((seq) => [seq, [], ["self"], ["lo"]]),
    );
    assert.ok(got[2].peers[0].totals.sent > got[0].peers[0].totals.sent);
    assert.equal(got[2].peers[0].lost, 0);
  });
});
