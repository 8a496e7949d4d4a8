// examples/migration through the `pulumi` CLI from its own folder (outside the repository, the package
// installed from its tarball) against a lab: the shadow persona is created on the destination,
// the session converges, the destination's kernel carries the final persona, a second preview plans nothing,
// a session that cannot converge fails the resource with its history and leaves the destination as it was,
// and destroy restores the destination's pre-migration state.
import * as assert from "node:assert/strict";

import { run } from "../../provider/util/exec";
import { join } from "node:path";

import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute, hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

describe("examples/migration: a live migration end to end against a lab", function () {
  const LAB = "migr";
  let inv: LabInventory;
  let project: CliProject;
  let destBefore: HostState;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    destBefore = await hostState(inv.hosts[1]);
    project = await CliProject.create({
      name: "migration",
      from: join(REPO, "examples", "migration"),
      config: { lab: { value: LAB }, intervalMs: { value: "300" } },
    });
  });

  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("previews the agents, the source persona and the migration", async () => {
    const plan = await project.previewJson();
    assert.deepEqual(plan.changeSummary, { create: 7 }); // stack, CA, 2 agents, persona, attachment, migration
    const migration = plan.steps.find((s) => s.urn.endsWith("Migration::app"));
    assert.deepEqual(
      [migration?.newState?.inputs?.plan, migration?.newState?.inputs?.planNote],
      [[], "not known yet: the agents, their certificates or the persona are created or updated in this run"],
    );
    assert.deepEqual(
      plan.steps
        .filter((s) => s.urn.includes("dynamic/netpersona:"))
        .map((s) => `${s.op} ${s.urn.split("::")[2].split(":").pop()}`)
        .sort(),
      [
        "create Agent",
        "create Agent",
        "create Migration",
        "create Persona",
        "create PersonaAttachment",
        "create StackCa",
      ],
    );
  });

  it("converges, reporting progress, and the destination's kernel carries the final persona", async () => {
    const up = await project.up();
    assert.match(up.stdout, /\+ 7 created/);
    assert.match(
      up.stdout,
      /\[netpersona\] Migration app: session app-[0-9a-f]{12} on \S+: shadow persona mirrors the source; blending/,
    );
    assert.match(up.stdout, /\[netpersona\] Migration app: w=1\.00 converged/);
    // The source let the destination's certificate stream its feedback for the session, then revoked it.
    assert.match(
      up.stdout,
      /\[netpersona\] Migration app: feedback: the source agent at \S+ lets the destination's certificate \(sha256 [0-9a-f]{16}…\) stream until \S+Z\n/,
    );
    assert.match(
      up.stdout,
      /\[netpersona\] Migration app: feedback: grant of session app-[0-9a-f]{12} revoked on the source agent/,
    );
    const out = await project.outputs();
    assert.equal(out.converged, true);
    assert.ok(Number(out.convergenceSeconds) > 0);
    const final = out.finalPersona as { congestionControl: string; mtu: number; qos: { class: string } };
    const route = await defaultRoute(inv.hosts[1]);
    assert.match(route, new RegExp(`congctl ${final.congestionControl}`), route);
    assert.match(route, new RegExp(`mtu lock ${final.mtu}`), route);
    const history = out.history as Array<{ kind: string; weight: number }>;
    assert.deepEqual(
      history.filter((h) => h.kind.startsWith("feedback-")),
      [],
      "the feedback link never broke",
    );
    assert.deepEqual(
      [...new Set(history.filter((h) => h.kind === "advance").map((h) => h.weight))],
      [0.25, 0.5, 0.75, 1],
    );
    const nft = (await run(["nft", "list", "table", "inet", "netpersona"], { netns: inv.hosts[1].netns }))
      .stdout;
    assert.match(nft, new RegExp(final.qos.class === "standard" ? "dscp set cs0" : "dscp set"));
  });

  it("plans no change on a second preview; a refresh records no change in any resource", async () => {
    await project.previewNoChanges();
    // Every resource's inputs and outputs as stored, secrets as "[secret]" (their ciphertext is re-encrypted
    // with a new nonce on every write).
    const stored = async () =>
      JSON.stringify(
        (await project.exportState()).deployment.resources?.map((r) => [r.urn, r.inputs, r.outputs]),
        (_k, v) => (v && typeof v === "object" && "ciphertext" in v ? "[secret]" : v),
      );
    const before = await stored();
    await project.refresh();
    assert.equal(await stored(), before);
    await project.previewNoChanges();
  });

  it("destroy restores the destination's pre-migration state", async () => {
    await project.destroy();
    assert.deepEqual(await hostState(inv.hosts[1]), destBefore);
  });
});
