// Automated persona discovery: the ss parser, the rules, the catalogue and the helpers on exact inputs; then
// in a real lab: a host with no traffic says so, and a short concurrent general mix (real pgbench,
// redis-benchmark -k 0, curl per object, node HTTP/2, iperf3, scp, ssh typing, a socat shell, curl segments,
// a UDP stream, all at once on h1) meets the accuracy, session and calibration targets.
import assert from "node:assert/strict";

import { Command } from "commander";

import { registerDiscover, parseDuration } from "../../provider/cli/discover";
import {
  analyse,
  discover,
  noTrafficNote,
  personaArgsFromDiscovery,
  recommendPersona,
  toDiscoverResponse,
  type DiscoveryResult,
} from "../../provider/discovery";
import { evaluateGeneral, formatGeneralScore } from "../../bench/discovery/evaluate-general";
import { parseSs } from "../../provider/discovery/sampler";
import { GENERAL_SHORT } from "../../bench/discovery/traffic/general-mixes";
import { validatePersona } from "../../provider/persona/validate";
import { createLab, destroyLab, host, type LabInventory } from "../lab-fixture";

const SS = [
  'ESTAB 0      0      10.9.1.10:52968 10.9.2.10:5201  users:(("iperf3",pid=14334,fd=5))',
  "\t bbr wscale:10,10 rto:204 rtt:0.102/0.018 mss:1448 pmtu:1500 cwnd:18 bytes_sent:2621477 bytes_retrans:1448 bytes_acked:2620029 segs_out:65 segs_in:28 data_segs_out:63 lastsnd:4",
  "ESTAB 0      0      [::ffff:10.9.1.10]:22 [::ffff:10.9.2.10]:40000",
  "\t cubic rtt:1.5/0.5 bytes_sent:72 bytes_acked:73 bytes_received:108 data_segs_out:2 data_segs_in:3",
].join("\n");

describe("discovery: parsing and rules", () => {
  it("parses ss -tinpH: endpoints, process, byte and segment counters, RTT, path MTU", () => {
    const s = parseSs(SS);
    assert.equal(s.length, 2);
    assert.deepEqual(s[0], {
      localAddress: "10.9.1.10",
      localPort: 52968,
      remoteAddress: "10.9.2.10",
      remotePort: 5201,
      state: "ESTAB",
      process: "iperf3",
      pid: 14334,
      bytesSent: 2621477 - 1448,
      bytesReceived: 0,
      bytesRetrans: 1448,
      dataSegsOut: 63,
      dataSegsIn: 0,
      rttMs: 0.102,
      pmtu: 1500,
    });
    assert.deepEqual(
      [s[1].localAddress, s[1].localPort, s[1].bytesSent, s[1].bytesReceived],
      ["10.9.1.10", 22, 72, 108],
    );
  });

  it("recommends per class from RFC 4594 and the path: BBR when lossy or long, CUBIC when short and clean", () => {
    const clean = recommendPersona("bulk-transfer", { retransRatio: 0.001, rttMs: 2, pmtu: 1400 });
    assert.deepEqual(clean.persona, {
      congestionControl: "cubic",
      qos: { class: "high-throughput-data" },
      mtu: 1400,
    });
    const lossy = recommendPersona("video-streaming", { retransRatio: 0.03, rttMs: 2, pmtu: 1500 });
    assert.deepEqual(lossy.persona, {
      congestionControl: "bbr",
      qos: { class: "multimedia-streaming" },
      mtu: 1500,
    });
    assert.match(lossy.reason, /RFC 4594 §4\.6 .*BBR: the path is lossy \(3\.00% retransmitted/);
    const long = recommendPersona("database-access", { retransRatio: 0, rttMs: 120 });
    assert.deepEqual(long.persona, { congestionControl: "bbr", qos: { class: "low-latency-data" } });
    assert.deepEqual(recommendPersona("interactive", { retransRatio: 0 }).persona.qos, { class: "oam" });
    assert.deepEqual(recommendPersona("web-browsing", { retransRatio: 0 }).persona.qos, {
      class: "low-latency-data",
    });
  });

  it("turns a result into persona args (dominant class or a chosen one) and into the Discover response", () => {
    const window = {
      times: [0, 0.2, 0.4, 0.6],
      listening: new Set<number>(),
      udpListening: new Set<number>(),
      connections: [],
      seconds: 0.6,
      interfaceBytes: 3_000_000,
      flows: [
        {
          key: {
            protocol: "tcp" as const,
            localAddress: "10.0.0.1",
            localPort: 40000,
            remoteAddress: "10.0.0.2",
            remotePort: 9000,
          },
          process: "iperf3",
          preexisting: true,
          first: 0,
          last: 3,
          sent: [0, 1_000_000, 1_000_000, 1_000_000],
          received: [0, 0, 0, 0],
          segsOut: [0, 700, 700, 700],
          segsIn: [0, 0, 0, 0],
          retransBytes: 0,
          rttMs: 0.3,
          pmtu: 1500,
        },
      ],
    };
    const r = analyse(window, { windowMs: 600, sampleEveryMs: 200 });
    assert.equal(r.flows[0].applicationClass, "bulk-transfer");
    assert.equal(r.note, undefined);
    assert.deepEqual(personaArgsFromDiscovery(r), {
      mtuScope: "route",
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "high-throughput-data" },
    });
    assert.throws(
      () => personaArgsFromDiscovery(r, { applicationClass: "interactive" }),
      /no recommendation for class 'interactive'; the discovery recommended: bulk-transfer/,
    );
    const wire = toDiscoverResponse(r);
    assert.equal(wire.flows?.[0].features?.bytes_sent, "3000000");
    assert.equal(wire.flows?.[0].application_class, "bulk-transfer");
    assert.deepEqual(wire.recommendations?.[0].persona, {
      mtu_scope: "route",
      congestion_control: "cubic",
      mtu: 1500,
      qos: { class: "high-throughput-data" },
    });
  });

  it("parses durations and refuses bad ones", () => {
    assert.equal(parseDuration("--window", "30s", "s"), 30_000);
    assert.equal(parseDuration("--window", "2m", "s"), 120_000);
    assert.equal(parseDuration("--interval", "250", "ms"), 250);
    assert.throws(() => parseDuration("--window", "30 sec", "s"), /--window: '30 sec' is not a duration/);
  });
});

describe("discovery in a lab (dsx1)", () => {
  const LAB = "dsx1";
  let inv: LabInventory;
  before(async () => {
    inv = await createLab({ name: LAB, hosts: 3, dns: false });
  });
  after(async () => {
    await destroyLab(LAB);
  });

  it("says so when a host has no traffic, instead of guessing", async () => {
    const h3 = host(inv, "h3");
    const r = await discover({ netns: h3.netns, windowMs: 2000, sampleEveryMs: 100 });
    assert.deepEqual([r.flows, r.recommendations], [[], []]);
    assert.equal(
      r.note,
      `no traffic observed on namespace ${h3.netns} during the 2 s window: no TCP flow carried data, so there is nothing to classify and no persona is recommended`,
    );
    assert.equal(r.note, noTrafficNote(`namespace ${h3.netns}`, 2000));
    assert.throws(() => personaArgsFromDiscovery(r), /recommended no persona \(no traffic observed/);
  });

  it("the CLI samples a lab host and prints the same note; --host alone is refused", async () => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const program = new Command("netpersona").exitOverride();
    registerDiscover(program);
    process.stdout.write = ((chunk: string) => (
      out.push(String(chunk)),
      true
    )) as typeof process.stdout.write;
    try {
      await program.parseAsync(
        ["discover", "--lab", LAB, "--host", "h3", "--window", "2s", "--interval", "100ms", "--json"],
        { from: "user" },
      );
    } finally {
      process.stdout.write = write;
    }
    const r = JSON.parse(out.join("")) as DiscoveryResult;
    assert.equal(r.note, noTrafficNote(`namespace ${host(inv, "h3").netns}`, 2000));
    const refusing = new Command("netpersona").exitOverride();
    registerDiscover(refusing);
    await assert.rejects(
      refusing.parseAsync(["discover", "--host", "h1"], { from: "user" }),
      /discover: --lab NAME and --host hN go together/,
    );
  });

  it("classifies a short concurrent general mix: >= 95% of flows, >= 98% of bytes, every class recall >= 0.9", async () => {
    const run = await evaluateGeneral(inv, GENERAL_SHORT, {
      observe: "h1",
      warmupMs: 4000,
      windowMs: 15_000,
      sampleEveryMs: 200,
    });
    for (const s of [run.withHints, run.withoutHints]) {
      const detail = formatGeneralScore(s);
      assert.ok(s.flowAccuracy >= 0.95, `flows right ${s.flowAccuracy} (hints ${s.hints}):\n${detail}`);
      assert.ok(s.byteAccuracy >= 0.98, `bytes right ${s.byteAccuracy} (hints ${s.hints}):\n${detail}`);
      const seen = s.perClass.filter((p) => p.support > 0);
      assert.deepEqual(seen.map((p) => p.applicationClass).sort(), [
        "bulk-transfer",
        "database-access",
        "interactive",
        "video-streaming",
        "web-browsing",
      ]);
      for (const p of seen)
        assert.ok(p.recall >= 0.9, `${p.applicationClass} recall ${p.recall}:\n${detail}`);
      // Every tool of the mix was seen, and each generator instance is one scored session.
      assert.equal(s.perTool.length, new Set(GENERAL_SHORT.generators.map((g) => g.tool)).size, detail);
      assert.equal(s.sessions.length, GENERAL_SHORT.generators.length, detail);
      assert.ok(s.sessionAccuracy >= 0.9, `sessions right ${s.sessionAccuracy}:\n${detail}`);
      assert.ok(s.ece <= 0.1, `ECE ${s.ece}:\n${detail}`);
      if (s.mistakes.length) assert.ok(s.meanConfidenceWrong < s.meanConfidenceRight, detail);
    }
    // Connection-per-request clients are seen whole by conntrack, not guessed from one ss sample.
    assert.ok(
      run.window.connections.length > 50,
      `conntrack saw ${run.window.connections.length} connections`,
    );
    assert.equal(run.window.conntrackNote, undefined);
    // One persona per class, each scoped to its own flows; the summary says which covers what.
    const recs = run.result.recommendations;
    assert.deepEqual(recs.map((x) => x.applicationClass).sort(), [
      "bulk-transfer",
      "database-access",
      "interactive",
      "video-streaming",
      "web-browsing",
    ]);
    const h2 = host(inv, "h2").address;
    const interactive = recs.find((x) => x.applicationClass === "interactive");
    const bulk = recs.find((x) => x.applicationClass === "bulk-transfer");
    assert.ok(
      interactive?.scope.some((e) => e.address === h2 && e.port === 22),
      interactive?.covers,
    );
    assert.ok(
      bulk?.scope.some((e) => e.address === h2 && e.port === 35201),
      bulk?.covers,
    );
    assert.equal(run.result.summary.coverage.length, 5);
    for (const rec of recs) assert.equal(validatePersona(rec.persona).ok, true);
    // The ssh typist and scp share h2's sshd, from two processes: two sessions, two classes.
    const ssh = run.result.sessions.filter((x) => x.id.endsWith(`tcp ${h2}:22`));
    assert.deepEqual(ssh.map((x) => x.applicationClass).sort(), ["bulk-transfer", "interactive"]);
  });
});
