// The registry of resource providers. The serialized shim in state requires this module by package name
// and looks a provider up by kind, so provider code is loaded lazily and never serialized by value.
import type * as pulumi from "@pulumi/pulumi";

const loaders: Record<string, () => pulumi.dynamic.ResourceProvider> = {
  persona: () => require("./persona").personaProvider,
  "stack-ca": () => require("./stack-ca").stackCaProvider,
  agent: () => require("./agent").agentProvider,
  attachment: () => require("./attachment").attachmentProvider,
  migration: () => require("./migration").migrationProvider,
};

/** The provider of `kind`, with the optional methods filled in, since the shim calls every one of them:
 *  `read` keeps the recorded state, `delete` has nothing outside the state to remove, and `update` is
 *  only reached when `diff` allowed an in-place change. */
export function providerFor(kind: string): Required<pulumi.dynamic.ResourceProvider> {
  const load = loaders[kind];
  if (!load)
    throw new Error(`netpersona: unknown resource kind '${kind}' (state written by a newer version?)`);
  const p = load();
  return {
    check: p.check ?? (async (_olds, news) => ({ inputs: news })),
    diff: p.diff ?? (async () => ({})),
    create: p.create,
    read: p.read ?? (async (id, props) => ({ id, props })),
    update: p.update ?? (async (_id, _olds, news) => ({ outs: news })),
    delete: p.delete ?? (async () => {}),
    configure: p.configure ?? (async () => {}),
  };
}
