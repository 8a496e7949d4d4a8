// schema.json: generated from the zod schemas, checked in, fresh, and valid against Pulumi's metaschema.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

import { renderSchema } from "../../provider/schema/pulumi-schema";
import { REPO } from "../e2e";

const execFileP = promisify(execFile);

/** Pulumi's package metaschema, from the Go module of the engine we build (downloaded by `go` if needed). */
async function metaschema(): Promise<object> {
  const { stdout } = await execFileP("go", ["mod", "download", "-json", "github.com/pulumi/pulumi/pkg/v3"], {
    cwd: join(REPO, "tools", "pulumi-build"),
  });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  return JSON.parse(readFileSync(join(dir, "codegen", "schema", "pulumi.json"), "utf8"));
}

describe("schema.json", () => {
  const version: string = require(join(REPO, "package.json")).version;
  const checkedIn = readFileSync(join(REPO, "schema.json"), "utf8");

  it("is what the generator makes from the zod schemas (run `make schema` after changing them)", () => {
    assert.equal(checkedIn, renderSchema(version));
  });

  it("validates against Pulumi's metaschema (pkg/codegen/schema/pulumi.json)", async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(await metaschema());
    const ok = validate(JSON.parse(checkedIn));
    assert.deepEqual(validate.errors ?? [], [], JSON.stringify(validate.errors, null, 2));
    assert.equal(ok, true);
    // The validator is not vacuous: a broken package name and a misspelt property type are refused.
    assert.equal(validate({ ...JSON.parse(checkedIn), name: "9 bad" }), false);
    assert.equal(
      validate({
        name: "x",
        types: { "x:index:T": { type: "object", properties: { a: { type: "strin" } } } },
      }),
      false,
    );
  });

  it("describes every persona field with its exact type", () => {
    const schema = JSON.parse(checkedIn);
    const persona = schema.resources["netpersona:index:Persona"];
    assert.deepEqual(Object.keys(persona.inputProperties).sort(), [
      "congestionControl",
      "dns",
      "mtu",
      "mtuScope",
      "personaName",
      "qos",
      "routes",
    ]);
    assert.deepEqual(persona.inputProperties.qos, {
      $ref: "#/types/netpersona:index:Qos",
      description: "Quality of service: the traffic class marked on the host's outgoing packets.",
    });
    assert.deepEqual(persona.properties.definition.$ref, "#/types/netpersona:index:PersonaDefinition");
    assert.equal(schema.types["netpersona:index:QosClass"].enum.length, 12);
    assert.deepEqual(persona.required, ["definition", "dscp", "fingerprint", "summary"]);
  });
});
