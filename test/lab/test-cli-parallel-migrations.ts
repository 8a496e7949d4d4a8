// Many migrations at once through the `pulumi` CLI: each Migration create holds one of the engine's
// `--parallel` slots until its session converges, and the default is 4 per core (8 here). With
// `--parallel` raised, 10 migrations on 10 destination hosts run their sessions together: every session
// starts before the first one converges.
import * as assert from "node:assert/strict";

import { CliProject, scratchProject } from "../cli-project";
import { createLab, destroyLab } from "../lab-fixture";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Agent, Migration, StackCa, labAgentArgs, labInventory } from "pulumi-netpersona";

const config = new pulumi.Config();
const inv = labInventory(config.require("lab"));
const ca = new StackCa("ca");
const agents = inv.hosts.map((h) => new Agent(h.name, { ...labAgentArgs(inv, h), ca }));
const migrations = [];
for (let k = 0; k + 1 < agents.length; k += 2) {
  migrations.push(
    new Migration(
      \`m\${k / 2 + 1}\`,
      {
        source: agents[k],
        destination: agents[k + 1],
        peer: inv.hosts[k].address,
        persona: { congestionControl: "cubic", mtu: 1500, qos: { class: "standard" } },
        policy: {
          probeIntervalMs: 300,
          detectionWindowMs: 1200,
          schedule: { steps: [0.5, 1], stepDwellMs: 2000 },
          convergence: { quietIntervals: 3 },
        },
      },
      // Every session starts once every agent answers, so they can all run at the same time.
      { dependsOn: agents },
    ),
  );
}
export const sessions = migrations.map((m) => ({ converged: m.converged, history: m.history }));
`;

describe("10 migrations at once through the CLI with --parallel (lab par: 20 hosts)", function () {
  const LAB = "par";
  let project: CliProject;

  before(async () => {
    await createLab({ name: LAB, hosts: 20 });
    const src = scratchProject("parallel", { "index.ts": PROGRAM });
    project = await CliProject.create({ name: "parallel", from: src, config: { lab: { value: LAB } } });
  });
  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("every session starts before the first one converges, and all converge", async () => {
    await project.up({ extra: ["--parallel", "32"] });
    const { sessions } = (await project.outputs()) as {
      sessions: Array<{ converged: boolean; history: Array<{ time: string; kind: string }> }>;
    };
    assert.equal(sessions.length, 10);
    assert.deepEqual(
      sessions.map((s) => s.converged),
      Array(10).fill(true),
    );
    const starts = sessions.map((s) => Date.parse(s.history[0].time));
    const ends = sessions.map((s) => Date.parse(s.history[s.history.length - 1].time));
    assert.ok(
      Math.max(...starts) < Math.min(...ends),
      `the last session started ${Math.max(...starts) - Math.min(...ends)} ms after the first converged`,
    );
  });
});
