// The registry of resource providers. The serialized shim in state requires this module by package name
// and looks a provider up by kind, so provider code is loaded lazily and never serialized by value.
import type * as pulumi from "@pulumi/pulumi";

const loaders: Record<string, () => pulumi.dynamic.ResourceProvider> = {
  persona: () => require("./persona").personaProvider,
};

export function providerFor(kind: string): pulumi.dynamic.ResourceProvider {
  const load = loaders[kind];
  if (!load)
    throw new Error(`netpersona: unknown resource kind '${kind}' (state written by a newer version?)`);
  return load();
}
