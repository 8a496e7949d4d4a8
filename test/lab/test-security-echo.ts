// The echo responder and the path-MTU bounds against real agents (root; lab "sece", issue 13 items 7 and 2):
// real UDP datagrams from the lab hosts and the router. The responder listens on the agent's own address
// (read with `ss -ulnp` in the namespace, also when the agent listens on 0.0.0.0), a stranger gets no
// answer, a session's peer does until the session ends, a peer the agent probes may probe it back, a flood
// from one source is cut to the bucket (burst + rate × time), and path-MTU probes (pings as root) never run
// more than LIMITS.pmtuConcurrent at once however many distinct peers StreamMetrics names.
import { strict as assert } from "node:assert";
import { join } from "node:path";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import { LIMITS } from "../../provider/agent/rpc/limits";
import { routerNetns } from "../../provider/lab";
import { run } from "../../provider/util/exec";
import * as fx from "../fixtures/session-agents";
import { follow, shortPolicy } from "../session-helpers";

const LAB = "sece";
const FLOOD = join(__dirname, "..", "fixtures", "echo-flood.js");

interface Flood {
  sent: number;
  answers: number;
  sendSeconds: number;
}

/** Sends `count` probes from namespace `netns` to address:7047 at `perSecond`, counting the answers. */
async function probeFrom(netns: string, address: string, count: number, perSecond: number): Promise<Flood> {
  const out = await run([
    "ip",
    "netns",
    "exec",
    netns,
    process.execPath,
    FLOOD,
    address,
    "7047",
    String(count),
    String(perSecond),
    "500",
  ]);
  return JSON.parse(out.stdout) as Flood;
}

/** Local addresses of the UDP sockets on port 7047 in the namespace (`ss -ulnp`). */
async function echoListeners(netns: string): Promise<string[]> {
  const out = (await run(["ip", "netns", "exec", netns, "ss", "-ulnpH"])).stdout;
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 4 && /:7047$/.test(f[3]))
    .map((f) => f[3]);
}

/** ping processes running in the namespace now. */
async function pings(netns: string): Promise<number> {
  const pids = (await run(["ip", "netns", "pids", netns])).stdout.split("\n").filter(Boolean);
  const comms = await Promise.all(
    pids.map((p) => run(["cat", `/proc/${p}/comm`], { check: false }).then((r) => r.stdout.trim())),
  );
  return comms.filter((c) => c === "ping").length;
}

describe("echo responder and path-MTU bounds on real agents (lab sece)", function () {
  let lab: fx.SessionLab | undefined;
  let a1: fx.RunningAgent | undefined;
  let a2: fx.RunningAgent | undefined;
  let conn1: AgentConnection | undefined;
  let conn2: AgentConnection | undefined;
  const h = () => ({ h1: lab!.source, h2: lab!.destination, router: routerNetns(LAB) });

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    a1 = await fx.startLabAgent(lab, lab.source);
    a2 = await fx.startLabAgent(lab, lab.destination);
    conn1 = fx.connect(lab, a1);
    conn2 = fx.connect(lab, a2);
  });

  after(async () => {
    conn1?.close();
    conn2?.close();
    await fx.killAgent(a2, "SIGTERM");
    await fx.killAgent(a1, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  it("listens on the agent's own address, not 0.0.0.0", async () => {
    const { h1, h2 } = h();
    assert.deepEqual(await echoListeners(h1.netns), [`${h1.address}:7047`]);
    assert.deepEqual(await echoListeners(h2.netns), [`${h2.address}:7047`]);
    assert.match(
      a2!.output(),
      new RegExp(
        `echo responder on ${h2.address.replace(/\./g, "\\.")}:7047/udp \\(the listen address\\); answers session peers, peers it probes, and nobody else`,
      ),
    );
  });

  it("answers a session's peer until the session ends, and never a stranger", async () => {
    const { h1, h2, router } = h();
    assert.deepEqual(
      await probeFrom(h1.netns, h2.address, 20, 50).then((r) => [r.sent, r.answers]),
      [20, 0],
      "no session yet: h1 is a stranger",
    );
    // A session on h2 whose peer is h1 (no feedback source: the session only has to be running).
    const policy = shortPolicy({ gates: [], schedule: { steps: [{ weight: 0.5, dwellMs: 600_000 }, 1] } });
    const persona = { congestion_control: "bbr", mtu: 1500, qos: { class: "standard" } };
    await conn2!.startSession({
      session_id: "echo",
      source_persona: persona,
      policy,
      source_agent: "",
      peer_address: h1.address,
    });
    await follow(conn2!, "echo", (e) => e.state === "SESSION_STATE_RUNNING");
    assert.deepEqual(
      await probeFrom(h1.netns, h2.address, 20, 50).then((r) => [r.sent, r.answers]),
      [20, 20],
      "the session's peer",
    );
    assert.deepEqual(
      await probeFrom(router, h2.address, 20, 50).then((r) => [r.sent, r.answers]),
      [20, 0],
      "the router is no peer",
    );
    await conn2!.abortSession({ session_id: "echo", reason: "test done", rollback: true });
    assert.deepEqual(
      await probeFrom(h1.netns, h2.address, 20, 50).then((r) => [r.sent, r.answers]),
      [20, 0],
      "the session ended",
    );
  });

  it("answers a peer it probes itself (StreamMetrics), the feedback path's rule", async () => {
    const { h1, h2 } = h();
    assert.equal((await probeFrom(h2.netns, h1.address, 20, 50)).answers, 0);
    const req = {
      peers: [{ name: "h2", address: h2.address }],
      interval_ms: 100,
      probes_per_sample: 5,
      max_samples: 1,
    };
    for await (const s of conn1!.streamMetrics(req, { deadlineMs: 20_000 }))
      assert.equal(s.peers[0].address, h2.address);
    assert.equal(
      (await probeFrom(h2.netns, h1.address, 20, 50)).answers,
      20,
      "h1 probed h2: h2 may probe h1 back",
    );
  });

  it("on a 0.0.0.0 listener binds the default route's source; --echo-allow; a flood is cut to the bucket", async () => {
    const { h1, h2, router } = h();
    conn2!.close();
    await fx.killAgent(a2, "SIGTERM");
    a2 = await fx.startLabAgent(lab!, h2, 0, ["--listen", "0.0.0.0:0", "--echo-allow", `${h1.address}/32`]);
    conn2 = fx.connect(lab!, a2);
    assert.deepEqual(await echoListeners(h2.netns), [`${h2.address}:7047`]);
    assert.match(
      a2.output(),
      /\(the source address of the default route \(listen is 0\.0\.0\.0\)\); answers session peers, peers it probes, and \S+\/32/,
    );
    assert.equal((await probeFrom(router, h2.address, 20, 50)).answers, 0, "still no answer to a stranger");
    // 4000 probes at 2000/s from h1: the burst, then the refill rate over the flood's duration.
    const r = await probeFrom(h1.netns, h2.address, 4000, 2000);
    const expected = LIMITS.echoBurst + LIMITS.echoPerSourcePerSecond * r.sendSeconds;
    console.log(
      `      flood: ${r.sent} sent in ${r.sendSeconds.toFixed(3)} s, ${r.answers} answered (bucket: ${expected.toFixed(0)})`,
    );
    assert.equal(r.sent, 4000);
    assert.ok(
      Math.abs(r.answers - expected) <= 0.05 * expected + 5,
      `${r.answers} answers, ${expected.toFixed(1)} expected`,
    );
    // After a pause the bucket is full again: a polite prober is answered in full.
    await new Promise((resolve) => setTimeout(resolve, LIMITS.echoSourceIdleMs));
    assert.equal((await probeFrom(h1.netns, h2.address, 50, 100)).answers, 50);
  });

  it("runs at most LIMITS.pmtuConcurrent path-MTU probes at once for many distinct peers", async () => {
    const { h2 } = h();
    assert.ok(h2.prefixLength <= 24);
    const net = h2.address.split(".").slice(0, 3).join(".");
    // Addresses on h2's own network that nobody holds: each ping waits out its timeout.
    const peers = (k: number) =>
      Array.from({ length: LIMITS.metricsPeers }, (_, i) => ({
        name: `x${k}-${i}`,
        address: `${net}.${100 + k * LIMITS.metricsPeers + i}`,
      }));
    const streams = [0, 1, 2].map(async (k) => {
      for await (const _ of conn2!.streamMetrics(
        { peers: peers(k), interval_ms: 100, probes_per_sample: 1, max_samples: 4 },
        { deadlineMs: 60_000 },
      ))
        void _;
    });
    let done = false;
    const all = Promise.all(streams).finally(() => (done = true));
    const seen: number[] = [];
    const until = Date.now() + 12_000;
    while (!done && Date.now() < until) seen.push(await pings(h2.netns));
    await all;
    console.log(`      ping processes at once over ${seen.length} reads: max ${Math.max(...seen)}`);
    assert.ok(Math.max(...seen) <= LIMITS.pmtuConcurrent, `up to ${Math.max(...seen)} pings at once`);
    assert.ok(Math.max(...seen) >= 1, "path-MTU probes did run");
  });
});
