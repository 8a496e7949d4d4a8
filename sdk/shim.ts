// The provider object that Pulumi serializes into state for every resource of this package.
// It is deliberately tiny and version-independent: each method requires the installed package by name
// and delegates to the provider registered for `kind`. Nothing else is captured, so closure
// serialization stays small and stable, and state written by one version is handled by the next
// (each resource also carries a `netpersonaVersion` input for that purpose).
import type * as pulumi from "@pulumi/pulumi";

export function providerShim(kind: string): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js").providerFor(kind).check(olds, news),
    diff: (id, olds, news) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js").providerFor(kind).diff(id, olds, news),
    create: (inputs) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js").providerFor(kind).create(inputs),
    read: (id, props) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js").providerFor(kind).read(id, props),
    update: (id, olds, news) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js")
        .providerFor(kind)
        .update(id, olds, news),
    delete: (id, props) =>
      require("pulumi-netpersona/dist/provider/resources/registry.js").providerFor(kind).delete(id, props),
  };
}

export const PACKAGE_VERSION: string = require("../../package.json").version;
