// Metrics units: the window statistics and jitter with exact values, the probe codec, and the echo prober
// against in-process responders on 127.0.0.1 (port 0) that answer, drop, duplicate or delay on purpose.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";

import {
  decodeProbe,
  encodeProbe,
  startEchoResponder,
  type EchoResponder,
} from "../../provider/agent/metrics/echo";
import { EchoProber } from "../../provider/agent/metrics/prober";
import { SESSION_PROBE_PORTS } from "../../provider/agent/session/probes";
import {
  meanAbsDelta,
  percentile,
  ProbeWindow,
  rfc3550Jitter,
  summarizeRtt,
  summarizeWindow,
} from "../../provider/agent/metrics/window";

describe("metrics: window statistics", function () {
  it("nearest-rank percentiles", function () {
    const v = Array.from({ length: 10 }, (_, i) => i + 1); // 1..10
    assert.deepEqual(
      [10, 50, 90, 99, 100].map((p) => percentile(v, p)),
      [1, 5, 9, 10, 10],
    );
    assert.equal(percentile([7], 50), 7);
    assert.throws(() => percentile([], 50), /empty/);
    assert.throws(() => percentile([1], 0), /p must be/);
  });

  it("RTT summary of 100 values", function () {
    const rtts = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
    assert.deepEqual(summarizeRtt(rtts), {
      minMs: 1,
      meanMs: 50.5,
      p50Ms: 50,
      p90Ms: 90,
      p99Ms: 99,
      maxMs: 100,
    });
    assert.equal(summarizeRtt([]), null);
  });

  it("jitter: mean absolute difference and the RFC 3550 estimator", function () {
    const rtts = [10, 12, 11, 15]; // differences 2, 1, 4
    assert.equal(meanAbsDelta(rtts), 7 / 3);
    // J = 0 → 2/16 = 0.125 → 0.125 + (1 - 0.125)/16 = 0.1796875 → 0.1796875 + (4 - 0.1796875)/16
    assert.equal(rfc3550Jitter(rtts), 0.41845703125);
    assert.equal(meanAbsDelta([5]), 0);
    assert.equal(rfc3550Jitter([5]), 0);
  });

  it("counts sent, received, late, lost, duplicate and pending; loss only over decided probes", function () {
    const records = [
      { seq: 3, sentAtMs: 300, rttMs: 4, duplicates: 0 },
      { seq: 0, sentAtMs: 0, rttMs: 2, duplicates: 1 },
      { seq: 1, sentAtMs: 100, duplicates: 0 }, // never answered: lost
      { seq: 2, sentAtMs: 200, rttMs: 1500, duplicates: 0 }, // answered after the timeout: late (lost)
      { seq: 4, sentAtMs: 400, rttMs: 8, duplicates: 2 },
      { seq: 5, sentAtMs: 1000, duplicates: 0 }, // 500 ms old at now=1500: pending
    ];
    const s = summarizeWindow(records, 1500, 1000);
    assert.deepEqual(
      { ...s, rtt: undefined },
      {
        sent: 6,
        received: 3,
        late: 1,
        lost: 2,
        duplicate: 3,
        pending: 1,
        lossRatio: 2 / 5,
        rtt: undefined,
        jitterMs: (2 + 4) / 2, // RTTs in sequence order: 2, 4, 8
        jitterRfc3550Ms: 2 / 16 + (4 - 2 / 16) / 16,
      },
    );
    assert.deepEqual(s.rtt, { minMs: 2, meanMs: 14 / 3, p50Ms: 4, p90Ms: 8, p99Ms: 8, maxMs: 8 });
    assert.equal(summarizeWindow([], 0, 1000).lossRatio, 0);
  });

  it("the window keeps the newest probes and tells first replies from duplicates", function () {
    const w = new ProbeWindow(3);
    for (let seq = 0; seq < 5; seq++) w.add(seq, seq * 10);
    assert.deepEqual(
      w.list().map((r) => r.seq),
      [2, 3, 4],
    );
    assert.equal(w.reply(1, 1), "unknown");
    assert.equal(w.reply(3, 1.5), "first");
    assert.equal(w.reply(3, 2.5), "duplicate");
    assert.deepEqual(w.list()[1], { seq: 3, sentAtMs: 30, rttMs: 1.5, duplicates: 1 });
    assert.throws(() => new ProbeWindow(0), /positive integer/);
  });
});

describe("metrics: probe codec", function () {
  it("round-trips and refuses what is not a probe", function () {
    const b = encodeProbe({ token: 0xdeadbeef, seq: 42, sentNs: 123456789012345n }, 100);
    assert.equal(b.length, 100);
    assert.deepEqual(decodeProbe(b), { token: 0xdeadbeef, seq: 42, sentNs: 123456789012345n });
    const bad = Buffer.from(b);
    bad[0] = 0;
    assert.equal(decodeProbe(bad), undefined);
    assert.equal(decodeProbe(b.subarray(0, 19)), undefined);
    assert.throws(() => encodeProbe({ token: 1, seq: 1, sentNs: 1n }, 19), /probe size/);
    assert.throws(() => encodeProbe({ token: 1, seq: 1, sentNs: 1n }, 1473), /probe size/);
  });
});

/** A scripted responder: for each probe seq, how many copies to send back and after how long. */
async function scripted(plan: (seq: number) => { copies: number; delayMs: number }) {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, rinfo) => {
    const p = decodeProbe(msg);
    if (!p) return;
    const { copies, delayMs } = plan(p.seq);
    const send = () => {
      for (let i = 0; i < copies; i++) sock.send(msg, rinfo.port, rinfo.address);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  return { port: sock.address().port, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

async function settle(prober: EchoProber): Promise<void> {
  while (prober.stats().some((s) => s.pending > 0)) await sleep(20);
}

describe("metrics: echo prober on loopback", function () {
  let responder: EchoResponder | undefined;
  let prober: EchoProber | undefined;
  let fake: { close(): Promise<void> } | undefined;
  afterEach(async function () {
    await prober?.close();
    await responder?.close();
    await fake?.close();
    prober = responder = fake = undefined;
  });

  it("every probe to a real responder comes back once; stray datagrams are not echoed", async function () {
    responder = await startEchoResponder({ address: "127.0.0.1", port: 0, allowed: () => true });
    prober = new EchoProber([{ name: "lo", address: "127.0.0.1", port: responder.port }], {
      intervalMs: 5,
      timeoutMs: 2000,
      window: 50,
    });
    await prober.open();
    for (let i = 0; i < 20; i++) prober.sendRound();
    await settle(prober);
    const [s] = prober.stats();
    assert.deepEqual(
      [s.name, s.sent, s.received, s.lost, s.late, s.duplicate, s.lossRatio],
      ["lo", 20, 20, 0, 0, 0, 0],
    );
    assert.ok(s.rtt && s.rtt.minMs > 0 && s.rtt.minMs <= s.rtt.p50Ms && s.rtt.p50Ms <= s.rtt.maxMs);
    const stray = dgram.createSocket("udp4");
    await new Promise<void>((r) => stray.send(Buffer.from("hello"), responder!.port, "127.0.0.1", () => r()));
    stray.close();
    while (responder.counts().ignored === 0) await sleep(10);
    assert.deepEqual(responder.counts(), { echoed: 20, ignored: 1, refused: 0, limited: 0 });
  });

  it("takes its source ports in turn (sourcePorts), so a multipath route spreads the probes like traffic", async function () {
    const ports: number[] = [];
    const sock = dgram.createSocket("udp4");
    sock.on("message", (msg, rinfo) => {
      ports.push(rinfo.port);
      sock.send(msg, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
    fake = { close: () => new Promise<void>((r) => sock.close(() => r())) };
    prober = new EchoProber([{ name: "lo", address: "127.0.0.1", port: sock.address().port }], {
      intervalMs: 5,
      timeoutMs: 2000,
      window: 50,
      sourcePorts: SESSION_PROBE_PORTS,
    });
    await prober.open();
    for (let i = 0; i < 16; i++) prober.sendRound();
    await settle(prober);
    const [st] = prober.stats();
    assert.deepEqual([st.sent, st.received, st.lost], [16, 16, 0]);
    assert.equal(new Set(ports).size, 8);
    assert.deepEqual(ports.slice(8), ports.slice(0, 8), "the same 8 ports, in the same turn");
  });

  it("drops, duplicates and late replies are counted exactly", async function () {
    // seq 0..19: odd ones dropped, multiples of 4 answered twice, seq 2 answered after the timeout.
    const timeoutMs = 300;
    const r = await scripted((seq) => ({
      copies: seq % 2 === 1 ? 0 : seq % 4 === 0 ? 2 : 1,
      delayMs: seq === 2 ? timeoutMs + 400 : 0,
    }));
    fake = r;
    prober = new EchoProber([{ name: "fake", address: "127.0.0.1", port: r.port }], {
      intervalMs: 5,
      timeoutMs,
      window: 20,
    });
    await prober.open();
    for (let i = 0; i < 20; i++) prober.sendRound();
    while (prober.stats()[0].late === 0) await sleep(20); // the delayed reply has arrived
    await sleep(100); // and any duplicate still in flight on loopback
    const s = prober.stats()[0];
    assert.deepEqual(
      {
        sent: s.sent,
        received: s.received,
        late: s.late,
        lost: s.lost,
        duplicate: s.duplicate,
        pending: s.pending,
      },
      { sent: 20, received: 9, late: 1, lost: 11, duplicate: 5, pending: 0 },
    );
    assert.equal(s.lossRatio, 11 / 20);
    assert.deepEqual(s.totals, { sent: 20, received: 9, late: 1, duplicate: 5 });
  });

  it("refuses bad peers before opening a socket", function () {
    const opts = { intervalMs: 10, timeoutMs: 100, window: 10 };
    assert.throws(
      () => new EchoProber([{ name: "a b", address: "127.0.0.1", port: 1 }], opts),
      /peers.0.name/,
    );
    assert.throws(
      () => new EchoProber([{ name: "a", address: "host;rm", port: 1 }], opts),
      /peers.0.address/,
    );
    assert.throws(() => new EchoProber([{ name: "a", address: "127.0.0.1", port: 0 }], opts), /peers.0.port/);
  });
});
