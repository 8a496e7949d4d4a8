// examples/persona-python (Python: StackCa, Persona, Agent, PersonaAttachment through the generated SDK
// pulumi_netpersona) through the `pulumi` CLI and the Python language host built by scripts/pulumi.sh, in the
// virtualenv of scripts/python-deps.sh (pulumi 3.259.0 from PyPI and sdk/python), with the provider plugin
// pulumi-resource-netpersona from the package installed from its tarball (node_modules/.bin on PATH), against a
// lab host: preview names the bad fields and leaves the host alone, up applies the persona (the kernel has it),
// a second preview is clean, the state holds no plaintext secret and no serialized code, destroy leaves the
// host as it was.
import { existsSync } from "node:fs";
import { join } from "node:path";

import { run } from "../../provider/util/exec";
import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";
import { exampleHostConfig, personaExampleSteps } from "../persona-example";

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
        ...exampleHostConfig(inv, h),
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

  personaExampleSteps({
    project: () => project,
    host: () => inv.hosts[0],
    original: () => original,
    badFields: [
      /netpersona:index:Persona resource 'web': property mtu value \{100000\} has a problem: must be at most 9000/,
      /netpersona:index:Persona resource 'web': property congestionControl value \{vegas\} has a problem: must be one of: cubic, bbr, reno/,
    ],
    fix: [
      ["mtu", "1400"],
      ["congestionControl", "bbr"],
    ],
  });
});
