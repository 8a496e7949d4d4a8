// examples/ci as its pipeline runs it (scripts/ci-example.sh, the commands of
// .github/workflows/netpersona.yml) against a lab: the pull-request preview plans every resource, the
// main-branch `pulumi up` puts each host's persona from personas/*.yaml on its kernel, and the next preview
// plans no change.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { cachedPulumiBin } from "../../provider/cli/doctor";
import { labInventory } from "../../sdk/lab";
import { run } from "../../provider/util/exec";
import { CLI_ROOT, packedTarball } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute } from "../host-state";
import { createLab, destroyLab } from "../lab-fixture";

describe("examples/ci through its pipeline's commands (make ci-example) against a lab", function () {
  const LAB = "cix";
  const work = join(CLI_ROOT, "ci-example");
  const script = join(REPO, "scripts", "ci-example.sh");
  let env: NodeJS.ProcessEnv;

  before(async () => {
    env = {
      ...process.env,
      NETPERSONA_CI_LAB: LAB,
      NETPERSONA_CI_DIR: work,
      NETPERSONA_TARBALL: await packedTarball(),
      PATH: `${cachedPulumiBin()}:${process.env.PATH ?? ""}`,
    };
    await createLab({ name: LAB, hosts: 2 }); // the script uses a running lab of its name
  });
  after(async () => {
    await run(["bash", script, "--down"], { env, timeoutMs: 300_000, check: false });
    await destroyLab(LAB);
  });

  it("previews, applies each host's persona, and plans no change afterwards", async () => {
    const r = await run(["bash", script, "--keep"], { env, timeoutMs: 900_000 });
    assert.match(r.stdout, /== pull request: pulumi preview/);
    const plan = JSON.parse(readFileSync(join(work, "preview.json"), "utf8")) as {
      steps: Array<{ op: string; urn: string }>;
    };
    assert.deepEqual(plan.steps.map((s) => `${s.op} ${s.urn.split("::").slice(2).join("::")}`).sort(), [
      "create pulumi-nodejs:dynamic/netpersona:Agent::h1",
      "create pulumi-nodejs:dynamic/netpersona:Agent::h2",
      "create pulumi-nodejs:dynamic/netpersona:Persona::bulk",
      "create pulumi-nodejs:dynamic/netpersona:Persona::web",
      "create pulumi-nodejs:dynamic/netpersona:PersonaAttachment::h1",
      "create pulumi-nodejs:dynamic/netpersona:PersonaAttachment::h2",
      "create pulumi-nodejs:dynamic/netpersona:StackCa::ca",
      "create pulumi:pulumi:Stack::netpersona-ci-prod",
    ]);
    const review = readFileSync(join(work, "review.md"), "utf8");
    assert.match(review, /^## netpersona: planned network changes\n\nResources: 8 to create\.\n/);
    // Before the first up the agents and the CA do not exist yet: the review says so instead of inventing a plan.
    assert.match(review, /#### PersonaAttachment h1 \(10\.\d+\.1\.10:7443\): create\n/);
    assert.match(
      review,
      /\n\nKernel plan: not known yet: the agent, its certificates or the persona are created or updated in this run\.\n/,
    );
    assert.match(readFileSync(join(work, "up.txt"), "utf8"), /\+ 8 created/);
    assert.match(readFileSync(join(work, "after.txt"), "utf8"), /8 unchanged/);
    const [h1, h2] = labInventory(LAB).hosts;
    const web = await defaultRoute(h1);
    assert.match(web, /congctl bbr/, web);
    assert.match(web, /mtu lock 1400/, web);
    const bulk = await defaultRoute(h2);
    assert.match(bulk, /congctl cubic/, bulk);
    assert.match(bulk, /mtu lock 1500/, bulk);
    const nft = async (netns: string) =>
      (await run(["nft", "list", "table", "inet", "netpersona"], { netns })).stdout;
    assert.match(await nft(h1.netns), /ip dscp set af21/);
    assert.match(await nft(h2.netns), /ip dscp set af11/);
    const outputs = JSON.parse(readFileSync(join(work, "outputs.json"), "utf8")) as {
      summaries: Record<string, string[]>;
    };
    assert.deepEqual(Object.keys(outputs.summaries).sort(), ["bulk", "web"]);
  });
});
