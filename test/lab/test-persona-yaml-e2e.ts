// Pulumi YAML through the `pulumi` CLI and the YAML language host built by scripts/pulumi.sh, with the provider
// plugin pulumi-resource-netpersona from the package installed from its tarball (node_modules/.bin on PATH),
// against one lab of two hosts:
// - examples/persona-yaml (StackCa, Persona, Agent, PersonaAttachment on h1): preview names a bad field, up
//   applies the persona (the kernel has it), a second preview is clean, the state holds no plaintext secret and
//   no serialized code, destroy leaves the host as it was;
// - examples/migration-yaml (a Migration from h1 to h2): preview names a bad policy field, up runs the session
//   to converged with its progress in the CLI's output, the destination's kernel carries the final persona, a
//   second preview is clean, destroy restores the destination.
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute, hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabHost, type LabInventory } from "../lab-fixture";
import { exampleHostConfig, personaExampleSteps } from "../persona-example";

const PULUMI_BIN = join(process.env.HOME ?? "/root", ".cache/netpersona/pulumi-v3.259.0/bin");

/** A YAML example as a user runs it: the YAML host next to the engine, the plugin as the package installs it. */
async function yamlProject(
  example: string,
  config: Record<string, { value: string }>,
  objects: Record<string, Record<string, string | number>> = {},
): Promise<CliProject> {
  const project = await CliProject.create({ name: example, from: join(REPO, "examples", example), config });
  project.env.PATH = `${PULUMI_BIN}:${join(project.dir, "node_modules", ".bin")}:${project.env.PATH}`;
  for (const [key, fields] of Object.entries(objects))
    for (const [field, value] of Object.entries(fields))
      await project.pulumi(["config", "set", "--path", `${key}.${field}`, String(value), "--plaintext"]);
  return project;
}

/** A lab host as examples/migration-yaml's `source` and `destination` take it (`lab status --json`). */
function hostConfig(h: LabHost): Record<string, string | number> {
  const { address, sshPort, user, privateKeyPath, hostPublicKey, name, netns } = h;
  return { address, sshPort, user, privateKeyPath, hostPublicKey, name, netns };
}

describe("Pulumi YAML through the provider plugin against a lab", function () {
  const LAB = "plgy";
  let inv: LabInventory;

  before(async () => {
    if (!existsSync(join(PULUMI_BIN, "pulumi-language-yaml")))
      throw new Error(
        `no pulumi-language-yaml in ${PULUMI_BIN}: run 'make pulumi' (scripts/pulumi.sh builds it)`,
      );
    inv = await createLab({ name: LAB, hosts: 2 });
  });

  after(async () => {
    await destroyLab(LAB);
  });

  describe("examples/persona-yaml", () => {
    let project: CliProject;
    let original: HostState;

    before(async () => {
      const h = inv.hosts[0];
      original = await hostState(h);
      project = await yamlProject("persona-yaml", { ...exampleHostConfig(inv, h), mtu: { value: "70000" } });
    });

    after(async () => {
      await project?.dispose();
    });

    personaExampleSteps({
      project: () => project,
      host: () => inv.hosts[0],
      original: () => original,
      badFields: [
        /netpersona:index:Persona resource 'web': property mtu value \{70000\} has a problem: must be at most 9000 \(jumbo frames\)/,
      ],
      fix: [["mtu", "1400"]],
    });
  });

  describe("examples/migration-yaml", () => {
    let project: CliProject;
    let destBefore: HostState;

    before(async () => {
      destBefore = await hostState(inv.hosts[1]);
      project = await yamlProject(
        "migration-yaml",
        // The bad value first: the preview must name it.
        { labStateDir: { value: inv.stateDir }, intervalMs: { value: "50" }, windowMs: { value: "1200" } },
        { source: hostConfig(inv.hosts[0]), destination: hostConfig(inv.hosts[1]) },
      );
    });

    after(async () => {
      await project?.dispose();
    });

    it("preview names the bad policy field and starts nothing", async () => {
      const r = await project.preview({ check: false });
      assert.notEqual(r.code, 0);
      assert.match(
        r.stdout + r.stderr,
        // A nested field: the engine names its path in the message (a top-level one as `property X value {V}`).
        /error: netpersona:index:Migration resource 'migration' has a problem: policy\.probeIntervalMs: must be at least 100\n/,
      );
      assert.deepEqual(await hostState(inv.hosts[1]), destBefore);
    });

    it("up converges through the plugin, reporting progress; the destination's kernel has the final persona", async () => {
      await project.pulumi(["config", "set", "intervalMs", "300"]);
      const up = await project.up();
      assert.match(up.stdout, /\+ 7 created/); // stack, CA, 2 agents, persona, attachment, migration
      assert.match(
        up.stdout,
        /\[netpersona\] Migration app: session app-[0-9a-f]{12} on \S+: shadow persona mirrors the source; blending/,
      );
      assert.match(up.stdout, /\[netpersona\] Migration app: w=1\.00 converged/);
      const out = await project.outputs();
      assert.equal(out.converged, true);
      assert.ok(Number(out.convergenceSeconds) > 0);
      assert.match(String(out.sessionId), /^app-[0-9a-f]{12}$/);
      const final = out.finalPersona as { congestionControl: string; mtu: number };
      const route = await defaultRoute(inv.hosts[1]);
      assert.match(route, new RegExp(`congctl ${final.congestionControl}`), route);
      assert.match(route, new RegExp(`mtu lock ${final.mtu}`), route);
      const advances = (out.history as Array<{ kind: string; weight: number }>).filter(
        (h) => h.kind === "advance",
      );
      assert.deepEqual([...new Set(advances.map((h) => h.weight))], [0.25, 0.5, 0.75, 1]);
    });

    it("a second preview is clean; the state holds no plaintext key and no serialized code", async () => {
      await project.previewNoChanges();
      const state = JSON.stringify(await project.exportState());
      assert.equal(state.includes("PRIVATE KEY"), false, "a private key in plaintext in the state");
      assert.equal(state.includes("__provider"), false, "serialized provider code in the state");
      assert.match(state, /"type":"netpersona:index:Migration"/);
    });

    it("destroy restores the destination's pre-migration state", async () => {
      const d = await project.destroy();
      assert.match(d.stdout, /- 7 deleted/);
      assert.deepEqual(await hostState(inv.hosts[1]), destBefore);
    });
  });
});
