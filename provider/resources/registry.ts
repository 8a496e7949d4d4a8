// The registry of resource providers. The serialized shim in state requires this module by package name
// and looks a provider up by kind, so provider code is loaded lazily and never serialized by value.
import type * as pulumi from "@pulumi/pulumi";

import { engineFailures, userInputs, wireSafe } from "./common";
import { forbiddenKeyFailures } from "../persona/validate";

interface Entry {
  provider: pulumi.dynamic.ResourceProvider;
  /** Top-level inputs that may hold secrets: a check failure never names them as `property`. */
  secrets: readonly string[];
}

const loaders: Record<string, () => Entry> = {
  persona: () => ({ provider: require("./persona").personaProvider, secrets: [] }),
  "stack-ca": () => ({ provider: require("./stack-ca").stackCaProvider, secrets: [] }),
  agent: () => ({ provider: require("./agent").agentProvider, secrets: require("./agent").AGENT_SECRETS }),
  attachment: () => ({
    provider: require("./attachment").attachmentProvider,
    secrets: require("./attachment").ATTACHMENT_SECRETS,
  }),
  migration: () => ({
    provider: require("./migration").migrationProvider,
    secrets: require("./migration").MIGRATION_SECRETS,
  }),
};

type Props = Record<string, unknown>;

/** The provider of `kind`, with the optional methods filled in, since the shim calls every one of them:
 *  `read` keeps the recorded state, `delete` has nothing outside the state to remove, and `update` is
 *  only reached when `diff` allowed an in-place change. Every result passes `wireSafe` (no undefined ever
 *  reaches the engine) and check failures are put in the form the engine prints (`engineFailures`). */
export function providerFor(kind: string): Required<pulumi.dynamic.ResourceProvider> {
  const load = loaders[kind];
  if (!load)
    throw new Error(`netpersona: unknown resource kind '${kind}' (state written by a newer version?)`);
  const { provider: p, secrets } = load();
  const safe = (v: unknown, where: string) => wireSafe(v, `${kind}.${where}`) as Props;
  return {
    async check(olds, news) {
      const forbidden = forbiddenKeyFailures(userInputs(news ?? {}));
      const r = p.check ? await p.check(olds, news) : { inputs: news };
      const failures = [...forbidden, ...(r.failures ?? [])];
      return {
        inputs: safe(r.inputs ?? news, "check.inputs"),
        ...(failures.length > 0 && { failures: engineFailures(failures, news ?? {}, secrets) }),
      };
    },
    async diff(id, olds, news) {
      const r = p.diff ? await p.diff(id, olds, news) : {};
      return safe(r, "diff") as pulumi.dynamic.DiffResult;
    },
    async create(inputs) {
      const r = await p.create(inputs);
      return { id: r.id, outs: safe(r.outs ?? {}, "create.outs") };
    },
    async read(id, props) {
      if (!p.read) return { id, props };
      const r = await p.read(id, props);
      return {
        ...(r.id !== undefined && { id: r.id }),
        ...(r.props !== undefined && { props: safe(r.props, "read.props") }),
        ...(r.inputs !== undefined && { inputs: safe(r.inputs, "read.inputs") }),
      };
    },
    async update(id, olds, news) {
      const r = p.update ? await p.update(id, olds, news) : { outs: news };
      return { outs: safe(r.outs ?? news, "update.outs") };
    },
    delete: p.delete ?? (async () => {}),
    configure: p.configure ?? (async () => {}),
  };
}
