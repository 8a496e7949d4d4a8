// examples/migration when things go wrong, through the real engine against a lab: a session that cannot
// converge fails `pulumi up` with its history and leaves the destination as it was; a provider killed in
// the middle of a migration is followed by a `pulumi up` that reaches the same, consistent end.
import * as assert from "node:assert/strict";

import { run } from "../../provider/util/exec";

/** Kills (SIGKILL) the `pulumi` CLI this process started and everything under it (the dynamic-provider
 *  process that follows the migration), as a crash of the machine running `pulumi up` would. */
async function killEngine(): Promise<void> {
  const children = async (pid: number): Promise<number[]> => {
    const r = await run(["ps", "-o", "pid=", "--ppid", String(pid)], { check: false });
    const direct = r.stdout
      .split("\n")
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
    return [...direct, ...(await Promise.all(direct.map(children))).flat()];
  };
  const cli = (await run(["pgrep", "-P", String(process.pid), "-x", "pulumi"], { check: false })).stdout
    .trim()
    .split("\n")
    .map(Number);
  for (const pid of cli.filter((n) => n > 0)) {
    const tree = [pid, ...(await children(pid))];
    await run(["kill", "-KILL", ...tree.map(String)], { check: false });
  }
}
import { E2EProject } from "../e2e";
import { hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

describe("examples/migration: failure and crash", function () {
  const LAB = "migf";
  let inv: LabInventory;
  let destBefore: HostState;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    destBefore = await hostState(inv.hosts[1]);
  });
  after(async () => destroyLab(LAB));

  it("a session that cannot converge rolls the destination back and fails with its history", async () => {
    const project = await E2EProject.create({
      name: "migration-fail",
      example: "migration",
      // Each weight is held 10 s, but the migration may take 2 s: it gives up.
      config: {
        lab: { value: LAB },
        intervalMs: { value: "300" },
        stepDwellMs: { value: "10000" },
        maxDurationMs: { value: "2000" },
      },
    });
    try {
      await assert.rejects(project.up(), (err: Error) => {
        assert.match(
          err.message,
          /the migration did not converge \(SESSION_STATE_ROLLED_BACK: give up: \d+ ms elapsed without convergence \(maxDurationMs 2000\)[^\n]*the destination was rolled back\. Last events: w=0\.00 started: [^\n]* \| w=0\.00 rollback \[maxDuration\]/,
        );
        return true;
      });
      assert.deepEqual(await hostState(inv.hosts[1]), destBefore);
    } finally {
      await project.dispose();
    }
  });

  it("after the provider is killed mid-session, `pulumi up` follows the same session to its end", async () => {
    const project = await E2EProject.create({
      name: "migration-crash",
      example: "migration",
      config: { lab: { value: LAB }, intervalMs: { value: "300" }, stepDwellMs: { value: "1500" } },
    });
    try {
      let killed: string | undefined;
      const first = project.up((text) => {
        const m = /Migration app: session (\S+) on .*blending/.exec(text);
        if (!killed && m) {
          killed = m[1];
          void killEngine();
        }
      });
      await assert.rejects(first);
      assert.match(killed ?? "", /^app-[0-9a-f]{12}$/);
      // What a user does after a crash with a local backend: remove the stale lock, then run up again.
      await project.stack.cancel();
      const again = await project.up();
      assert.equal(again.summary.result, "succeeded");
      // The same session as the first attempt's, followed to its end, not a second one.
      const sessions = new Set(
        [...again.stdout.matchAll(/Migration app: session (\S+) on/g)].map((m) => m[1]),
      );
      assert.deepEqual([...sessions], [killed]);
      assert.equal((await project.outputs()).converged, true);
      await project.destroy();
      assert.deepEqual(await hostState(inv.hosts[1]), destBefore);
    } finally {
      await project.dispose();
    }
  });
});
