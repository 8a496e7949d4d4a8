// No secret in any log, error or agent state (issue 13, item 4; root, lab "x13s"). A real Pulumi program
// runs a Migration whose transfer command (a secret input) carries a marker in its arguments, prints another
// marker on stderr and fails, over a connection whose password field carries a third. Then every place a
// secret could end up is searched for the markers: the whole console output of `pulumi up` and its error,
// the backend's files (checkpoints, history, backups), Pulumi's home (logs), the lab's files (each agent's
// install and state directories, state.json, the agents' logs, sshd's logs), and what the destination agent
// serves through GetSession and WatchSession. The failure must still say what failed (in redacted form).
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

import { connectAgent } from "../../provider/agent/rpc/client";
import { run } from "../../provider/util/exec";
import { Agent, Migration, StackCa, labAgentArgs, labInventory } from "../../sdk";
import { E2EProject, REPO } from "../e2e";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

const LAB = "x13s";

describe("security: no secret in logs, errors or agent state (lab x13s, real Pulumi)", function () {
  const tag = randomBytes(6).toString("hex");
  const ARG = `ARGSECRET${tag}`; // in the transfer command's arguments
  const OUT = `OUTSECRET${tag}`; // only in the transfer's output (the command spells it in two pieces)
  const PW = `PWSECRET${tag}`; // the transfer connection's password field
  const MARKERS = [ARG, OUT, PW];
  let inv: LabInventory;
  let project: E2EProject;
  let printed = "";

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    project = await E2EProject.create({
      name: "x13-secrets",
      program: async () => {
        const lab = labInventory(LAB);
        const [h1, h2] = lab.hosts;
        const ca = new StackCa("ca");
        const source = new Agent("source", { ...labAgentArgs(lab, h1), ca });
        const destination = new Agent("destination", { ...labAgentArgs(lab, h2), ca });
        new Migration("mig", {
          source,
          destination,
          peer: h1.address,
          persona: { congestionControl: "cubic", mtu: 1500, qos: { class: "standard" } },
          policy: { probeIntervalMs: 300, maxDurationMs: 120_000 },
          transfer: {
            // Fails after a second, printing the second marker (which the command line itself does not
            // contain: "OUT''SECRET" is joined by the shell).
            command: ["sh", "-c", `echo "OUT''SECRET${tag}" >&2; sleep 1; exit 3`, "sh", ARG],
            connection: { ...labAgentArgs(lab, h1).connection, password: PW },
            timeoutSeconds: 60,
          },
        });
        return {
          endpoint: destination.endpoint,
          caCertPem: ca.certPem,
          clientCertPem: ca.clientCertPem,
          clientKeyPem: ca.clientKeyPem,
        };
      },
    });
  });

  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("fails the migration with a redacted message, printing no marker", async () => {
    let error = "";
    await project
      .up((text) => void (printed += text))
      .then(
        () => assert.fail("the migration should fail"),
        (err: Error) => void (error = err.message),
      );
    const all = `${printed}\n${error}`;
    const h1 = inv.hosts[0].address.replace(/\./g, "\\.");
    // What the user sees: the program's name, its size, the exit status; never its arguments or output.
    assert.match(
      all,
      new RegExp(
        `Migration mig: transfer: running \`sh\` with 4 arguments \\(secret: command line and output not shown\\)`,
      ),
    );
    assert.match(
      all,
      new RegExp(
        `on root@${h1}:22: \`sh\` with 4 arguments \\(secret: command line and output not shown\\) failed \\(exit 3\\)`,
      ),
    );
    // Where to look instead, and the failure said once, as an error: never as an unhandled rejection's stack.
    assert.match(
      all,
      /; the transfer runs on the source host as transfer\.connection's user: run the command there/,
    );
    assert.doesNotMatch(all, /PromiseRejectionHandledWarning|at runTransfer|Unhandled/);
    for (const m of MARKERS) assert.ok(!all.includes(m), `${m} printed:\n${all}`);
  });

  it("the destination agent's session (GetSession, WatchSession) carries the redacted reason only", async () => {
    const out = await project.outputs();
    const conn = connectAgent({
      endpoint: String(out.endpoint),
      caPem: String(out.caCertPem),
      certPem: String(out.clientCertPem),
      keyPem: String(out.clientKeyPem),
    });
    try {
      const id = /session (mig-[0-9a-f]{12}) on/.exec(printed)?.[1];
      assert.ok(id, `no session id in:\n${printed}`);
      const s = await conn.getSession(id);
      assert.equal(s.state, "SESSION_STATE_ABORTED");
      assert.match(
        s.reason,
        /^transfer failed: on root@[\d.]+:22: `sh` with 4 arguments \(secret: command line and output not shown\) failed \(exit 3\)/,
      );
      const events: string[] = [];
      for await (const e of conn.watchSession(id, 1)) events.push(JSON.stringify(e));
      const text = `${JSON.stringify(s)}\n${events.join("\n")}`;
      assert.ok(events.length > 0);
      for (const m of MARKERS) assert.ok(!text.includes(m), `${m} served by the agent`);
    } finally {
      conn.close();
    }
  });

  it("no file of the lab (agents' state.json, logs, sshd logs), the backend or Pulumi's home holds a marker", async () => {
    const places = [inv.stateDir, project.dir, join(REPO, ".e2e", "pulumi-home")];
    for (const m of MARKERS) {
      const r = await run(
        [
          "grep",
          "-rl",
          "--binary-files=text",
          "--exclude-dir=plugins",
          "--exclude-dir=node_modules",
          m,
          ...places,
        ],
        { check: false },
      );
      assert.equal(r.stdout, "", `${m} found in:\n${r.stdout}`);
      assert.equal(r.code, 1, r.stderr); // 1: searched everything, found nothing
    }
    // The places searched hold what they should: the agents' state and logs.
    const files = (await run(["find", inv.stateDir, "-name", "state.json", "-o", "-name", "agent.log"]))
      .stdout;
    assert.match(files, /agents\/h2\/state\/state\.json/);
    assert.match(files, /agents\/h2\/opt\/agent\.log/);
  });
});
