// The one base of the package's resources: each resource class builds its inputs once, and this base registers
// them with the provider the program chose: the dynamic provider (the default) or the provider plugin
// pulumi-resource-netpersona. The plugin is what a package SDK generated from schema.json uses: a custom
// resource of the schema's token (`netpersona:index:Persona`) at the package's version, which the engine serves
// with the plugin of that version (on PATH, or installed with `pulumi plugin install resource netpersona ...`).
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi/errors";

import { PACKAGE_VERSION, providerShim } from "./shim";

/**
 * Which provider serves a resource. `dynamic`: the provider's code goes into the state of every resource (the
 * `__provider` property) and runs in the language host's process; nothing to install. `plugin`: the engine runs
 * pulumi-resource-netpersona; the state holds only the resource's properties, and the resources can be shared
 * with programs in other languages (YAML, Python). A resource switched from `dynamic` to `plugin` stays the same
 * resource (an alias; the plugin drops the old serialized code from its state); from `plugin` back to `dynamic`
 * it would be a new one, created before the old one is deleted.
 */
export type ProviderKind = "dynamic" | "plugin";

/** Pulumi's resource options plus the provider choice of this resource. */
export interface NetpersonaResourceOptions extends pulumi.CustomResourceOptions {
  /** The provider of this resource; default: `setDefaultProviderKind`'s, else `dynamic`. */
  providerKind?: ProviderKind;
}

const KINDS: readonly ProviderKind[] = ["dynamic", "plugin"];
let defaultKind: ProviderKind = "dynamic";

/** The provider of every resource created after this call that does not choose its own (`providerKind`). */
export function setDefaultProviderKind(kind: ProviderKind): void {
  if (!KINDS.includes(kind))
    throw new Error(`netpersona: provider kind '${String(kind)}' is not one of ${KINDS.join(", ")}`);
  defaultKind = kind;
}

/** The serialized provider of a kind of resource, as `pulumi.dynamic.Resource` stores it (once per kind). */
const serialized = new Map<string, Promise<string>>();
function serializedProvider(kind: string): pulumi.Output<string> {
  let text = serialized.get(kind);
  if (!text) {
    // The same closure `pulumi.dynamic.Resource` serializes (`() => provider`), so the state is the same.
    const provider = providerShim(kind);
    text = pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }).then((sf) => sf.text);
    serialized.set(kind, text);
  }
  return pulumi.output(text);
}

/** The type token `pulumi.dynamic.Resource` registers for `type` of module `netpersona`. */
function dynamicToken(type: string): string {
  return `pulumi-nodejs:dynamic/netpersona:${type}`;
}

/** An argument that must be another resource of this package (a JavaScript program, or TypeScript through
 *  `as any`, can leave it out): an error naming the resource, the argument and the fix, printed without a
 *  stack, instead of a TypeError from inside the SDK. */
export function resourceArg<T>(
  type: string,
  name: string,
  field: string,
  value: T | undefined,
  what: string,
): T {
  if (value === undefined || value === null || typeof value !== "object")
    throw new RunError(`${type} '${name}': ${field} is required: give ${what}`);
  return value;
}

/** A resource of this package, served by the provider its options choose. */
export abstract class NetpersonaResource extends pulumi.CustomResource {
  /** The provider that serves this resource. */
  public readonly providerKind: ProviderKind;

  /**
   * @param kind the registry's kind (provider/resources/registry.ts), e.g. `persona`
   * @param type the schema's type name, e.g. `Persona` (token `netpersona:index:Persona`)
   */
  protected constructor(
    kind: string,
    type: string,
    name: string,
    props: pulumi.Inputs,
    opts: NetpersonaResourceOptions = {},
  ) {
    const { providerKind = defaultKind, ...options } = opts;
    if (!KINDS.includes(providerKind))
      throw new Error(`netpersona: providerKind '${String(providerKind)}' is not one of ${KINDS.join(", ")}`);
    if (providerKind === "plugin")
      super(`netpersona:index:${type}`, name, props, {
        ...options,
        version: options.version ?? PACKAGE_VERSION,
        // A resource the dynamic provider made under this name is this one: switching it to the plugin keeps
        // it (no create and delete, which for an attachment or a migration would undo the host's changes).
        aliases: [...(options.aliases ?? []), { type: dynamicToken(type) }],
      });
    else super(dynamicToken(type), name, { ...props, __provider: serializedProvider(kind) }, options);
    this.providerKind = providerKind;
  }
}
