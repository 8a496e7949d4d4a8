// Generates the Pulumi package schema (schema.json) from the zod schemas of the resources.
// zod → JSON Schema (z.toJSONSchema) → Pulumi's type system: objects with a title become named object
// types, string enums with a title become enum types, everything else is inlined.
import { z } from "zod";

import { RESOURCE_SPECS, type ResourceSpec } from "./specs";

type Json = Record<string, unknown>;
interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  default?: unknown;
}

const PACKAGE = "netpersona";

export class SchemaBuilder {
  readonly types: Record<string, Json> = {};

  /** A Pulumi property spec for a JSON Schema node. */
  property(js: JsonSchema, secret = false): Json {
    const spec = this.typeOf(js);
    if (js.description) spec.description = js.description;
    if (js.default !== undefined && typeof js.default !== "object") spec.default = js.default;
    if (secret) spec.secret = true;
    return spec;
  }

  private typeOf(js: JsonSchema): Json {
    if (js.anyOf) {
      const nonNull = js.anyOf.filter((s) => s.type !== "null");
      if (nonNull.length === 1) return this.typeOf({ ...nonNull[0], description: js.description });
      return { oneOf: nonNull.map((s) => this.typeOf(s)) };
    }
    const type = Array.isArray(js.type) ? js.type.find((t) => t !== "null") : js.type;
    if (type === "string" && js.enum && js.title) return this.ref(js.title, () => this.enumType(js));
    if (type === "object" && js.properties) {
      return js.title
        ? this.ref(js.title, () => this.objectType(js))
        : { type: "object", additionalProperties: { $ref: "pulumi.json#/Any" } };
    }
    if (type === "object") {
      const extra =
        typeof js.additionalProperties === "object"
          ? this.typeOf(js.additionalProperties)
          : { $ref: "pulumi.json#/Any" };
      return { type: "object", additionalProperties: extra };
    }
    if (type === "array")
      return { type: "array", items: js.items ? this.typeOf(js.items) : { $ref: "pulumi.json#/Any" } };
    if (type === "string" || type === "integer" || type === "number" || type === "boolean") return { type };
    return { $ref: "pulumi.json#/Any" };
  }

  private ref(title: string, build: () => Json): Json {
    const token = `${PACKAGE}:index:${title}`;
    if (!this.types[token]) {
      this.types[token] = {}; // reserve first: recursion-safe
      this.types[token] = build();
    }
    return { $ref: `#/types/${token}` };
  }

  private enumType(js: JsonSchema): Json {
    return {
      type: "string",
      ...(js.description && { description: js.description }),
      enum: (js.enum as string[]).map((value) => ({ value })),
    };
  }

  /**
   * A Pulumi object type. A field with a default is not required, whichever way zod converted it (its
   * output view lists defaulted fields as required, since parsing fills them in): Pulumi types serve as
   * inputs too, where the field may be left out.
   */
  objectType(js: JsonSchema, secrets: readonly string[] = []): Json {
    const props = js.properties ?? {};
    const properties = Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, this.property(v, secrets.includes(k))]),
    );
    const required = (js.required ?? []).filter((k) => props[k]?.default === undefined).sort();
    return {
      type: "object",
      ...(js.description && { description: js.description }),
      properties,
      ...(required.length > 0 && { required }),
    };
  }
}

function toJson(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
}

function resourceSpec(b: SchemaBuilder, r: ResourceSpec): Json {
  const inputs = toJson(r.inputs, "input");
  const outputs = toJson(r.outputs, "output");
  const ins = b.objectType({ properties: inputs.properties, required: inputs.required }, r.secrets);
  const outsOnly = b.objectType({ properties: outputs.properties, required: outputs.required }, r.secrets);
  return {
    description: r.description,
    inputProperties: ins.properties,
    ...(ins.required ? { requiredInputs: ins.required } : {}),
    properties: { ...(ins.properties as Json), ...(outsOnly.properties as Json) },
    required: [
      ...new Set([...((ins.required as string[]) ?? []), ...((outsOnly.required as string[]) ?? [])]),
    ].sort(),
  };
}

/** The whole package schema, deterministic (sorted keys where order carries no meaning). */
export function generateSchema(version: string): Json {
  const b = new SchemaBuilder();
  const resources = Object.fromEntries(RESOURCE_SPECS.map((r) => [r.token, resourceSpec(b, r)]));
  const types = Object.fromEntries(Object.entries(b.types).sort(([a], [c]) => (a < c ? -1 : 1)));
  return {
    name: PACKAGE,
    displayName: "Network personas",
    version,
    description: "Manage network personas on Linux hosts and migrate them live.",
    keywords: ["pulumi", "network", "linux", "category/network", "kind/native"],
    license: "Apache-2.0",
    language: {
      nodejs: { packageName: "pulumi-netpersona" },
      // The Python SDK takes the package's version (else 0.0.0), so it asks the engine for the plugin of this
      // version: the one `pulumi plugin install resource netpersona <version>` put in the plugin cache.
      python: { respectSchemaVersion: true },
    },
    config: {},
    types,
    resources,
  };
}

export function renderSchema(version: string): string {
  return `${JSON.stringify(generateSchema(version), null, 2)}\n`;
}
