// Migration: a node's network persona follows it to its destination, tuned live and blended in gradually.
import * as pulumi from "@pulumi/pulumi";

import type { PolicyInput } from "../provider/engine/policy";
import type { HistoryEntry } from "../provider/resources/migration";
import type { Agent, ConnectionArgs } from "./agent";
import { Persona, type PersonaDefinition } from "./persona";
import { markForbiddenKeys } from "../provider/persona/validate";
import { type NetpersonaResourceOptions, NetpersonaResource, resourceArg } from "./resource";
import { PACKAGE_VERSION } from "./shim";

export type { HistoryEntry, PolicyInput };

export interface MigrationArgs {
  source: Agent;
  destination: Agent;
  /** The persona to migrate (a Persona or a definition); defaults to the source's live persona. */
  persona?: Persona | pulumi.Input<Record<string, unknown>>;
  /** The persona the blend moves towards (e.g. the destination's preferred gateway: weighted ECMP between
   *  both gateways while blending); defaults to the migrated persona. */
  targetPersona?: Persona | pulumi.Input<Record<string, unknown>>;
  /** The migrated node's main peer: the destination measures latency, loss and path MTU towards it. */
  peer: pulumi.Input<string>;
  /** Thresholds (with hysteresis), dwell, probe interval, blend schedule, gates, failure limit, maximum duration. */
  policy?: pulumi.Input<PolicyInput>;
  /** A data transfer (argument vector) run over SSH while the session runs, e.g. rsync of the node's data. */
  transfer?: pulumi.Input<{
    command: pulumi.Input<pulumi.Input<string>[]>;
    connection: pulumi.Input<ConnectionArgs>;
    timeoutSeconds?: pulumi.Input<number>;
  }>;
}

/**
 * A live migration of a node's network persona. `pulumi up` returns only once the blend on the destination
 * has converged; a session that cannot converge rolls the destination back and fails with its history.
 * Destroy restores the destination's pre-migration state.
 */
export class Migration extends NetpersonaResource {
  declare public readonly sessionId: pulumi.Output<string>;
  declare public readonly converged: pulumi.Output<boolean>;
  /** The persona on the destination when the blend converged. */
  declare public readonly finalPersona: pulumi.Output<PersonaDefinition>;
  declare public readonly convergenceSeconds: pulumi.Output<number>;
  /** Every decision: time, metrics, rule, change, reason, blend weight. */
  declare public readonly history: pulumi.Output<HistoryEntry[]>;
  declare public readonly metricSummary: pulumi.Output<Record<string, number>>;

  constructor(name: string, args: MigrationArgs, opts?: NetpersonaResourceOptions) {
    const agentRef = (a: Agent) => ({
      endpoint: a.plannedEndpoint,
      caCertPem: a.caCertPem,
      clientCertPem: a.clientCertPem,
      clientKeyPem: a.clientKeyPem,
    });
    // Planned values stay known while an Agent or Persona updates: a preview plans exactly.
    const persona = args.persona instanceof Persona ? args.persona.plannedDefinition : args.persona;
    const targetPersona =
      args.targetPersona instanceof Persona ? args.targetPersona.plannedDefinition : args.targetPersona;
    super(
      "migration",
      "Migration",
      name,
      {
        migrationName: name,
        source: pulumi.secret(
          agentRef(resourceArg("Migration", name, "source", args.source, "the source host's Agent")),
        ),
        destination: pulumi.secret(
          agentRef(
            resourceArg("Migration", name, "destination", args.destination, "the destination host's Agent"),
          ),
        ),
        persona: markForbiddenKeys(persona),
        targetPersona: markForbiddenKeys(targetPersona),
        peer: args.peer,
        policy: markForbiddenKeys(args.policy),
        transfer: args.transfer ? pulumi.secret(args.transfer) : undefined,
        netpersonaVersion: PACKAGE_VERSION,
        sessionId: undefined,
        converged: undefined,
        finalPersona: undefined,
        convergenceSeconds: undefined,
        history: undefined,
        metricSummary: undefined,
      },
      { ...opts, additionalSecretOutputs: ["source", "destination", "transfer"] },
    );
  }
}
