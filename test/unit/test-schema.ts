// schema.json: generated from the zod schemas, checked in, fresh, and valid against Pulumi's metaschema.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

import { z } from "zod";

import { SchemaBuilder, renderSchema } from "../../provider/schema/pulumi-schema";
import { RESOURCE_SPECS } from "../../provider/schema/specs";
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

  it("requires no field that has a default, in any type or resource (mtuScope, dns.search, ports, ...)", () => {
    const schema = JSON.parse(checkedIn);
    const defaulted = (props: Record<string, { default?: unknown }>) =>
      Object.keys(props).filter((k) => props[k].default !== undefined);
    const offending: string[] = [];
    for (const [token, t] of Object.entries<{ properties?: Record<string, object>; required?: string[] }>(
      schema.types,
    ))
      for (const k of defaulted(t.properties ?? {}))
        if (t.required?.includes(k)) offending.push(`${token}.${k}`);
    for (const [token, r] of Object.entries<{
      inputProperties: Record<string, object>;
      requiredInputs?: string[];
      required?: string[];
    }>(schema.resources))
      for (const k of defaulted(r.inputProperties))
        if (r.requiredInputs?.includes(k) || r.required?.includes(k)) offending.push(`${token}.${k}`);
    assert.deepEqual(offending, []);
    // The case that was wrong: the definition type came from zod's output view, where defaults are filled in.
    const definition = schema.types["netpersona:index:PersonaDefinition"];
    assert.equal(definition.properties.mtuScope.default, "route");
    assert.equal(definition.required, undefined);
    assert.deepEqual(schema.types["netpersona:index:Dns"].required, ["servers"]);
  });

  it("requires in each type only fields zod's input view requires (a user may leave out the rest)", () => {
    // Independent of the generator's rule: every titled object of every resource's inputs and outputs, as zod
    // sees what a user may write, against the type schema.json declares for that title.
    const inputRequired = new Map<string, Set<string>>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== "object" || node === null) return;
      const n = node as { title?: string; properties?: object; required?: string[] };
      if (n.title && n.properties) {
        const seen = inputRequired.get(n.title);
        const mine = new Set(n.required ?? []);
        inputRequired.set(n.title, seen ? new Set([...seen].filter((k) => mine.has(k))) : mine);
      }
      Object.values(node).forEach(walk);
    };
    for (const r of RESOURCE_SPECS)
      for (const s of [r.inputs, r.outputs]) walk(z.toJSONSchema(s, { io: "input", unrepresentable: "any" }));
    const types = JSON.parse(checkedIn).types as Record<string, { required?: string[] }>;
    const checked: string[] = [];
    for (const [title, allowed] of inputRequired) {
      const t = types[`netpersona:index:${title}`];
      if (!t) continue;
      checked.push(title);
      for (const k of t.required ?? [])
        assert.ok(allowed.has(k), `${title}.${k} is required but may be omitted`);
    }
    assert.ok(checked.includes("PersonaDefinition") && checked.includes("Connection"), checked.join(","));
  });

  it("leaves a defaulted field out of required even when zod lists it (its output view)", () => {
    const js = z.toJSONSchema(
      z.object({ a: z.string(), b: z.string().default("x"), c: z.int().optional() }).meta({ title: "T" }),
      { io: "output" },
    );
    assert.deepEqual((js as { required: string[] }).required, ["a", "b"]); // what zod says
    const t = new SchemaBuilder().objectType(js as Parameters<SchemaBuilder["objectType"]>[0]);
    assert.deepEqual(t.required, ["a"]);
    assert.deepEqual(t.properties, {
      a: { type: "string" },
      b: { type: "string", default: "x" },
      c: { type: "integer" },
    });
  });
});
