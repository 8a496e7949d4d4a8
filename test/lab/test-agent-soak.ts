// The agent over time: a short soak (bench/soak.ts: two real agents probing each other at 10 Hz, migration
// sessions watched to the end) must leave no MaxListenersExceededWarning in either agent's log and bring the
// abort listeners and session watchers back to their baseline; the session history kept in the state is
// bounded (the state is rewritten on every event). No timing is asserted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { slope, soak, SOAK_POLICY, type SoakResult } from "../../bench/soak";
import {
  EVENTS_KEPT,
  FINAL_DETAILED,
  FINAL_EVENTS_KEPT,
  FINAL_UNDONE_KEPT,
  OLD_EVENTS_KEPT,
  SessionStore,
  type SessionRecord,
} from "../../provider/agent/session/store";
import { StateStore } from "../../provider/agent/state";
import { personaSchema } from "../../provider/persona/schema";
import { createLab, destroyLab } from "../lab-fixture";

const LAB = "x14-soak";

describe("agent soak: no listener leak, bounded session history", function () {
  describe("two agents, 10 Hz probing, two sessions (lab)", function () {
    let r: SoakResult;

    before(async function () {
      const inv = await createLab({ name: LAB, hosts: 2, dns: false });
      // Each session has more than 11 events, so a listener added per event would cross Node's limit of 10.
      const policy = {
        ...SOAK_POLICY,
        probeIntervalMs: 300,
        detectionWindowMs: 1200,
        schedule: { steps: [0.25, 0.5, 0.75, 1], stepDwellMs: 2000 },
        convergence: { quietIntervals: 2 },
        dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 1200 },
      };
      r = await soak(inv, {
        durationS: 50,
        sessionEveryS: 22,
        sampleEveryS: 1,
        baselineS: 5,
        warmupS: 5,
        policy,
        log: () => undefined,
      });
    });
    after(async function () {
      await destroyLab(LAB);
    });

    it("ran the sessions to convergence, each with more than 11 events and its feedback kept", function () {
      assert.ok(r.sessions.length >= 2, `${r.sessions.length} sessions`);
      for (const s of r.sessions) {
        assert.equal(s.state, "SESSION_STATE_CONVERGED", s.id);
        assert.ok(s.events > 11, `${s.id}: ${s.events} events`);
        assert.equal(s.feedbackLost, 0, `${s.id}: feedback granted on the source, so never lost`);
      }
      assert.ok(
        r.metricsSamples.source > 10 && r.metricsSamples.destination > 10,
        JSON.stringify(r.metricsSamples),
      );
    });

    it("leaves no MaxListenersExceededWarning in either agent's log", function () {
      assert.deepEqual(r.maxListenerWarnings, { source: 0, destination: 0 });
    });

    it("brings abort listeners and watchers back to the baseline once the sessions are over", function () {
      for (const role of ["source", "destination"] as const) {
        const s = r.samples.filter((x) => x.role === role);
        const firstSession = s.findIndex((x) => x.inSession);
        assert.ok(firstSession > 0, `${role}: no idle sample before the first session`);
        // Idle, each agent serves one StreamMetrics call: 1 listener while it waits, 0 while it probes.
        const base = Math.max(...s.slice(0, firstSession).map((x) => x.abortListeners));
        assert.ok(base <= 1, `${role}: baseline ${base}`);
        // Back to baseline: only the soak's own StreamMetrics call is open, with at most its one listener.
        const last = s[s.length - 1];
        assert.ok(
          last.openSignals <= 1 && last.abortListeners <= last.openSignals,
          `${role}: ${last.abortListeners} listeners on ${last.openSignals} signals at the end, baseline ${base}`,
        );
        assert.equal(last.watchers, 0, role);
        assert.equal(last.sessionsRunning, 0, role);
        // Bounded during the sessions too: a few signals, each with one listener at a time.
        assert.ok(Math.max(...s.map((x) => x.abortListeners)) <= 8, role);
      }
    });
  });

  describe("session history kept in the state (in process)", function () {
    let dir: string;
    before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "x14-sessions-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    const persona = personaSchema.parse({
      congestionControl: "cubic",
      mtu: 1500,
      qos: { class: "standard" },
    });
    const record = (id: string): SessionRecord => ({
      id,
      state: "SESSION_STATE_RUNNING",
      weight: 0,
      converged: false,
      policy: {} as SessionRecord["policy"],
      sourcePersona: persona,
      shadowPersona: persona,
      sourceAgent: "",
      peerAddress: "10.0.0.1",
      startedUnixMs: Date.now(),
      updatedUnixMs: Date.now(),
      reason: "",
      events: [],
    });
    const ev = (state: SessionRecord["state"] = "SESSION_STATE_RUNNING") => ({
      kind: "probe",
      rule: "",
      changes: [],
      reason: "",
      weight: 0.5,
      converged: false,
      state,
    });

    it("keeps the latest EVENTS_KEPT events while running, FINAL_EVENTS_KEPT once final; seq keeps counting", async function () {
      const sessions = new SessionStore(await StateStore.open(path.join(dir, "a")));
      await sessions.create(record("long"));
      for (let i = 0; i < EVENTS_KEPT + 20; i++) await sessions.record("long", ev());
      let s = sessions.get("long");
      assert.equal(s.events.length, EVENTS_KEPT);
      assert.equal(s.events[0].seq, 21);
      assert.equal(s.eventCount, EVENTS_KEPT + 20);
      await sessions.record("long", ev("SESSION_STATE_CONVERGED"));
      s = sessions.get("long");
      assert.equal(s.events.length, FINAL_EVENTS_KEPT);
      assert.equal(s.events[FINAL_EVENTS_KEPT - 1].seq, EVENTS_KEPT + 21);
    });

    it("drops the oldest rolled-back/aborted/failed sessions beyond FINAL_UNDONE_KEPT, never a converged one", async function () {
      const sessions = new SessionStore(await StateStore.open(path.join(dir, "b")));
      const forgotten: string[] = [];
      sessions.forget = async (id) => void forgotten.push(id);
      await sessions.create(record("kept-converged"));
      await sessions.record("kept-converged", ev("SESSION_STATE_CONVERGED"));
      for (let i = 0; i < FINAL_UNDONE_KEPT + 3; i++) {
        await sessions.create(record(`r${i}`));
        await sessions.record(`r${i}`, ev("SESSION_STATE_ROLLED_BACK"));
      }
      assert.deepEqual(forgotten, ["r0", "r1", "r2"]);
      assert.equal(sessions.kept().sessions, FINAL_UNDONE_KEPT + 1);
      assert.equal(sessions.get("kept-converged").state, "SESSION_STATE_CONVERGED");
    });

    it("keeps only the last OLD_EVENTS_KEPT events of final sessions older than the latest FINAL_DETAILED", async function () {
      const sessions = new SessionStore(await StateStore.open(path.join(dir, "c")));
      for (let i = 0; i <= FINAL_DETAILED; i++) {
        await sessions.create(record(`c${i}`));
        for (let k = 0; k < 20; k++) await sessions.record(`c${i}`, ev());
        await sessions.record(`c${i}`, ev("SESSION_STATE_CONVERGED"));
      }
      assert.equal(sessions.get("c0").events.length, OLD_EVENTS_KEPT);
      assert.equal(sessions.get("c0").events[OLD_EVENTS_KEPT - 1].seq, 21);
      assert.equal(sessions.get("c0").eventCount, 21);
      for (let i = 1; i <= FINAL_DETAILED; i++) assert.equal(sessions.get(`c${i}`).events.length, 21);
    });

    it("slope: least squares", function () {
      assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
      assert.ok(Number.isNaN(slope([0, 1], [0, 1])));
    });
  });
});
