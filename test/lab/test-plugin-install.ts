// The plugin's tarball (scripts/plugin-tarball.sh, which builds the package first and refuses an unbuilt one)
// installed as the README says, with `pulumi plugin install resource netpersona <version> --file <tarball>`
// into a fresh PULUMI_HOME, then a Pulumi YAML program run with no plugin on PATH: the engine starts the
// installed plugin from its cache; and a Python program on the generated SDK (sdk/python, which asks for the
// plugin of the package's version), in the virtualenv of scripts/python-deps.sh, on the same installed plugin.
import * as assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { run } from "../../provider/util/exec";
import { REPO } from "../e2e";

const VERSION: string = require(path.join(REPO, "package.json")).version;
const PROGRAM = `name: plugin-install
runtime: yaml
resources:
  ca:
    type: netpersona:StackCa
  web:
    type: netpersona:Persona
    properties:
      mtu: 1400
outputs:
  summary: \${web.summary}
  certPem: \${ca.certPem}
`;

const PYTHON_PROGRAM = `import pulumi
import pulumi_netpersona as netpersona

web = netpersona.Persona("web", mtu=1400)
pulumi.export("summary", web.summary)
`;

describe("the plugin tarball: pulumi plugin install --file, then a YAML and a Python program", function () {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const pulumi = (args: string[], check = true, project = "proj", extraEnv: NodeJS.ProcessEnv = {}) =>
    run(["pulumi", ...args, "--non-interactive", "--color", "never"], {
      cwd: path.join(dir, project),
      env: { ...env, ...extraEnv },
      check,
      timeoutMs: 300_000,
    });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "netpersona-plugin-install-"));
    mkdirSync(path.join(dir, "proj"));
    writeFileSync(path.join(dir, "proj", "Pulumi.yaml"), PROGRAM);
    // No pulumi-resource-netpersona on PATH: only the installed plugin can serve the program.
    const bin = path.join(process.env.HOME ?? "/root", ".cache/netpersona/pulumi-v3.259.0/bin");
    const rest = (process.env.PATH ?? "")
      .split(":")
      .filter((p) => p && !existsSync(path.join(p, "pulumi-resource-netpersona")));
    env = {
      ...process.env,
      PATH: [bin, ...rest].join(":"),
      PULUMI_HOME: path.join(dir, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(dir, "proj")}`,
      PULUMI_CONFIG_PASSPHRASE: "netpersona-plugin-install",
      PULUMI_SKIP_UPDATE_CHECK: "1",
    };
  });

  after(async () => {
    if (dir && existsSync(path.join(dir, "proj", "Pulumi.yaml"))) await pulumi(["destroy", "--yes"], false);
    if (dir && existsSync(path.join(dir, "py", "Pulumi.yaml")))
      await pulumi(["destroy", "--yes"], false, "py");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to pack an unbuilt package, naming the fix (a fresh clone has no dist/)", async () => {
    // The script as it would be in a clone without dist/: the build skipped, it must stop before packing.
    const clone = path.join(dir, "unbuilt");
    mkdirSync(path.join(clone, "scripts"), { recursive: true });
    copyFileSync(path.join(REPO, "package.json"), path.join(clone, "package.json"));
    copyFileSync(
      path.join(REPO, "scripts", "plugin-tarball.sh"),
      path.join(clone, "scripts", "plugin-tarball.sh"),
    );
    const r = await run(["bash", path.join(clone, "scripts", "plugin-tarball.sh"), path.join(clone, "out")], {
      check: false,
      env: { ...process.env, NETPERSONA_SKIP_BUILD: "1" },
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^plugin-tarball: dist\/provider\/plugin\/server\.js is missing: the package is not built\. Run 'make build'/m,
    );
    assert.equal(existsSync(path.join(clone, "out")), false);
  });

  it("installs the tarball as resource plugin netpersona at the package version", async () => {
    const tarball = (
      await run(["bash", path.join(REPO, "scripts", "plugin-tarball.sh"), dir], { timeoutMs: 300_000 })
    ).stdout.trim();
    assert.equal(path.basename(tarball), `pulumi-resource-netpersona-v${VERSION}-linux-amd64.tar.gz`);
    await pulumi(["plugin", "install", "resource", "netpersona", VERSION, "--file", tarball]);
    const ls = JSON.parse((await pulumi(["plugin", "ls", "--json"])).stdout) as {
      name: string;
      kind: string;
      version: string;
    }[];
    assert.deepEqual(
      ls.map((p) => `${p.kind} ${p.name} ${p.version}`),
      [`resource netpersona ${VERSION}`],
    );
  });

  it("a YAML program runs on the installed plugin: up, clean second preview, destroy", async () => {
    await pulumi(["stack", "init", "dev"]);
    const up = await pulumi(["up", "--yes", "--skip-preview"]);
    assert.match(up.stdout, /\+ 3 created/);
    assert.doesNotMatch(up.stdout + up.stderr, /from \$PATH/);
    const outs = JSON.parse((await pulumi(["stack", "output", "--json"])).stdout);
    assert.deepEqual(outs.summary, ["MTU 1400 (per-route mtu lock)"]);
    assert.match(outs.certPem, /^-----BEGIN CERTIFICATE-----/);
    await pulumi(["preview", "--expect-no-changes"]);
    const d = await pulumi(["destroy", "--yes", "--skip-preview"]);
    assert.match(d.stdout, /- 3 deleted/);
  });

  it("a Python program on the generated SDK runs on the installed plugin of the package's version", async () => {
    const venv = (
      await run(["bash", path.join(REPO, "scripts", "python-deps.sh")], { timeoutMs: 600_000 })
    ).stdout
      .trim()
      .split("\n")
      .pop()!;
    mkdirSync(path.join(dir, "py"));
    writeFileSync(path.join(dir, "py", "Pulumi.yaml"), "name: plugin-install-py\nruntime: python\n");
    writeFileSync(path.join(dir, "py", "__main__.py"), PYTHON_PROGRAM);
    // The Python host runs the python3 on PATH: the virtualenv's.
    const py = { PATH: `${path.join(venv, "bin")}:${env.PATH}` };
    await pulumi(["stack", "init", "dev"], true, "py", py);
    const up = await pulumi(["up", "--yes", "--skip-preview"], true, "py", py);
    assert.match(up.stdout, /\+ 2 created/);
    assert.doesNotMatch(up.stdout + up.stderr, /from \$PATH/);
    const outs = JSON.parse((await pulumi(["stack", "output", "--json"], true, "py", py)).stdout);
    assert.deepEqual(outs.summary, ["MTU 1400 (per-route mtu lock)"]);
    const d = await pulumi(["destroy", "--yes", "--skip-preview"], true, "py", py);
    assert.match(d.stdout, /- 2 deleted/);
  });
});
