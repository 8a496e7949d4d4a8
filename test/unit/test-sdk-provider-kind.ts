// The TypeScript SDK's provider choice (sdk/resource.ts), against Pulumi's mock monitor: by default a resource
// registers exactly as `pulumi.dynamic.Resource` would (token and serialized provider); with the plugin it
// registers the schema's token at the package's version with the same inputs and no code; the package-level
// default applies to resources that do not choose, and a resource's own choice wins.
import * as assert from "node:assert/strict";

import * as pulumi from "@pulumi/pulumi";

import {
  Agent,
  Migration,
  Persona,
  PersonaAttachment,
  StackCa,
  PACKAGE_VERSION,
  setDefaultProviderKind,
  type ProviderKind,
} from "../../sdk";
import { RunError } from "@pulumi/pulumi/errors";
import { providerShim } from "../../sdk/shim";

/** `pulumi.dynamic.Resource` as the SDK used it before the choice existed (it is abstract). */
class Reference extends pulumi.dynamic.Resource {}

const registered = new Map<string, pulumi.runtime.MockResourceArgs>();

/** What the monitor received for a resource, once registered. */
async function registration(r: pulumi.Resource): Promise<pulumi.runtime.MockResourceArgs> {
  const urn = await new Promise<string>((resolve) => r.urn.apply(resolve));
  const name = urn.split("::").pop()!;
  const args = registered.get(name);
  assert.ok(args, `no registration of ${name}`);
  return args;
}

describe("TypeScript SDK: the dynamic provider or the plugin, with the same inputs", () => {
  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.set(args.name, args);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "proj",
      "dev",
      false,
    );
  });
  afterEach(() => setDefaultProviderKind("dynamic"));

  const args = { personaName: "web", mtu: 1400, congestionControl: "bbr" as const };

  it("registers by default as pulumi.dynamic.Resource does: its token and its serialized provider", async () => {
    const ours = await registration(new Persona("dyn", args));
    const reference = await registration(
      new Reference(
        providerShim("persona"),
        "ref",
        { ...args, netpersonaVersion: PACKAGE_VERSION },
        {},
        "netpersona",
        "Persona",
      ),
    );
    assert.equal(ours.type, "pulumi-nodejs:dynamic/netpersona:Persona");
    assert.equal(ours.type, reference.type);
    assert.match(ours.inputs.__provider, /providerFor\(kind\)/);
    assert.equal(ours.inputs.__provider, reference.inputs.__provider);
  });

  it("with providerKind 'plugin' registers the schema's token at the package's version, same inputs, no code", async () => {
    const dynamic = new Persona("same-dyn", args);
    const plugin = new Persona("same-plugin", args, { providerKind: "plugin" });
    const [d, p] = [await registration(dynamic), await registration(plugin)];
    assert.equal(p.type, "netpersona:index:Persona");
    assert.equal((plugin as unknown as { __version?: string }).__version, PACKAGE_VERSION);
    assert.equal("__provider" in p.inputs, false);
    const { __provider: _code, ...dynamicInputs } = d.inputs;
    assert.deepEqual(p.inputs, dynamicInputs);
    assert.deepEqual([dynamic.providerKind, plugin.providerKind], ["dynamic", "plugin"]);
  });

  it("setDefaultProviderKind applies to the resources that do not choose; a resource's own choice wins", async () => {
    setDefaultProviderKind("plugin");
    const byDefault = new StackCa("ca-default");
    const own = new StackCa("ca-own", {}, { providerKind: "dynamic" });
    assert.equal((await registration(byDefault)).type, "netpersona:index:StackCa");
    assert.equal((await registration(own)).type, "pulumi-nodejs:dynamic/netpersona:StackCa");
  });

  it("a missing resource argument (JavaScript, or `as any`) is named with its fix, without a stack", () => {
    const refused = (make: () => unknown, message: string) =>
      assert.throws(make, (e: Error) => {
        assert.ok(e instanceof RunError, `${e.name}: ${e.message}`);
        assert.equal(e.message, message);
        return true;
      });
    const persona = new Persona("p-missing", args);
    refused(
      () => new PersonaAttachment("att", { persona } as never),
      "PersonaAttachment 'att': agent is required: give the Agent of the host to attach to",
    );
    refused(
      () => new Agent("a", { connection: { host: "10.0.0.1" } } as never),
      "Agent 'a': ca is required: give the stack's StackCa (new StackCa(\"ca\"))",
    );
    refused(
      () => new Migration("m", { peer: "10.0.0.2", destination: null } as never),
      "Migration 'm': source is required: give the source host's Agent",
    );
  });

  it("refuses a kind it does not know, naming the choices", () => {
    assert.throws(() => setDefaultProviderKind("native" as ProviderKind), {
      message: "netpersona: provider kind 'native' is not one of dynamic, plugin",
    });
    assert.throws(() => new Persona("bad", args, { providerKind: "native" as ProviderKind }), {
      message: "netpersona: providerKind 'native' is not one of dynamic, plugin",
    });
  });
});
