// What each resource looks like to users: its token, inputs and outputs as zod schemas, and which
// properties are secret. schema.json is generated from this list (scripts/gen-schema.ts).
import { z } from "zod";

import { personaSchema } from "../persona/schema";
import { agentInputsSchema, stackCaInputsSchema } from "../resources/agent-schema";
import { attachmentInputsSchema } from "../resources/attachment-schema";
import { migrationInputsSchema } from "../resources/migration-schema";

const interfaceInfo = z
  .object({
    name: z.string(),
    mtu: z.int(),
    operState: z.string(),
    addresses: z.array(z.string()).describe("Addresses in CIDR form."),
  })
  .meta({ title: "InterfaceInfo" });

export interface ResourceSpec {
  /** The schema token, e.g. `netpersona:index:Persona`. */
  token: string;
  description: string;
  inputs: z.ZodObject;
  /** Outputs in addition to the inputs. */
  outputs: z.ZodObject;
  /** Input and output names whose values are secret. */
  secrets?: readonly string[];
}

export const RESOURCE_SPECS: readonly ResourceSpec[] = [
  {
    token: "netpersona:index:Persona",
    description:
      "A network persona: a validated, normalised definition of congestion control, MTU, QoS class, DNS preference and routing hints. No host I/O; attach it to hosts with PersonaAttachment.",
    inputs: personaSchema.extend({
      personaName: z.string().optional().describe("A display name for reviews and reports."),
    }),
    outputs: z.object({
      definition: personaSchema.describe("The normalised definition (what agents apply)."),
      summary: z.array(z.string()).describe("One line per kernel change the persona stands for."),
      dscp: z.int().nullable().describe("DSCP code point of the QoS class, or null without QoS."),
      fingerprint: z.string().describe("Short hash of the normalised definition."),
    }),
  },
  {
    token: "netpersona:index:StackCa",
    description:
      "The stack's certificate authority and the provider's client certificate. Agents accept only clients whose certificates it signed. Rotation by replacement (change `rotation`).",
    inputs: stackCaInputsSchema,
    outputs: z.object({
      certPem: z.string().describe("The CA certificate (PEM)."),
      keyPem: z.string().describe("The CA private key (PEM)."),
      clientCertPem: z.string().describe("The provider's client certificate (PEM)."),
      clientKeyPem: z.string().describe("The provider's client key (PEM)."),
    }),
    secrets: ["keyPem", "clientKeyPem"],
  },
  {
    token: "netpersona:index:Agent",
    description:
      "The netpersona agent on a host: bootstrapped over SSH with the host key pinned, reached over mutual TLS. Update upgrades it in place without touching the host's network state; delete stops and removes it.",
    inputs: agentInputsSchema,
    outputs: z.object({
      endpoint: z.string().describe("host:port of the agent's gRPC endpoint."),
      agentVersion: z.string(),
      hostname: z.string(),
      interfaces: z.array(interfaceInfo),
      livePersona: personaSchema.nullable().describe("The persona the kernel has now."),
      agentCertPem: z.string().describe("The agent's certificate, signed by the stack CA."),
      networkManagers: z
        .array(
          z
            .object({
              name: z.string().describe("NetworkManager, systemd-networkd or netplan."),
              running: z.boolean().describe("Its daemon runs (netplan: its renderer's)."),
              interfaces: z.array(z.string()).describe("Interfaces its configuration names."),
              configFiles: z.array(z.string()),
              renderer: z.string().describe("netplan: networkd or NetworkManager."),
              notes: z.array(z.string()),
            })
            .meta({ title: "NetworkManagerInfo" }),
        )
        .describe("The network managers found on the host at install or update, and what they manage."),
      networkManagerWarnings: z
        .array(z.string())
        .describe("A running manager that names the default route's interface may revert a persona there."),
      metricsUrl: z
        .string()
        .nullable()
        .describe(
          "https://HOST:PORT/metrics when `metrics` is set (Prometheus, monitoring certificate), else null.",
        ),
    }),
    secrets: ["connection", "caKeyPem", "clientKeyPem"],
  },
  {
    token: "netpersona:index:PersonaAttachment",
    description:
      "A persona applied to a host through its agent with safe apply (snapshot, apply, verify, probes, confirm). Refresh reads the kernel back; delete restores the host's pre-persona snapshot.",
    inputs: attachmentInputsSchema,
    outputs: z.object({
      live: personaSchema.describe("What the kernel has for the fields the persona manages."),
      steps: z.array(z.string()).describe("The kernel changes the last apply made."),
      changedFields: z.array(z.string()).describe("Persona fields the last update changed."),
      agentHostname: z.string(),
    }),
    secrets: ["clientKeyPem"],
  },
  {
    token: "netpersona:index:Migration",
    description:
      "A live migration of a node's network persona: a shadow persona on the destination mirrors the source before data moves, is tuned from live metrics and the source's feedback, and is blended in; ready only once the blend converged. Delete restores the destination's pre-migration state.",
    inputs: migrationInputsSchema,
    outputs: z.object({
      sessionId: z.string().describe("The session on the destination agent."),
      converged: z.boolean(),
      finalPersona: personaSchema.describe("The persona on the destination when the blend converged."),
      convergenceSeconds: z.number().describe("Seconds from the session's start to convergence."),
      history: z
        .array(
          z
            .object({
              seq: z.int(),
              time: z.string(),
              kind: z.string(),
              weight: z.number(),
              rule: z.string(),
              changes: z.array(z.string()),
              reason: z.string(),
              metrics: z.record(z.string(), z.number()).optional(),
            })
            .meta({ title: "HistoryEntry" }),
        )
        .describe("Every decision: time, metrics, rule, change, reason, blend weight."),
      metricSummary: z.record(z.string(), z.number()).describe("Mean and worst of the measured metrics."),
    }),
    secrets: ["source", "destination", "transfer"],
  },
];
