// The shape of the code, enforced: the import graph has no cycle (dependency-cruiser over every TypeScript
// folder), and each boundary rule of eslint.config.mjs refuses a deliberate violation while the allowed
// form of the same import passes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { ESLint } from "eslint";

const ROOT = path.join(__dirname, "../../..");
const DEPCRUISE = path.join(ROOT, "node_modules/.bin/depcruise");

interface Cruise {
  summary: {
    error: number;
    violations: { rule: { name: string }; from: string; cycle?: { name: string }[] }[];
  };
}

async function cruise(cwd: string, folders: string[]): Promise<Cruise> {
  const args = ["--config", path.join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "json", ...folders];
  // depcruise exits non-zero when it finds a violation; the JSON on stdout says which.
  const out = await promisify(execFile)(DEPCRUISE, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }),
  );
  return JSON.parse(out.stdout) as Cruise;
}

describe("architecture: import graph and boundaries", function () {
  this.timeout(120_000);

  it("has no import cycle in provider/, sdk/, bin/, scripts/, bench/ or test/", async () => {
    const r = await cruise(ROOT, ["provider", "sdk", "bin", "scripts", "bench", "test"]);
    const cycles = r.summary.violations.map((v) =>
      [v.from, ...(v.cycle ?? []).map((c) => c.name)].join(" → "),
    );
    assert.deepEqual(cycles, []);
  });

  it("dependency-cruiser does find a deliberate cycle (the check is not vacuous)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "netpersona-cycle-"));
    try {
      writeFileSync(path.join(dir, "tsconfig.json"), "{}\n");
      writeFileSync(path.join(dir, "a.ts"), 'import { b } from "./b";\nexport const a = () => b;\n');
      writeFileSync(path.join(dir, "b.ts"), 'import { a } from "./a";\nexport const b = () => a;\n');
      const r = await cruise(dir, ["."]);
      assert.deepEqual(
        r.summary.violations.map((v) => [v.rule.name, v.from, ...(v.cycle ?? []).map((c) => c.name)]),
        [["no-circular", "a.ts", "b.ts", "a.ts"]],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const eslint = new ESLint({ cwd: ROOT });
  /** The boundary messages ESLint gives `code` as if it were the file at `file` (repository-relative). */
  async function lint(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result.messages.filter((m) => /no-restricted-imports/.test(m.ruleId ?? "")).map((m) => m.message);
  }

  it("the engine imports no Node module, no agent and no wire type", async () => {
    const pure = "provider/engine/violation.ts";
    assert.deepEqual(await lint(pure, 'export { isIP } from "node:net";\n'), [
      "'node:net' import is restricted from being used. provider/engine is pure (docs/engine.md): no Node modules, no agent, no wire types, no I/O.",
    ]);
    assert.equal((await lint(pure, 'export { readFileSync } from "fs";\n')).length, 1);
    assert.equal(
      (await lint(pure, 'export type { Session } from "../proto/gen/netpersona/agent/v1/Session";\n')).length,
      1,
    );
    assert.equal((await lint(pure, 'export { LIMITS } from "../agent/rpc/limits";\n')).length, 1);
    assert.deepEqual(await lint(pure, 'export type { Persona } from "../persona/schema";\n'), []);
  });

  it("the persona does no I/O", async () => {
    const file = "provider/persona/violation.ts";
    assert.deepEqual(await lint(file, 'export { readFileSync } from "node:fs";\n'), [
      "'node:fs' import is restricted from being used. provider/persona is the schema and its validation, with no I/O: read files in sdk/, talk to hosts in the agent.",
    ]);
    assert.deepEqual(await lint(file, 'export { IFNAME_RE } from "../util/names";\n'), []);
  });

  it("the sdk reaches the provider's code only through the registry (types may be shared)", async () => {
    const file = "sdk/violation.ts";
    assert.deepEqual(await lint(file, 'export { connectAgent } from "../provider/agent/rpc/client";\n'), [
      "'../provider/agent/rpc/client' import is restricted from being used by a pattern. sdk/ reaches the provider only through the registry (sdk/shim.ts): import types only from here.",
    ]);
    assert.deepEqual(
      await lint(file, 'export type { HistoryEntry } from "../provider/resources/migration";\n'),
      [],
    );
  });

  it("nowhere runs a command as a shell string", async () => {
    for (const file of ["provider/agent/violation.ts", "provider/engine/violation.ts", "sdk/violation.ts"]) {
      const messages = await lint(
        file,
        'import { exec } from "node:child_process";\nexport const run = exec;\n',
      );
      assert.ok(
        messages.some((m) => m.includes("Run commands as argument vectors")),
        `${file}: ${JSON.stringify(messages)}`,
      );
    }
  });
});
