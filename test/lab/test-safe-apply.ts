// Safe apply against real namespaces: confirm commits; a persona that breaks the path to the controller is
// rolled back at once; kill -9 of the applying process is rolled back by the watchdog at the deadline.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createHostController, type NetpersonaHostController } from "../../provider/agent/host/controller";
import { createTestbed, type Testbed } from "../fixtures/testbed";
import { readResult } from "../../provider/agent/safe-apply/journal";
import { confirm, recoverOnStart, rollback, safeApply } from "../../provider/agent/safe-apply/safe-apply";
import type { Persona } from "../../provider/persona/schema";
import { run, start } from "../../provider/util/exec";

/** Answers every UDP DNS query with an empty NOERROR response. Constant code; the address comes as argv. */
const DNS_RESPONDER = `const s = require("dgram").createSocket("udp4");
s.on("message", (m, r) => { const o = Buffer.from(m); o[2] = 0x81; o[3] = 0x80; s.send(o, r.port, r.address); });
s.bind(53, process.argv[1], () => console.log("ready"));`;

const CLI = join(__dirname, "..", "..", "provider", "agent", "safe-apply", "cli.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, limitMs = 30_000): Promise<T> {
  for (const end = Date.now() + limitMs; Date.now() < end; await sleep(200)) {
    const v = await fn();
    if (v !== undefined) return v;
  }
  throw new Error(`gave up waiting for ${what}`);
}

const alive = (pid: number) =>
  readFile(`/proc/${pid}/stat`, "utf8").then(
    () => true,
    () => false,
  );

describe("safe apply (namespaces npa-s*)", function () {
  let bed: Testbed;
  let ctl: NetpersonaHostController;
  let stateDir: string;
  let dnsServer: ChildProcess;
  let before: unknown;

  async function dump() {
    const text = async (argv: string[]) => (await run(argv, { netns: bed.host })).stdout;
    return {
      routes: await text(["ip", "-d", "route", "show", "table", "main"]),
      routeJson: await text(["ip", "-j", "route"]),
      links: await text(["ip", "-j", "link"]),
      nft: (await text(["nft", "-j", "list", "ruleset"])).replace(/"handle": \d+, /g, ""),
      qdiscs: await text(["tc", "-j", "qdisc", "show"]),
      resolv: await readFile(ctl.resolvConfPath, "utf8"),
    };
  }
  const probes = () => ({
    gateway: "auto",
    controller: { host: bed.controllerAddr },
    dnsName: "probe.example",
    timeoutMs: 1000,
  });
  const pendingFiles = async () => (await readdir(stateDir)).filter((f) => f.startsWith("pending-"));

  beforeEach(async () => {
    bed = await createTestbed("npa-s", 12);
    ctl = createHostController({ netns: bed.host });
    await mkdir(`/etc/netns/${bed.host}`, { recursive: true });
    await writeFile(ctl.resolvConfPath, `nameserver ${bed.controllerAddr}\n`);
    stateDir = await mkdtemp(join(tmpdir(), "npa-state-"));
    dnsServer = start(["node", "-e", DNS_RESPONDER, bed.controllerAddr], {
      netns: bed.gw,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve, reject) => {
      dnsServer.stdout?.once("data", resolve);
      dnsServer.once("exit", () => reject(new Error("the test DNS responder exited")));
    });
    before = await dump();
  });

  afterEach(async () => {
    dnsServer.kill("SIGKILL");
    try {
      await rollback(stateDir); // a failed test leaves nothing pending
    } finally {
      await bed.destroy();
      await rm(`/etc/netns/${bed.host}`, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it("a persona that keeps every probe passing stays pending; confirm commits it and stops the watchdog", async () => {
    const persona: Persona = { mtuScope: "route", congestionControl: "bbr", mtu: 1400 };
    const r = await safeApply({
      controller: ctl,
      persona,
      stateDir,
      confirmTimeoutMs: 60_000,
      probes: probes(),
    });
    assert.equal(r.outcome, "pending", JSON.stringify(r));
    assert.deepEqual(
      r.probesBefore.map((p) => [p.name, p.ok]),
      [
        ["gateway", true],
        ["controller", true],
        ["dns", true],
      ],
    );
    assert.deepEqual(
      r.probesAfter.map((p) => [p.name, p.ok]),
      [
        ["gateway", true],
        ["controller", true],
        ["dns", true],
      ],
    );
    const pid = Number(await readFile(join(stateDir, `watchdog-${r.applyId}.pid`), "utf8"));
    assert.equal(await alive(pid), true);
    const done = await confirm(stateDir, r.applyId);
    assert.deepEqual([done.outcome, done.by], ["confirmed", "agent"]);
    await waitFor("the watchdog to exit", async () => ((await alive(pid)) ? undefined : true));
    assert.deepEqual(await pendingFiles(), []);
    const def = (await run(["ip", "-d", "route", "show", "default"], { netns: bed.host })).stdout.trim();
    assert.equal(
      def,
      `unicast default via ${bed.gateway} dev eth0 proto boot scope global mtu lock 1400 congctl bbr`,
    );
    assert.equal(
      (await safeApply({ controller: ctl, persona, stateDir, confirmTimeoutMs: 60_000 })).outcome,
      "unchanged",
    );
  });

  it("a route hint that black-holes the controller prefix is rolled back at once, with the failing probe", async () => {
    const pingFromController = ["ping", "-n", "-c", "1", "-W", "1", "-I", bed.controllerAddr, bed.hostAddr];
    const persona: Persona = {
      mtuScope: "route",
      routes: { prefixes: [{ prefix: bed.controllerPrefix, via: "10.77.12.66" }] },
    };
    // Applied without safe apply, the hint really cuts the controller off.
    const snap = await ctl.snapshot();
    await ctl.apply(persona);
    assert.notEqual((await run(pingFromController, { netns: bed.gw, check: false })).code, 0);
    await ctl.restore(snap);

    const r = await safeApply({
      controller: ctl,
      persona,
      stateDir,
      confirmTimeoutMs: 60_000,
      probes: probes(),
    });
    assert.equal(r.outcome, "rolled-back");
    assert.equal(
      r.outcome === "rolled-back" && r.reason,
      `probe 'controller' passed before the change and fails after it: no ping answer from ${bed.controllerAddr}`,
    );
    assert.deepEqual(await dump(), before);
    assert.equal((await run(pingFromController, { netns: bed.gw, check: false })).code, 0);
    const result = await readResult(stateDir, r.applyId);
    assert.deepEqual([result?.outcome, result?.by], ["rolled-back", "agent"]);
    assert.deepEqual(await pendingFiles(), []);
  });

  it("kill -9 of the process that applied: the watchdog restores the snapshot at the deadline", async () => {
    const persona = {
      congestionControl: "bbr",
      qos: { class: "telephony" },
      dns: { servers: ["10.99.12.9"] },
    };
    const child = spawn(
      process.execPath,
      [
        CLI,
        "apply",
        "--netns",
        bed.host,
        "--state-dir",
        stateDir,
        "--timeout-ms",
        "4000",
        "--persona",
        JSON.stringify(persona),
        "--hold",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const line = await new Promise<string>((resolve) =>
      child.stdout.once("data", (d: Buffer) => resolve(d.toString())),
    );
    const r = JSON.parse(line) as { applyId: string; outcome: string };
    assert.equal(r.outcome, "pending");
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.notDeepEqual(await dump(), before, "the persona is in place while the apply is pending");
    const result = await waitFor("the watchdog's rollback", () => readResult(stateDir, r.applyId));
    assert.deepEqual([result.outcome, result.by], ["rolled-back", "watchdog"]);
    assert.deepEqual(await dump(), before);
    assert.deepEqual(await pendingFiles(), []);
  });

  it("recoverOnStart restarts a dead watchdog; rollback restores at once", async () => {
    const persona: Persona = { mtuScope: "link", mtu: 1300 };
    const r = await safeApply({
      controller: ctl,
      persona,
      stateDir,
      confirmTimeoutMs: 60_000,
      probes: probes(),
    });
    assert.equal(r.outcome, "pending");
    const pidFile = join(stateDir, `watchdog-${r.applyId}.pid`);
    const pid = Number(await readFile(pidFile, "utf8"));
    process.kill(pid, "SIGKILL");
    await waitFor("the watchdog to die", async () => ((await alive(pid)) ? undefined : true));
    const rec = await recoverOnStart(stateDir);
    assert.deepEqual(rec, { pending: [r.applyId], finished: [] });
    const pid2 = Number(await readFile(pidFile, "utf8"));
    assert.notEqual(pid2, pid);
    assert.equal(await alive(pid2), true);
    const [res] = await rollback(stateDir);
    assert.deepEqual([res.applyId, res.outcome, res.by], [r.applyId, "rolled-back", "agent"]);
    assert.deepEqual(await dump(), before);
    await waitFor("the new watchdog to exit", async () => ((await alive(pid2)) ? undefined : true));
  });
});
