// The Python SDK (sdk/python) is generated from schema.json by scripts/gen-python-sdk.sh with the engine's own
// Python code generator: regenerated here into a temporary folder it must equal what is committed (a schema
// change without `make schema` fails), every resource token of the schema is registered by it, the zod
// descriptions are its docs, secrets are marked, and every file compiles.
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { run } from "../../provider/util/exec";

const ROOT = path.join(__dirname, "../../..");
const SDK = path.join(ROOT, "sdk", "python");

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

describe("Python SDK generated from schema.json", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), "netpersona-pysdk-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("regenerates to exactly what is committed", async () => {
    const out = path.join(tmp, "python");
    await run(["bash", path.join(ROOT, "scripts", "gen-python-sdk.sh"), out], { timeoutMs: 600_000 });
    const got = files(out).sort();
    assert.deepEqual(got, files(SDK).sort());
    for (const f of got)
      assert.equal(readFileSync(path.join(out, f), "utf8"), readFileSync(path.join(SDK, f), "utf8"), f);
  });

  it("registers every resource token of the schema, with the zod descriptions as docs and secrets marked", () => {
    const schema = JSON.parse(readFileSync(path.join(ROOT, "schema.json"), "utf8"));
    const all = files(SDK)
      .filter((f) => f.endsWith(".py"))
      .map((f) => readFileSync(path.join(SDK, f), "utf8"))
      .join("\n");
    for (const token of Object.keys(schema.resources)) assert.ok(all.includes(`'${token}'`), token);
    const persona = readFileSync(path.join(SDK, "pulumi_netpersona", "persona.py"), "utf8");
    assert.ok(persona.includes(schema.resources["netpersona:index:Persona"].inputProperties.mtu.description));
    const ca = readFileSync(path.join(SDK, "pulumi_netpersona", "stack_ca.py"), "utf8");
    assert.match(ca, /additional_secret_outputs=\[[^\]]*"keyPem"/);
  });

  it("leaves every field with a default optional in the input types (mtu_scope defaults to 'route')", () => {
    const schema = JSON.parse(readFileSync(path.join(ROOT, "schema.json"), "utf8"));
    const inputs = readFileSync(path.join(SDK, "pulumi_netpersona", "_inputs.py"), "utf8");
    const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const checked: string[] = [];
    for (const [token, t] of Object.entries<{ properties?: Record<string, { default?: unknown }> }>(
      schema.types,
    )) {
      const name = token.split(":").pop();
      const block = inputs.split(`\nclass ${name}ArgsDict(TypedDict):\n`)[1]?.split("\nclass ")[0];
      if (block === undefined) continue; // an output-only type
      for (const [k, p] of Object.entries(t.properties ?? {})) {
        if (p.default === undefined) continue;
        assert.match(block, new RegExp(`\\n    ${snake(k)}: NotRequired\\[`), `${name}.${k}`);
        checked.push(`${name}.${k}`);
      }
    }
    assert.ok(checked.includes("PersonaDefinition.mtuScope"), checked.join(", "));
    assert.match(inputs, /if mtu_scope is None:\n\s+mtu_scope = 'route'/);
  });

  it("asks the engine for the plugin of the package's version (schema language.python.respectSchemaVersion)", () => {
    const version: string = require(path.join(ROOT, "package.json")).version;
    const plugin = JSON.parse(
      readFileSync(path.join(SDK, "pulumi_netpersona", "pulumi-plugin.json"), "utf8"),
    );
    assert.deepEqual(plugin, { resource: true, name: "netpersona", version });
    assert.match(
      readFileSync(path.join(SDK, "setup.py"), "utf8"),
      new RegExp(`\\nVERSION = "${version}"\\n`),
    );
  });

  it("compiles", async () => {
    const py = files(SDK).filter((f) => f.endsWith(".py"));
    await run(["python3", "-m", "py_compile", ...py.map((f) => path.join(SDK, f))], {
      env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(tmp, "pycache") },
    });
  });
});
