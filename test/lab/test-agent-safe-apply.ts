// Safe apply through the agent's RPCs, with the shipped bundle in a namespace behind a gateway namespace:
// a kill -9 of the agent while an apply awaits confirmation is rolled back by the watchdog at the deadline;
// a persona that cuts the controller (the RPC's caller) off is rolled back at once with the probe named;
// confirm timeout 0 commits at once; RestoreSnapshot returns the host to what it was before the first persona.
import { strict as assert } from "node:assert";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";

import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import type { ResultRecord } from "../../provider/agent/safe-apply/journal";
import type { Persona } from "../../provider/proto/gen/netpersona/agent/v1/Persona";
import { run } from "../../provider/util/exec";
import { killHard, startAgent, type AgentProcess } from "../fixtures/agent-process";
import {
  createGatewayLab,
  destroyGatewayLab,
  liveWatchdogs,
  type GatewayLab,
} from "../fixtures/agent-gateway";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("agent safe apply through the RPCs (bundle in namespace npi-*, gateway namespace)", function () {
  let lab: GatewayLab | undefined;
  let agent: AgentProcess | undefined;
  let conn: AgentConnection | undefined;
  /** The host as it was before any persona. */
  let original: Awaited<ReturnType<typeof host>>;

  const connect = () =>
    connectAgent({ endpoint: agent!.endpoint, caPem: lab!.ca.certPem, ...lab!.client, deadlineMs: 60_000 });
  const text = async (argv: string[]) => (await run(argv, { netns: lab!.ns })).stdout;
  const host = async () => ({
    routes: await text(["ip", "-d", "route", "show", "table", "all"]),
    links: await text(["ip", "-d", "link", "show"]),
    nft: await text(["nft", "list", "ruleset"]),
    qdiscs: await text(["tc", "qdisc", "show"]),
    resolv: await readFile(lab!.resolvConf, "utf8"),
  });
  const journal = async () => (await readdir(lab!.journal).catch(() => [] as string[])).sort();
  /** Every field of a persona, keeping the gateway and its DNS reachable. */
  const full = (mtu: number, cc: string): Persona => ({
    congestion_control: cc,
    mtu,
    qos: { class: "telephony" },
    dns: { servers: [lab!.gateway], search: ["after.example"], options: [] },
    routes: { prefixes: [{ prefix: "198.51.100.0/24", via: lab!.gateway }] },
  });
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    const out = await fn();
    console.log(`      measured: ${what}: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    return out;
  };

  before(async () => {
    lab = await createGatewayLab();
    original = await host();
    agent = await startAgent(lab);
    conn = connect();
  });

  after(async () => {
    conn?.close();
    await killHard(agent);
    await destroyGatewayLab(lab);
  });

  it("kill -9 of the agent during a pending apply: the watchdog restores the routes at the deadline", async () => {
    const r = await timed("ApplyPersona (safe apply, 5 fields, confirm timeout 4 s)", () =>
      conn!.applyPersona(full(1400, "bbr"), 4),
    );
    assert.equal(r.changed, true);
    const deadline = Number(r.confirm_deadline_unix_ms);
    assert.ok(deadline > Date.now(), "a pending apply has a deadline in the future");
    const now = await host();
    assert.match(
      now.routes,
      new RegExp(
        `^unicast default via ${lab!.gateway.replace(/\./g, "\\.")} .*mtu lock 1400 congctl bbr`,
        "m",
      ),
    );
    assert.match(now.routes, /^unicast 198\.51\.100\.0\/24 via .* proto 78 /m);
    assert.equal((await conn!.getPersona()).pending!.apply_id, r.apply_id);
    assert.deepEqual(await journal(), [
      `pending-${r.apply_id}.json`,
      `snapshot-${r.apply_id}.json`,
      `watchdog-${r.apply_id}.pid`,
    ]);
    const [watchdog] = await liveWatchdogs(lab!);
    assert.ok(watchdog > 0, "the apply has a live watchdog");

    conn!.close();
    await killHard(agent);
    const resultFile = join(lab!.journal, `result-${r.apply_id}.json`);
    let result: ResultRecord | undefined;
    while (!result) {
      await sleep(200);
      result = JSON.parse(await readFile(resultFile, "utf8").catch(() => "null")) as ResultRecord | undefined;
      assert.ok(Date.now() < deadline + 30_000, "the watchdog did not roll back within 30 s of the deadline");
    }
    assert.ok(result.atUnixMs >= deadline);
    assert.deepEqual(
      [result.outcome, result.by, result.reason],
      ["rolled-back", "watchdog", "no confirm before the deadline"],
    );
    assert.deepEqual(await host(), original, "routes (ip -d route) and resolv.conf are back exactly");
    assert.deepEqual(await liveWatchdogs(lab!), []);

    agent = await startAgent(lab!);
    conn = connect();
    const p = await conn.getPersona();
    assert.deepEqual([p.pending, p.committed, p.has_snapshot], [null, null, true]);
    assert.equal((await conn.getInfo()).pending_apply_id, "");
    assert.deepEqual(await journal(), [], "the restarted agent folded the watchdog's result into state.json");
    const state = JSON.parse(await readFile(join(lab!.stateDir, "state.json"), "utf8")) as {
      lastApply: unknown;
    };
    assert.deepEqual(state.lastApply, {
      id: r.apply_id,
      outcome: "rolled-back",
      by: "watchdog",
      reason: "no confirm before the deadline",
      atUnixMs: result.atUnixMs,
    });
    await assert.rejects(conn.confirmApply(r.apply_id), (e: AgentError) => {
      assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(
        e.message,
        `apply '${r.apply_id}' no longer awaits confirmation: it was rolled back (no confirm before the deadline, by the watchdog)`,
      );
      return true;
    });
  });

  it("a route hint that black-holes the caller's address fails with the controller probe named, host unchanged", async () => {
    const before = await host();
    // 10.252.O.0/31 holds the caller (.1): its packets go to the gateway, which does not forward them.
    const callerNet = `${lab!.hostAddress.replace(/\.1$/, ".0")}/31`;
    const persona: Persona = { routes: { prefixes: [{ prefix: callerNet, via: lab!.gateway }] } };
    const err = await conn!.applyPersona(persona, 60).then(
      () => assert.fail("applied"),
      (e: AgentError) => e,
    );
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION, err.message);
    const probe = `probe 'controller' passed before the change and fails after it: no ping answer from ${lab!.hostAddress}`;
    assert.match(err.message, new RegExp(`^apply [a-z0-9-]+ rolled back: ${probe.replace(/\./g, "\\.")}$`));
    assert.deepEqual(await host(), before);
    const info = await conn!.getInfo();
    assert.deepEqual([info.status, info.pending_apply_id], ["SERVING", ""]);
    assert.deepEqual(await journal(), []);
    assert.deepEqual(await liveWatchdogs(lab!), []);
  });

  it("commits at once with timeout 0, keeps the first pre-persona snapshot, and RestoreSnapshot returns the host", async () => {
    const a = await timed("ApplyPersona (safe apply, 5 fields, confirm timeout 0)", () =>
      conn!.applyPersona(full(1400, "bbr"), 0),
    );
    assert.deepEqual([a.changed, a.confirm_deadline_unix_ms], [true, "0"]);
    let p = await conn!.getPersona();
    assert.deepEqual([p.pending, p.committed!.mtu, p.committed!.congestion_control], [null, 1400, "bbr"]);
    assert.deepEqual(await journal(), [], "nothing in flight, no watchdog left");
    assert.deepEqual(await liveWatchdogs(lab!), []);
    const b = await timed("ApplyPersona (safe apply, second persona, timeout 0)", () =>
      conn!.applyPersona(full(1300, "reno"), 0),
    );
    assert.equal(b.changed, true);
    p = await conn!.getPersona();
    assert.deepEqual(
      [p.committed!.mtu, p.committed!.congestion_control, p.has_snapshot],
      [1300, "reno", true],
    );
    const again = await conn!.applyPersona(full(1300, "reno"), 30);
    assert.deepEqual([again.changed, again.confirm_deadline_unix_ms, again.steps.length], [false, "0", 0]);

    const restored = await timed("RestoreSnapshot (through safe apply)", () => conn!.restoreSnapshot());
    assert.equal(restored.restored, true);
    assert.deepEqual(await host(), original, "the host as before the FIRST persona");
    p = await conn!.getPersona();
    assert.deepEqual([p.committed, p.has_snapshot, p.pending], [null, false, null]);
    assert.equal((await conn!.restoreSnapshot()).restored, false);
    assert.deepEqual(await journal(), []);
    assert.match(agent!.output(), / ApplyPersona peer=10\.252\.\d+\.1:\d+ client="npi provider" OK \d+ms\n/);
    // The agent's own breakdown of each safe apply (probes, snapshot, apply + verify, probes after).
    for (const l of agent!
      .output()
      .split("\n")
      .filter((x) => / (pending|unchanged): probes before /.test(x))) {
      console.log(`      agent: ${l.replace(/^\S+ /, "")}`);
    }
  });
});
