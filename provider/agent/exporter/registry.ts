// The agent's measurements as Prometheus metrics (prom-client renders the exposition format). Gauges are
// read at scrape time from what the agent already keeps: its sessions (state.json), the latest measurement
// of each peer (PeerBook), the interfaces' counters in /sys/class/net. Counters of decisions, finished
// sessions and applies count what happened since the agent started (Prometheus' rate()/increase() handle
// the reset at a restart); every label value they can take is exported at 0 from the start, so increase()
// sees the first event too. Names and labels: docs/monitoring.md.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

import type { SessionStateName } from "../../proto/session-policy";
import type { SessionEventRecord, SessionRecord } from "../session/records";
import type { AgentState } from "../state";
import type { PeerBook } from "./peers";

/** A final session stays in the scrape this long after it ended (then only the counters remember it). */
export const FINAL_SESSION_SHOWN_MS = 60 * 60_000;

export const SESSION_STATES: Record<SessionStateName, string> = {
  SESSION_STATE_PENDING: "pending",
  SESSION_STATE_RUNNING: "running",
  SESSION_STATE_PAUSED: "paused",
  SESSION_STATE_CONVERGED: "converged",
  SESSION_STATE_ROLLED_BACK: "rolled_back",
  SESSION_STATE_ABORTED: "aborted",
  SESSION_STATE_FAILED: "failed",
};
const FINAL_STATES = ["converged", "rolled_back", "aborted", "failed"];
const EVENT_KINDS = [
  "probe",
  "adjust",
  "deferred",
  "advance",
  "pause",
  "rollback",
  "converged",
  "failed",
  "aborted",
  "restored",
  "feedback-lost",
  "feedback-restored",
];

export interface InterfaceReading {
  name: string;
  mtu: number;
  up: boolean;
  counters: Record<
    "rx_bytes" | "tx_bytes" | "rx_packets" | "tx_packets" | "rx_dropped" | "tx_dropped",
    number
  >;
}

export interface ExporterSources {
  version: string;
  hostname: string;
  /** The committed state, read at every scrape. */
  state(): Readonly<AgentState>;
  /** Subscribes to every recorded session event (SessionStore.observe). */
  observeEvents(onEvent: (e: SessionEventRecord) => void): () => void;
  /** Subscribes to state changes (StateStore.watch): a new lastApply is counted. */
  watchState(onChange: (s: Readonly<AgentState>) => void): () => void;
  peers: PeerBook;
  interfaces(): Promise<InterfaceReading[]>;
  now?: () => number;
}

export interface AgentRegistry {
  registry: Registry;
  /** Stops following events and state changes. */
  close(): void;
}

function shownSessions(state: Readonly<AgentState>, now: number): SessionRecord[] {
  return Object.values(state.sessions).filter(
    (s) => !FINAL_STATES.includes(SESSION_STATES[s.state]) || now - s.updatedUnixMs < FINAL_SESSION_SHOWN_MS,
  );
}

export function createAgentRegistry(src: ExporterSources): AgentRegistry {
  const registry = new Registry();
  const registers = [registry];
  const now = src.now ?? Date.now;
  collectDefaultMetrics({ register: registry, prefix: "netpersona_agent_" });

  new Gauge({
    name: "netpersona_agent_info",
    help: "Always 1; the agent's version and host name as labels.",
    labelNames: ["version", "hostname"],
    registers,
  }).set({ version: src.version, hostname: src.hostname }, 1);

  // Sessions (this agent is the destination of a migration).
  const sessionLabels = ["session", "peer"] as const;
  const sessionGauge = (name: string, help: string, pick: (s: SessionRecord) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: sessionLabels,
      registers,
      collect() {
        this.reset();
        for (const s of shownSessions(src.state(), now())) {
          const v = pick(s);
          if (v !== undefined) this.set({ session: s.id, peer: s.peerAddress }, v);
        }
      },
    });
  sessionGauge(
    "netpersona_session_weight",
    "Share of the destination persona in the blend, 0..1 (1: fully migrated).",
    (s) => s.weight,
  );
  sessionGauge("netpersona_session_converged", "1 once the session converged.", (s) => (s.converged ? 1 : 0));
  sessionGauge(
    "netpersona_session_events",
    "Events (decisions and state changes) the session recorded in all.",
    (s) => s.eventCount ?? s.events.length,
  );
  sessionGauge(
    "netpersona_session_started_timestamp_seconds",
    "When the session started (Unix time).",
    (s) => s.startedUnixMs / 1000,
  );
  new Gauge({
    name: "netpersona_session_state",
    help: "1 for the session's current state, 0 for the others.",
    labelNames: [...sessionLabels, "state"],
    registers,
    collect() {
      this.reset();
      for (const s of shownSessions(src.state(), now())) {
        for (const [wire, state] of Object.entries(SESSION_STATES)) {
          this.set({ session: s.id, peer: s.peerAddress, state }, s.state === wire ? 1 : 0);
        }
      }
    },
  });

  // Peers: the latest measurement of each (StreamMetrics samples, session decision windows).
  const peerLabels = ["peer", "source"] as const;
  new Gauge({
    name: "netpersona_peer_rtt_seconds",
    help: "Round-trip time to the peer over the last measurement window, by quantile.",
    labelNames: [...peerLabels, "quantile"],
    registers,
    collect() {
      this.reset();
      for (const p of src.peers.current()) {
        const l = { peer: p.address, source: p.source };
        this.set({ ...l, quantile: "0.5" }, p.rttP50Ms / 1000);
        this.set({ ...l, quantile: "0.9" }, p.rttP90Ms / 1000);
        if (p.rttP99Ms !== undefined) this.set({ ...l, quantile: "0.99" }, p.rttP99Ms / 1000);
      }
    },
  });
  const simplePeer = (name: string, help: string, pick: (p: ReturnType<PeerBook["current"]>[0]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: peerLabels,
      registers,
      collect() {
        this.reset();
        for (const p of src.peers.current()) this.set({ peer: p.address, source: p.source }, pick(p));
      },
    });
  simplePeer("netpersona_peer_loss_ratio", "Lost probes / sent probes, 0..1.", (p) => p.lossRatio);
  simplePeer(
    "netpersona_peer_jitter_seconds",
    "Mean absolute difference of consecutive RTTs.",
    (p) => p.jitterMs / 1000,
  );
  simplePeer(
    "netpersona_peer_path_mtu_bytes",
    "Largest packet that reached the peer unfragmented; 0: not measured yet.",
    (p) => p.pathMtu,
  );
  simplePeer(
    "netpersona_peer_measured_timestamp_seconds",
    "When the peer was last measured (Unix time).",
    (p) => p.atUnixMs / 1000,
  );

  // Interfaces: the kernel's counters (rates are rate() of them), the link MTU and state. One reading of
  // /sys/class/net serves every interface metric of a scrape (the registry collects them concurrently).
  let reading: { at: number; all: Promise<InterfaceReading[]> } | undefined;
  const interfaces = () => {
    if (!reading || now() - reading.at > 1000) {
      reading = { at: now(), all: src.interfaces().catch(() => []) };
    }
    return reading.all;
  };
  const ifCounter = (name: string, help: string, key: keyof InterfaceReading["counters"]) =>
    new Counter({
      name,
      help,
      labelNames: ["interface"],
      registers,
      async collect() {
        const all = await interfaces();
        this.reset();
        // The kernel's own counter: monotonic (a link re-created restarts it, which rate() takes as a reset).
        for (const i of all) this.inc({ interface: i.name }, i.counters[key]);
      },
    });
  ifCounter("netpersona_interface_receive_bytes_total", "Bytes received (kernel counter).", "rx_bytes");
  ifCounter("netpersona_interface_transmit_bytes_total", "Bytes sent (kernel counter).", "tx_bytes");
  ifCounter("netpersona_interface_receive_packets_total", "Packets received.", "rx_packets");
  ifCounter("netpersona_interface_transmit_packets_total", "Packets sent.", "tx_packets");
  ifCounter("netpersona_interface_receive_dropped_total", "Received packets dropped.", "rx_dropped");
  ifCounter("netpersona_interface_transmit_dropped_total", "Packets dropped on sending.", "tx_dropped");
  const ifGauge = (name: string, help: string, pick: (i: InterfaceReading) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["interface"],
      registers,
      async collect() {
        const all = await interfaces();
        this.reset();
        for (const i of all) this.set({ interface: i.name }, pick(i));
      },
    });
  ifGauge("netpersona_interface_mtu_bytes", "Link MTU.", (i) => i.mtu);
  ifGauge("netpersona_interface_up", "1 when the link's operational state is up.", (i) => (i.up ? 1 : 0));

  // What happened since the agent started.
  const decisions = new Counter({
    name: "netpersona_session_decisions_total",
    help: "Session events recorded since the agent started, by kind (adjust, advance, pause, rollback, ...).",
    labelNames: ["kind"],
    registers,
  });
  const finished = new Counter({
    name: "netpersona_sessions_finished_total",
    help: "Sessions that reached a final state since the agent started, by outcome.",
    labelNames: ["outcome"],
    registers,
  });
  const applies = new Counter({
    name: "netpersona_applies_total",
    help: "Safe applies (ApplyPersona, RestoreSnapshot) settled since the agent started, by outcome (confirmed, rolled_back).",
    labelNames: ["outcome"],
    registers,
  });
  for (const kind of EVENT_KINDS) decisions.inc({ kind }, 0);
  for (const outcome of FINAL_STATES) finished.inc({ outcome }, 0);
  for (const outcome of ["confirmed", "rolled_back"]) applies.inc({ outcome }, 0);

  // A session is counted once per final state it enters (a converged session undone later counts again).
  const lastState = new Map<string, string>();
  const stopEvents = src.observeEvents((e) => {
    decisions.inc({ kind: e.kind });
    const state = SESSION_STATES[e.state];
    if (FINAL_STATES.includes(state) && lastState.get(e.sessionId) !== state)
      finished.inc({ outcome: state });
    const sessions = src.state().sessions;
    lastState.set(e.sessionId, state);
    for (const id of lastState.keys()) if (!Object.hasOwn(sessions, id)) lastState.delete(id);
    if (e.metrics && Object.hasOwn(sessions, e.sessionId)) {
      src.peers.noteSession(e.sessionId, sessions[e.sessionId].peerAddress, e.metrics);
    }
  });
  let lastApplyId = src.state().lastApply?.id;
  const stopState = src.watchState((st) => {
    const a = st.lastApply;
    if (!a || a.id === lastApplyId) return;
    lastApplyId = a.id;
    applies.inc({ outcome: a.outcome === "confirmed" ? "confirmed" : "rolled_back" });
  });
  return {
    registry,
    close() {
      stopEvents();
      stopState();
    },
  };
}
