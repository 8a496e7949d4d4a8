// `netpersona doctor` reports this machine as it is: the real CLI, run as a user would.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import type { Check } from "../../provider/cli/doctor";
import { REPO } from "../e2e";

const execFileP = promisify(execFile);
const CLI = join(REPO, "bin", "netpersona");

describe("netpersona doctor", () => {
  it("finds every required piece on this machine and reports netem as absent", async () => {
    const { stdout } = await execFileP(CLI, ["doctor", "--json"], {
      env: { ...process.env, PATH: `${join(REPO, "node_modules", ".bin")}:${process.env.PATH}` },
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
    assert.equal(byName.privilege.detail, "running as root");
    assert.equal(byName.sshd.detail, "/usr/sbin/sshd");
    // LAB-FACTS: this kernel has no netem qdisc.
    assert.equal(byName.netem.ok, false);
    assert.match(
      byName.netem.detail,
      /^absent \(.*\): no artificial delay; latency comes from queueing only$/,
    );
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
