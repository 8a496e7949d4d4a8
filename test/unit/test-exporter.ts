// The metrics exporter's registry over fake sources (no agent, no root): exact exposition lines for sessions,
// peers, interfaces; counters that start at 0 for every label value and count events and applies; the peer
// book's bound and expiry. The HTTPS endpoint and its role check run in test/lab/test-monitoring-prometheus.ts.
import { strict as assert } from "node:assert";

import { createAgentRegistry, PeerBook, PEERS_KEPT, PEER_TTL_MS } from "../../provider/agent/exporter";
import type { SessionEventRecord, SessionRecord } from "../../provider/agent/session/records";
import type { AgentState } from "../../provider/agent/state";

const NOW = 1_800_000_000_000;

function session(id: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    state: "SESSION_STATE_RUNNING",
    weight: 0.5,
    converged: false,
    policy: {} as SessionRecord["policy"],
    sourcePersona: { mtuScope: "route" },
    shadowPersona: { mtuScope: "route" },
    sourceAgent: "10.0.1.10:7443",
    peerAddress: "10.0.1.10",
    startedUnixMs: NOW - 10_000,
    updatedUnixMs: NOW - 1000,
    reason: "",
    events: [],
    eventCount: 7,
    ...over,
  };
}

function fixture(state: AgentState) {
  const eventObservers: ((e: SessionEventRecord) => void)[] = [];
  const stateWatchers: ((s: AgentState) => void)[] = [];
  const peers = new PeerBook(() => NOW);
  const reg = createAgentRegistry({
    version: "1.2.3",
    hostname: "h2",
    state: () => state,
    observeEvents: (cb) => (eventObservers.push(cb), () => undefined),
    watchState: (cb) => (stateWatchers.push(cb), () => undefined),
    peers,
    interfaces: async () => [
      {
        name: "eth0",
        mtu: 1500,
        up: true,
        counters: { rx_bytes: 10, tx_bytes: 20, rx_packets: 1, tx_packets: 2, rx_dropped: 0, tx_dropped: 3 },
      },
    ],
    now: () => NOW,
  });
  const lines = async () =>
    (await reg.registry.metrics())
      .split("\n")
      .filter((l) => l.startsWith("netpersona_") && !l.startsWith("netpersona_agent_"));
  return {
    reg,
    peers,
    lines,
    emit: (e: SessionEventRecord) => eventObservers.forEach((o) => o(e)),
    setState: (s: AgentState) => stateWatchers.forEach((w) => w(s)),
  };
}

const event = (over: Partial<SessionEventRecord>): SessionEventRecord => ({
  sessionId: "m1",
  seq: 1,
  timeUnixMs: NOW,
  kind: "advance",
  rule: "",
  changes: [],
  reason: "",
  weight: 0.5,
  converged: false,
  state: "SESSION_STATE_RUNNING",
  ...over,
});

describe("metrics exporter registry", () => {
  it("shows each session's weight, state (one 1, the others 0) and events; hides final ones after an hour", async () => {
    const f = fixture({
      version: 1,
      sessions: {
        m1: session("m1"),
        old: session("old", { state: "SESSION_STATE_CONVERGED", updatedUnixMs: NOW - 2 * 3_600_000 }),
      },
    });
    const l = await f.lines();
    assert.ok(l.includes('netpersona_session_weight{session="m1",peer="10.0.1.10"} 0.5'), l.join("\n"));
    assert.ok(l.includes('netpersona_session_events{session="m1",peer="10.0.1.10"} 7'));
    assert.deepEqual(
      l.filter((x) => x.startsWith("netpersona_session_state{")),
      ["pending", "running", "paused", "converged", "rolled_back", "aborted", "failed"].map(
        (s) =>
          `netpersona_session_state{session="m1",peer="10.0.1.10",state="${s}"} ${s === "running" ? 1 : 0}`,
      ),
    );
    assert.ok(!l.some((x) => x.includes('session="old"')));
    assert.ok(
      (await f.reg.registry.metrics()).includes('netpersona_agent_info{version="1.2.3",hostname="h2"} 1'),
    );
  });

  it("counts decisions by kind, finished sessions once per final state, applies by outcome; all start at 0", async () => {
    const state: AgentState = { version: 1, sessions: { m1: session("m1") } };
    const f = fixture(state);
    let l = await f.lines();
    assert.ok(l.includes('netpersona_session_decisions_total{kind="rollback"} 0'));
    assert.ok(l.includes('netpersona_sessions_finished_total{outcome="rolled_back"} 0'));
    assert.ok(l.includes('netpersona_applies_total{outcome="rolled_back"} 0'));
    f.emit(
      event({
        kind: "advance",
        metrics: { rttP50Ms: 2, rttP90Ms: 4, lossRatio: 0.1, jitterMs: 1, throughputBps: 0, pathMtu: 1500 },
      }),
    );
    f.emit(event({ kind: "advance" }));
    f.emit(event({ kind: "rollback", state: "SESSION_STATE_ROLLED_BACK" }));
    f.emit(event({ kind: "restored", state: "SESSION_STATE_ROLLED_BACK" }));
    f.setState({
      ...state,
      lastApply: { id: "a1", outcome: "rolled-back", by: "agent", reason: "", atUnixMs: NOW },
    });
    f.setState({
      ...state,
      lastApply: { id: "a1", outcome: "rolled-back", by: "agent", reason: "", atUnixMs: NOW },
    });
    f.setState({
      ...state,
      lastApply: { id: "a2", outcome: "confirmed", by: "agent", reason: "", atUnixMs: NOW },
    });
    l = await f.lines();
    assert.ok(l.includes('netpersona_session_decisions_total{kind="advance"} 2'));
    assert.ok(l.includes('netpersona_session_decisions_total{kind="rollback"} 1'));
    assert.ok(
      l.includes('netpersona_sessions_finished_total{outcome="rolled_back"} 1'),
      "once per final state",
    );
    assert.ok(l.includes('netpersona_applies_total{outcome="rolled_back"} 1'));
    assert.ok(l.includes('netpersona_applies_total{outcome="confirmed"} 1'));
    // The event's window becomes the peer's session measurement.
    assert.ok(
      l.includes('netpersona_peer_rtt_seconds{peer="10.0.1.10",source="session",quantile="0.9"} 0.004'),
    );
    assert.ok(l.includes('netpersona_peer_loss_ratio{peer="10.0.1.10",source="session"} 0.1'));
    assert.ok(l.includes('netpersona_peer_path_mtu_bytes{peer="10.0.1.10",source="session"} 1500'));
  });

  it("interfaces: kernel counters as counters, MTU and up as gauges", async () => {
    const l = await fixture({ version: 1, sessions: {} }).lines();
    for (const line of [
      'netpersona_interface_receive_bytes_total{interface="eth0"} 10',
      'netpersona_interface_transmit_bytes_total{interface="eth0"} 20',
      'netpersona_interface_transmit_dropped_total{interface="eth0"} 3',
      'netpersona_interface_mtu_bytes{interface="eth0"} 1500',
      'netpersona_interface_up{interface="eth0"} 1',
    ])
      assert.ok(l.includes(line), `${line}\n${l.join("\n")}`);
  });

  it("peer book: StreamMetrics samples with p99, at most PEERS_KEPT peers, forgotten after PEER_TTL_MS", () => {
    let now = NOW;
    const b = new PeerBook(() => now);
    b.noteSample({
      peers: [
        {
          name: "x",
          address: "10.0.0.9",
          rtt: { p50_ms: 1, p90_ms: 2, p99_ms: 3 },
          loss_ratio: 0,
          jitter_ms: 0.5,
          path_mtu: 1400,
        },
      ],
    });
    assert.deepEqual(b.current()[0], {
      address: "10.0.0.9",
      name: "x",
      source: "stream",
      rttP50Ms: 1,
      rttP90Ms: 2,
      rttP99Ms: 3,
      lossRatio: 0,
      jitterMs: 0.5,
      pathMtu: 1400,
      atUnixMs: NOW,
    });
    for (let i = 0; i < PEERS_KEPT + 5; i++) b.noteSample({ peers: [{ address: `10.1.0.${i}` }] });
    const kept = b.current();
    assert.equal(kept.length, PEERS_KEPT);
    assert.ok(!kept.some((p) => p.address === "10.0.0.9"), "least recently measured dropped first");
    now += PEER_TTL_MS + 1;
    assert.deepEqual(b.current(), []);
  });
});
