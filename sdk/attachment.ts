// PersonaAttachment: a persona applied to a host through its agent.
import * as pulumi from "@pulumi/pulumi";

import type { Agent } from "./agent";
import { Persona, type PersonaDefinition } from "./persona";
import { markForbiddenKeys } from "../provider/persona/validate";
import { type NetpersonaResourceOptions, NetpersonaResource, resourceArg } from "./resource";
import { PACKAGE_VERSION } from "./shim";

export interface PersonaAttachmentArgs {
  agent: Agent;
  /** A Persona resource, or a definition object. */
  persona: Persona | pulumi.Input<Record<string, unknown>>;
  /** Seconds the host waits for the provider's confirmation before rolling back on its own (default 60). */
  confirmTimeoutSeconds?: pulumi.Input<number>;
}

/**
 * Applies a persona to a host with safe apply: snapshot, apply, verify, probes, confirm. `pulumi refresh`
 * reads the kernel back; destroy restores the host's pre-persona snapshot.
 */
export class PersonaAttachment extends NetpersonaResource {
  /** What the kernel has for the fields the persona manages. */
  declare public readonly live: pulumi.Output<PersonaDefinition>;
  /** The kernel changes the last apply made. */
  declare public readonly steps: pulumi.Output<string[]>;
  declare public readonly persona: pulumi.Output<PersonaDefinition>;
  declare public readonly agentHostname: pulumi.Output<string>;

  constructor(name: string, args: PersonaAttachmentArgs, opts?: NetpersonaResourceOptions) {
    // plannedDefinition and plannedEndpoint stay known while the Persona or the Agent updates, so a preview
    // shows exactly what changes here.
    const persona = args.persona instanceof Persona ? args.persona.plannedDefinition : args.persona;
    const agent = resourceArg(
      "PersonaAttachment",
      name,
      "agent",
      args.agent,
      "the Agent of the host to attach to",
    );
    super(
      "attachment",
      "PersonaAttachment",
      name,
      {
        endpoint: agent.plannedEndpoint,
        caCertPem: agent.caCertPem,
        clientCertPem: agent.clientCertPem,
        clientKeyPem: agent.clientKeyPem,
        persona: markForbiddenKeys(persona),
        confirmTimeoutSeconds: args.confirmTimeoutSeconds,
        netpersonaVersion: PACKAGE_VERSION,
        live: undefined,
        steps: undefined,
        changedFields: undefined,
        agentHostname: undefined,
      },
      { ...opts, additionalSecretOutputs: ["clientKeyPem"] },
    );
  }
}
