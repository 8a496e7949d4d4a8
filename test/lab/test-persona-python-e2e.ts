// examples/persona-python (Python: StackCa, Persona, Agent, PersonaAttachment through the generated SDK
// pulumi_netpersona) through the `pulumi` CLI and the Python language host built by scripts/pulumi.sh, in the
// virtualenv of scripts/python-deps.sh (pulumi 3.259.0 from PyPI and sdk/python), with the provider plugin
// pulumi-resource-netpersona from the package installed from its tarball (node_modules/.bin on PATH), against a
// lab host: preview names the bad fields and leaves the host alone, up applies the persona (the kernel has it),
// a second preview is clean, the state holds no plaintext secret and no serialized code, destroy leaves the
// host as it was.
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { run } from "../../provider/util/exec";
import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute, hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

describe("examples/persona-python: a Python program through the provider plugin against a lab", function () {
  const LAB = "pyxp";
  let inv: LabInventory;
  let project: CliProject;
  let original: HostState;

  before(async () => {
    const pulumiBin = join(process.env.HOME ?? "/root", ".cache/netpersona/pulumi-v3.259.0/bin");
    if (!existsSync(join(pulumiBin, "pulumi-language-python")))
      throw new Error(
        `no pulumi-language-python in ${pulumiBin}: run 'make pulumi' (scripts/pulumi.sh builds it)`,
      );
    // Cached: one line when the virtualenv is up to date (make pulumi has made it).
    const venv = (await run(["bash", join(REPO, "scripts", "python-deps.sh")], { timeoutMs: 600_000 })).stdout
      .trim()
      .split("\n")
      .pop()!;
    inv = await createLab({ name: LAB, hosts: 1 });
    const h = inv.hosts[0];
    original = await hostState(h);
    project = await CliProject.create({
      name: "persona-python",
      from: join(REPO, "examples", "persona-python"),
      config: {
        host: { value: h.address },
        sshPort: { value: String(h.sshPort) },
        sshUser: { value: h.user },
        sshPrivateKeyPath: { value: h.privateKeyPath },
        hostKey: { value: h.hostPublicKey },
        agentDir: { value: `${inv.stateDir}/agents/${h.name}` },
        resolvConfPath: { value: `/etc/netns/${h.netns}/resolv.conf` },
        mtu: { value: "100000" },
        congestionControl: { value: "vegas" },
      },
    });
    // The virtualenv activated (the language host runs its python3), the Python host next to the engine, the
    // plugin as the package installs it.
    project.env.PATH = [
      join(venv, "bin"),
      pulumiBin,
      join(project.dir, "node_modules", ".bin"),
      project.env.PATH,
    ].join(":");
    project.env.VIRTUAL_ENV = venv;
  });

  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("preview names the bad fields and creates nothing", async () => {
    const r = await project.preview({ check: false });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /using pulumi-resource-netpersona from \$PATH at \S+node_modules\/\.bin\/pulumi-resource-netpersona/,
    );
    assert.match(
      out,
      /netpersona:index:Persona resource 'web': property mtu value \{100000\} has a problem: must be at most 9000/,
    );
    assert.match(
      out,
      /netpersona:index:Persona resource 'web': property congestionControl value \{vegas\} has a problem: must be one of: cubic, bbr, reno/,
    );
    assert.deepEqual(await hostState(inv.hosts[0]), original);
  });

  it("up bootstraps the agent and applies the persona: the kernel has it", async () => {
    await project.pulumi(["config", "set", "mtu", "1400"]);
    await project.pulumi(["config", "set", "congestionControl", "bbr"]);
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
