// `netpersona doctor` reports this machine as it is: the real CLI, run as a user would; the YAML and Python
// pieces (language hosts, virtualenv, provider plugin) are notes unless --yaml / --python asks for them.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import type { Check } from "../../provider/cli/doctor";
import { REPO } from "../e2e";

const execFileP = promisify(execFile);
const CLI = join(REPO, "bin", "netpersona");
const PATH_WITH_BIN = `${join(REPO, "node_modules", ".bin")}:${process.env.PATH}`;
const CACHE = process.env.NETPERSONA_CACHE ?? join(homedir(), ".cache", "netpersona");

/** `netpersona doctor ARGS` in ENV: its exit code and output, whether it failed or not. */
async function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return execFileP(process.execPath, [CLI, "doctor", ...args], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

describe("netpersona doctor", () => {
  it("finds every required piece on this machine and reports netem as absent", async () => {
    const { stdout } = await execFileP(CLI, ["doctor", "--json"], {
      env: { ...process.env, PATH: PATH_WITH_BIN },
    });
    const checks = JSON.parse(stdout) as Check[];
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    assert.deepEqual(
      checks.filter((c) => c.required && !c.ok).map((c) => c.name),
      [],
    );
    assert.match(
      byName.pulumi.detail,
      /^v3\.259\.0 at \S+\/pulumi \((built offline by `make pulumi`|found on PATH)\); SDK v3\.259\.0$/,
    );
    assert.match(
      byName.language.detail,
      /^pulumi-language-nodejs at \S+\/pulumi-language-nodejs \((built offline by `make pulumi` from sdk\/v3 v3\.68\.0|found on PATH)\)$/,
    );
    // The YAML and Python pieces are informational unless asked for.
    for (const name of ["yaml", "python", "python-venv", "plugin"]) {
      assert.equal(byName[name].required, false, name);
      assert.equal(byName[name].note, true, name);
    }
    assert.match(
      byName.yaml.detail,
      /^pulumi-language-yaml at \S+\/pulumi-language-yaml \((built offline by `make pulumi` from pulumi-yaml v1\.25\.0|found on PATH)\)/,
    );
    assert.match(
      byName.python.detail,
      /^pulumi-language-python at \S+\/pulumi-language-python \((built offline by `make pulumi` from sdk\/v3 v3\.68\.0|found on PATH)\)/,
    );
    assert.match(byName["python-venv"].detail, /: pulumi 3\.259\.0, pulumi_netpersona 0\.1\.0/);
    assert.equal(byName.privilege.detail, "running as root");
    assert.equal(byName.sshd.detail, "/usr/sbin/sshd");
    // LAB-FACTS: this kernel has no netem qdisc.
    assert.equal(byName.netem.ok, false);
    assert.match(
      byName.netem.detail,
      /^absent \(.*\): no artificial delay; latency comes from queueing only$/,
    );
  });

  it("--yaml --python: the plugin on PATH or installed at the package's version, the venv active", async () => {
    const home = await mkdtemp(join(tmpdir(), "netpersona-doctor-"));
    try {
      const base = { ...process.env, PULUMI_HOME: home, PATH: PATH_WITH_BIN };
      // The plugin on PATH (the package's bin/), the cached virtualenv active: every piece present.
      const venv = join(CACHE, "python-pulumi-3.259.0", "venv");
      const onPath = await doctor(["--yaml", "--python"], {
        ...base,
        PATH: `${join(venv, "bin")}:${join(REPO, "bin")}:${PATH_WITH_BIN}`,
      });
      assert.equal(onPath.code, 0, onPath.stdout);
      assert.match(
        onPath.stdout,
        /^ok {3}plugin {6}pulumi-resource-netpersona 0\.1\.0: on PATH at \S+\/bin\/pulumi-resource-netpersona \(0\.1\.0\); none installed in /m,
      );
      assert.match(
        onPath.stdout,
        /^ok {3}python-venv \S+: pulumi 3\.259\.0, pulumi_netpersona 0\.1\.0 \(active\)$/m,
      );
      // Not on PATH, installed at another version only: what the engine asks for is not there.
      await mkdir(join(home, "plugins", "resource-netpersona-v9.9.9"), { recursive: true });
      const wrong = await doctor(["--yaml"], base);
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stdout,
        /^FAIL plugin {6}pulumi-resource-netpersona 0\.1\.0: not on PATH; installed in \S+\/plugins: 9\.9\.9\n +fix: bash scripts\/plugin-tarball\.sh, then pulumi plugin install resource netpersona 0\.1\.0 --file out\/pulumi-resource-netpersona-v0\.1\.0-linux-amd64\.tar\.gz/m,
      );
      // Installed at the package's version (as `pulumi plugin install --file` leaves it).
      await mkdir(join(home, "plugins", "resource-netpersona-v0.1.0"));
      const installed = await doctor(["--yaml"], base);
      assert.equal(installed.code, 0, installed.stdout);
      assert.match(
        installed.stdout,
        /^ok {3}plugin {6}\S+ 0\.1\.0: not on PATH; installed in \S+: 0\.1\.0, 9\.9\.9$/m,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("the YAML and Python pieces missing are notes, failures only with --yaml / --python", async () => {
    // System tools found, no engine cache, no plugin, no virtualenv.
    const env = {
      ...process.env,
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      NETPERSONA_CACHE: "/nonexistent",
      PULUMI_HOME: "/nonexistent",
      VIRTUAL_ENV: "",
    };
    const plain = await doctor([], env);
    const missing = (out: string) => Number(/(\d+) required piece\(s\) missing\n$/.exec(out)?.[1]);
    assert.match(
      plain.stdout,
      /^note yaml {8}pulumi-language-yaml missing: Pulumi YAML programs cannot run/m,
    );
    assert.match(plain.stdout, /^note python {6}pulumi-language-python missing: Python programs cannot run/m);
    assert.match(plain.stdout, /^note python-venv no virtualenv with pulumi and pulumi_netpersona/m);
    assert.match(
      plain.stdout,
      /^note plugin {6}pulumi-resource-netpersona 0\.1\.0: not on PATH; none installed/m,
    );
    const asked = await doctor(["--yaml", "--python"], env);
    assert.equal(asked.code, 1);
    for (const name of ["yaml", "python", "python-venv", "plugin"])
      assert.match(asked.stdout, new RegExp(`^FAIL ${name} `, "m"));
    assert.equal(missing(asked.stdout), missing(plain.stdout) + 4);
  });

  it("exits non-zero and names the fix when a required tool is missing", async () => {
    const env = { ...process.env, PATH: "/nonexistent", NETPERSONA_CACHE: "/nonexistent" };
    const err = await execFileP(process.execPath, [CLI, "doctor"], { env }).then(
      () => assert.fail("doctor should fail"),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stdout, /FAIL pulumi +no pulumi CLI on PATH or in the cache\n +fix: run `make pulumi`/);
    assert.match(
      err.stdout,
      /FAIL language +pulumi-language-nodejs missing: `pulumi up` cannot run a project from its folder\n +fix: run `make pulumi` \(builds it offline\) and add \/nonexistent\/pulumi-v3\.259\.0\/bin to PATH/,
    );
    assert.match(
      err.stdout,
      /FAIL nft +missing\n +fix: apt-get install -y nftables \(or: make system-deps\)/,
    );
    assert.match(err.stdout, /\d+ required piece\(s\) missing\n$/);
  });
});
