// The agent's RPCs in process (port 0, mTLS) over a small in-memory HostController: confirmation deadlines,
// typed errors, sessions with their event stream, feedback acks. A unit test of the transport, not the kernel.
import { strict as assert } from "node:assert";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import * as grpc from "@grpc/grpc-js";

import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import { serverCredentials } from "../../provider/agent/rpc/tls";
import type { AgentError } from "../../provider/agent/rpc/errors";
import type { HostController, HostSnapshot } from "../../provider/agent/host/api";
import type { ProbeTarget } from "../../provider/agent/safe-apply/probes";
import { PersonaService } from "../../provider/agent/persona/service";
import { createAgentServer, type AgentServer } from "../../provider/agent/server";
import type { SessionRunner } from "../../provider/agent/session/store";
import { StateStore } from "../../provider/agent/state";
import type { Persona } from "../../provider/persona/schema";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";
import { CommandError } from "../../provider/util/exec";

/** The kernel as one persona in memory; `failNext` makes the next apply fail like a kernel command. */
class FakeHost implements HostController {
  live: Persona = { mtuScope: "route", mtu: 1500 };
  failNext = false;
  async snapshot(): Promise<HostSnapshot> {
    return { live: structuredClone(this.live) };
  }
  async readCurrent() {
    return structuredClone(this.live);
  }
  async plan(p: Persona) {
    return p.mtu === this.live.mtu
      ? []
      : [{ field: "mtu", description: `mtu ${p.mtu}`, command: ["ip", "link"] }];
  }
  async apply(p: Persona) {
    if (this.failNext) {
      this.failNext = false;
      throw new CommandError(["ip", "route", "replace", "x"], 2, "", "Error: Nexthop has invalid gateway.");
    }
    const steps = await this.plan(p);
    this.live = { ...this.live, ...p };
    return { changed: steps.length > 0, steps, live: structuredClone(this.live) };
  }
  async restore(snap: HostSnapshot) {
    this.live = structuredClone(snap.live as Persona);
  }
}

/** Probes as the fake kernel would answer them: the controller is cut off while the MTU is 576. */
function fakeProbes(host: FakeHost, seen: ProbeTarget[][]) {
  return async (targets: ProbeTarget[]) => {
    seen.push(targets);
    return targets.map((t) => {
      const ok = !(t.name === "controller" && host.live.mtu === 576);
      return { ...t, ok, detail: ok ? "ping answered" : `no ping answer from ${t.host}` };
    });
  };
}

/** Three rounds up the weight schedule, then converged. */
const runner: SessionRunner = {
  async run(ctx) {
    for (const weight of [0.25, 0.5, 1]) {
      const fb = ctx.latestFeedback();
      const reason = fb ? `source rtt ${fb.rttMs}` : "gates passed";
      await ctx.emit({
        kind: "advance",
        rule: "",
        changes: [],
        reason,
        weight,
        converged: false,
        state: "SESSION_STATE_RUNNING",
      });
    }
    await ctx.emit({
      kind: "converged",
      rule: "",
      changes: [],
      reason: "stable",
      weight: 1,
      converged: true,
      state: "SESSION_STATE_CONVERGED",
    });
  },
};

describe("agent server (in process, fake host)", () => {
  let dir: string;
  let server: AgentServer;
  let conn: AgentConnection;
  const host = new FakeHost();
  const logs: string[] = [];
  const probed: ProbeTarget[][] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "npt-server-"));
    const ca = await createCa({ commonName: "npt unit" });
    const agentCert = await issueAgentCert(ca, { commonName: "a", ips: ["127.0.0.1"] });
    const client = await issueClientCert(ca, { commonName: "c" });
    const store = await StateStore.open(join(dir, "state"));
    server = await createAgentServer({
      host,
      store,
      version: "t",
      log: (l) => logs.push(l),
      sessionRunner: runner,
      // The fake host has no kernel for a watchdog process to restore: the agent's own timer rolls back.
      safeApply: { env: { startWatchdog: () => 0, runProbes: fakeProbes(host, probed) } },
    });
    const port = await server.listen("127.0.0.1:0", serverCredentials({ caPem: ca.certPem, ...agentCert }));
    conn = connectAgent({ endpoint: `127.0.0.1:${port}`, caPem: ca.certPem, ...client });
  });

  after(async () => {
    conn?.close();
    await server?.close(100);
    await rm(dir, { recursive: true, force: true });
  });

  it("rolls an unconfirmed apply back at its deadline and refuses a second apply meanwhile", async () => {
    const r = await conn.applyPersona({ mtu: 1400 }, 1);
    assert.deepEqual([r.changed, r.live!.mtu, r.steps.map((s) => s.field)], [true, 1400, ["mtu"]]);
    await assert.rejects(conn.applyPersona({ mtu: 1300 }), (e: AgentError) => {
      assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(
        e.message,
        `apply ${r.apply_id} awaits confirmation: call ConfirmApply or RollbackApply with that id first`,
      );
      return true;
    });
    while ((await conn.getPersona()).pending) await sleep(100);
    assert.equal(host.live.mtu, 1500);
    assert.equal((await conn.getPersona()).committed, null);
    assert.ok(logs.includes(`apply ${r.apply_id} rolled back: not confirmed in time`));
  });

  it("rolls back at once when a probe that passed before fails after the change, naming the probe", async () => {
    probed.length = 0;
    const err = await conn.applyPersona({ mtu: 576 }, 60).then(
      () => assert.fail("applied"),
      (e: AgentError) => e,
    );
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.match(
      err.message,
      /^apply [a-z0-9-]+ rolled back: probe 'controller' passed before the change and fails after it: no ping answer from 127\.0\.0\.1$/,
    );
    // The controller probed is the caller (the gRPC peer), before and after the change.
    assert.deepEqual(probed, [
      [{ name: "controller", kind: "ping", host: "127.0.0.1" }],
      [{ name: "controller", kind: "ping", host: "127.0.0.1" }],
    ]);
    assert.equal(host.live.mtu, 1500);
    assert.deepEqual(
      [(await conn.getPersona()).pending, (await conn.getInfo()).pending_apply_id],
      [null, ""],
    );
    assert.deepEqual(
      await readdir(join(dir, "state", "applies")),
      [],
      "the journal holds nothing once folded",
    );
  });

  it("confirms an apply, answers a repeated confirm the same, and refuses to roll it back", async () => {
    const r = await conn.applyPersona({ mtu: 1450 }, 60);
    assert.equal((await conn.getInfo()).pending_apply_id, r.apply_id);
    assert.equal((await conn.getPersona()).pending!.apply_id, r.apply_id);
    for (let i = 0; i < 2; i++) assert.equal((await conn.confirmApply(r.apply_id)).committed!.mtu, 1450);
    await assert.rejects(
      conn.rollbackApply(r.apply_id),
      (e: AgentError) => e.code === grpc.status.FAILED_PRECONDITION,
    );
    assert.deepEqual([host.live.mtu, (await conn.getPersona()).committed!.mtu], [1450, 1450]);
    assert.ok(logs.includes(`apply ${r.apply_id} confirmed`));
  });

  it("returns INTERNAL with the failing command and its output, and undoes the partial apply", async () => {
    host.failNext = true;
    const err = await conn.applyPersona({ mtu: 1280 }).then(
      () => assert.fail("applied"),
      (e: AgentError) => e,
    );
    assert.equal(err.code, grpc.status.INTERNAL);
    assert.deepEqual(err.details.command, ["ip", "route", "replace", "x"]);
    assert.equal(err.details.output, "Error: Nexthop has invalid gateway.");
    assert.equal(err.details.exitCode, 2);
    assert.equal((await conn.getPersona()).pending, null);
  });

  it("commits at once without a timeout; RollbackApply of an unknown id is FAILED_PRECONDITION", async () => {
    const r = await conn.applyPersona({ mtu: 9000 });
    assert.equal(r.confirm_deadline_unix_ms, "0");
    assert.equal((await conn.getPersona()).committed!.mtu, 9000);
    await assert.rejects(
      conn.rollbackApply(r.apply_id),
      (e: AgentError) => e.code === grpc.status.FAILED_PRECONDITION,
    );
    assert.deepEqual((await conn.planPersona({ mtu: 9000 })).length, 0);
  });

  it("runs a session, replays and follows its events, and acks feedback with the weight", async () => {
    const fb = conn.feedback();
    const s = await conn.startSession({
      session_id: "m1",
      peer_address: "10.0.0.9",
      source_persona: { mtu: 1500 },
    });
    assert.equal(s.id, "m1");
    const kinds: string[] = [];
    for await (const e of conn.watchSession("m1")) kinds.push(`${e.seq}:${e.kind}:${e.weight}:${e.state}`);
    assert.deepEqual(kinds, [
      "1:advance:0.25:SESSION_STATE_RUNNING",
      "2:advance:0.5:SESSION_STATE_RUNNING",
      "3:advance:1:SESSION_STATE_RUNNING",
      "4:converged:1:SESSION_STATE_CONVERGED",
    ]);
    fb.send({ session_id: "m1", seq: 7, rtt_ms: 12.5 });
    fb.end();
    const acks = [];
    for await (const a of fb.acks) acks.push(a);
    assert.deepEqual(
      acks.map((a) => [a.ack_seq, a.weight, a.state, a.converged]),
      [["7", 1, "SESSION_STATE_CONVERGED", true]],
    );
    const got = await conn.getSession("m1");
    assert.deepEqual([got.state, got.converged, got.event_count], ["SESSION_STATE_CONVERGED", true, "4"]);
    await assert.rejects(
      conn.abortSession({ session_id: "m1" }),
      (e: AgentError) => e.code === grpc.status.FAILED_PRECONDITION,
    );
    await assert.rejects(conn.getSession("nope"), (e: AgentError) => e.code === grpc.status.NOT_FOUND);
  });

  it("answers UNIMPLEMENTED for StreamMetrics and Discover when no source is wired in", async () => {
    await assert.rejects(
      conn.discover({ window_seconds: 5 }),
      (e: AgentError) => e.code === grpc.status.UNIMPLEMENTED,
    );
    const stream = conn.streamMetrics({ peers: [{ name: "p", address: "10.0.0.9" }], interval_ms: 100 });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) assert.fail("sample without a source");
      })(),
      (e: AgentError) => e.code === grpc.status.UNIMPLEMENTED,
    );
  });

  // Last: it leaves the first server's service believing an apply is still pending.
  it("an agent started again finds the pending apply in the journal, re-arms it and confirms it", async () => {
    const r = await conn.applyPersona({ mtu: 1380 }, 60);
    server.personas.stop(); // the first agent's timer dies with it
    const store = await StateStore.open(join(dir, "state"));
    const cfg = { env: { startWatchdog: () => 0, runProbes: fakeProbes(host, probed) } };
    const again = new PersonaService(host, store, (l) => logs.push(l), cfg);
    await again.resume();
    assert.deepEqual([again.pendingId(), (await again.get()).pending?.persona.mtu], [r.apply_id, 1380]);
    assert.equal((await again.confirm(r.apply_id)).mtu, 1380);
    again.stop();
    const st = (await StateStore.open(join(dir, "state"))).get();
    assert.deepEqual(
      [st.committed?.mtu, st.lastApply?.id, st.lastApply?.outcome, st.pending],
      [1380, r.apply_id, "confirmed", undefined],
    );
  });
});
