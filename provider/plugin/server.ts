// pulumi-resource-netpersona: the resource providers of provider/resources (through the same registry the
// dynamic providers use, so one code path) served as a Pulumi resource provider plugin by the Node SDK's
// provider protocol server (`@pulumi/pulumi/provider` main). The engine starts it from PATH, or from the
// plugin cache after `pulumi plugin install resource netpersona <version> --file <tarball>`.
//
// What differs from the dynamic provider: state carries no serialized code (no `__provider`), and secrets
// are real: inputs arrive as secrets and the outputs the schema marks secret (and every output whose input
// was secret) go back as secrets, so the engine encrypts them without `additionalSecretOutputs`.
import type * as pulumi from "@pulumi/pulumi";

import { providerFor } from "../resources/registry";
import { PACKAGE_VERSION, withProgressSink } from "../resources/common";
import { engineAddress, engineLog, type ResourceLog } from "./engine-log";
import { unwrapProps, wrapSecrets } from "./wire";

type Props = Record<string, unknown>;

interface Schema {
  resources: Record<string, { properties?: Record<string, { secret?: boolean }> }>;
}

/** The registry's kind for each resource token schema.json declares. */
export const TOKEN_KINDS: Readonly<Record<string, string>> = {
  "netpersona:index:Persona": "persona",
  "netpersona:index:StackCa": "stack-ca",
  "netpersona:index:Agent": "agent",
  "netpersona:index:PersonaAttachment": "attachment",
  "netpersona:index:Migration": "migration",
};

/** The resource type of a URN (`urn:pulumi:stack::project::[parent$]type::name`). */
export function typeOfUrn(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4) throw new Error(`netpersona: malformed URN '${urn}'`);
  return parts[2].split("$").pop() ?? "";
}

/**
 * Inputs the TypeScript SDK adds on the program's side (sdk/agent.ts), which a program in another language
 * cannot: the plugin adds them in check, from its own installation (the agent bundle it will upload).
 */
const PROGRAM_INPUTS: Readonly<Record<string, () => Props>> = {
  agent: () => ({
    bundleHash: (require("../bootstrap/install") as typeof import("../bootstrap/install")).bundleFiles().hash,
  }),
};

/**
 * `props` without the serialized code a dynamic provider stores (`__provider`): a resource the TypeScript SDK
 * switched from the dynamic provider to the plugin (sdk/resource.ts, an alias) arrives with it in its old
 * state, and the plugin's state carries none.
 */
function withoutCode(props: Props): Props {
  const { __provider: _code, ...rest } = props;
  return rest;
}

function kindOf(urn: string): string {
  const type = typeOfUrn(urn);
  const kind = TOKEN_KINDS[type];
  if (!kind)
    throw new Error(
      `netpersona: unknown resource type '${type}' (this plugin serves ${Object.keys(TOKEN_KINDS).join(", ")})`,
    );
  return kind;
}

/**
 * The provider plugin's implementation (exported for tests; `serve` runs it). With `log`, each call's progress
 * lines go to it for the call's resource (the engine's log; without, to stdout), all delivered before the call
 * returns.
 */
export function pluginProvider(schemaText: string, log?: ResourceLog): pulumi.provider.Provider {
  const schema = JSON.parse(schemaText) as Schema;
  const reporting = async <T>(urn: string, f: () => Promise<T>): Promise<T> => {
    if (!log) return f();
    try {
      return await withProgressSink((line) => log(urn, line), f);
    } finally {
      await log.flush();
    }
  };
  /** Outputs the schema marks secret, plus the inputs that arrived secret. */
  const secretsOf = (urn: string, secretInputs: ReadonlySet<string>): Set<string> => {
    const props = schema.resources[typeOfUrn(urn)]?.properties ?? {};
    return new Set([
      ...secretInputs,
      ...Object.entries(props)
        .filter(([, p]) => p.secret === true)
        .map(([k]) => k),
    ]);
  };
  return {
    version: PACKAGE_VERSION,
    schema: schemaText,
    check: (urn, olds, news) =>
      reporting(urn, async () => {
        const o = unwrapProps(olds);
        const n = unwrapProps(news);
        const kind = kindOf(urn);
        const r = await providerFor(kind).check(o.plain, { ...PROGRAM_INPUTS[kind]?.(), ...n.plain });
        return {
          inputs: wrapSecrets(withoutCode((r.inputs ?? n.plain) as Props), n.secretKeys),
          ...(r.failures && r.failures.length > 0 && { failures: r.failures }),
        };
      }),
    diff: (id, urn, olds, news) =>
      reporting(urn, async () => {
        const r = await providerFor(kindOf(urn)).diff(id, unwrapProps(olds).plain, unwrapProps(news).plain);
        return {
          changes: r.changes,
          replaces: r.replaces ?? [],
          deleteBeforeReplace: r.deleteBeforeReplace ?? false,
        };
      }),
    create: (urn, inputs) =>
      reporting(urn, async () => {
        const n = unwrapProps(inputs);
        const r = await providerFor(kindOf(urn)).create(n.plain);
        return {
          id: r.id,
          outs: wrapSecrets(withoutCode((r.outs ?? {}) as Props), secretsOf(urn, n.secretKeys)),
        };
      }),
    read: (id, urn, props) =>
      reporting(urn, async () => {
        const p = unwrapProps(props);
        const r = await providerFor(kindOf(urn)).read(id, p.plain);
        const secrets = secretsOf(urn, p.secretKeys);
        return {
          ...(r.id !== undefined && { id: r.id }),
          props: wrapSecrets(withoutCode((r.props ?? {}) as Props), secrets),
          ...(r.inputs !== undefined && { inputs: wrapSecrets(withoutCode(r.inputs as Props), secrets) }),
        };
      }),
    update: (id, urn, olds, news) =>
      reporting(urn, async () => {
        const n = unwrapProps(news);
        const r = await providerFor(kindOf(urn)).update(id, unwrapProps(olds).plain, n.plain);
        return { outs: wrapSecrets(withoutCode((r.outs ?? n.plain) as Props), secretsOf(urn, n.secretKeys)) };
      }),
    delete: (id, urn, props) =>
      reporting(urn, async () => {
        await providerFor(kindOf(urn)).delete(id, unwrapProps(props).plain);
      }),
  };
}

/** Serves the plugin: prints the port for the engine, then answers until the engine ends the process. */
export async function serve(args: string[]): Promise<void> {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const schemaText = readFileSync(path.join(__dirname, "../../../schema.json"), "utf8");
  const { main } = await import("@pulumi/pulumi/provider");
  const engine = engineAddress(args);
  await main(pluginProvider(schemaText, engine ? engineLog(engine) : undefined), args);
}
