// examples/persona-yaml (Pulumi YAML: StackCa, Persona, Agent, PersonaAttachment) through the `pulumi` CLI and the
// YAML language host built by scripts/pulumi.sh, with the provider plugin pulumi-resource-netpersona from the
// package installed from its tarball (node_modules/.bin on PATH), against a lab host: preview names a bad
// field, up applies the persona (the kernel has it), a second preview is clean, the state holds no plaintext
// secret and no serialized code, destroy leaves the host as it was.
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute, hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

describe("examples/persona-yaml: Pulumi YAML through the provider plugin against a lab", function () {
  const LAB = "ymlp";
  let inv: LabInventory;
  let project: CliProject;
  let original: HostState;

  before(async () => {
    const pulumiBin = join(process.env.HOME ?? "/root", ".cache/netpersona/pulumi-v3.259.0/bin");
    if (!existsSync(join(pulumiBin, "pulumi-language-yaml")))
      throw new Error(
        `no pulumi-language-yaml in ${pulumiBin}: run 'make pulumi' (scripts/pulumi.sh builds it)`,
      );
    inv = await createLab({ name: LAB, hosts: 1 });
    const h = inv.hosts[0];
    original = await hostState(h);
    project = await CliProject.create({
      name: "persona-yaml",
      from: join(REPO, "examples", "persona-yaml"),
      config: {
        host: { value: h.address },
        sshPort: { value: String(h.sshPort) },
        sshUser: { value: h.user },
        sshPrivateKeyPath: { value: h.privateKeyPath },
        hostKey: { value: h.hostPublicKey },
        agentDir: { value: `${inv.stateDir}/agents/${h.name}` },
        resolvConfPath: { value: `/etc/netns/${h.netns}/resolv.conf` },
        mtu: { value: "70000" },
      },
    });
    // The YAML host next to the engine, the plugin as the package installs it.
    project.env.PATH = `${pulumiBin}:${join(project.dir, "node_modules", ".bin")}:${project.env.PATH}`;
  });

  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("preview names the bad field and creates nothing", async () => {
    const r = await project.preview({ check: false });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /using pulumi-resource-netpersona from \$PATH at \S+node_modules\/\.bin\/pulumi-resource-netpersona/,
    );
    assert.match(
      out,
      /netpersona:index:Persona resource 'web': property mtu value \{70000\} has a problem: must be at most 9000 \(jumbo frames\)/,
    );
    assert.deepEqual(await hostState(inv.hosts[0]), original);
  });

  it("up bootstraps the agent and applies the persona: the kernel has it", async () => {
    await project.pulumi(["config", "set", "mtu", "1400"]);
    const up = await project.up();
    assert.match(up.stdout, /\+ 5 created/);
    const outs = await project.outputs();
    assert.ok(Array.isArray(outs.summary) && (outs.summary as string[]).some((l) => /MTU 1400/.test(l)));
    assert.equal(typeof outs.hostname, "string");
    const route = await defaultRoute(inv.hosts[0]);
    assert.match(route, /mtu lock 1400/);
    assert.match(route, /congctl bbr/);
  });

  it("a second preview is clean", async () => {
    const r = await project.pulumi(["preview", "--expect-no-changes", "--diff"], { check: false });
    assert.equal(r.code, 0, r.stdout);
  });

  it("the state holds no plaintext secret and no serialized code", async () => {
    const state = JSON.stringify(await project.exportState());
    assert.equal(state.includes("PRIVATE KEY"), false, "a private key in plaintext in the state");
    assert.equal(state.includes("__provider"), false, "serialized provider code in the state");
    assert.match(state, /"type":"netpersona:index:PersonaAttachment"/);
  });

  it("destroy removes everything and leaves the host as it was", async () => {
    const d = await project.destroy();
    assert.match(d.stdout, /- 5 deleted/);
    assert.deepEqual(await hostState(inv.hosts[0]), original);
  });
});
