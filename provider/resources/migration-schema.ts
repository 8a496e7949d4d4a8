// Inputs of the Migration resource: one zod schema, defaults given once.
import { isIP } from "node:net";

import { z } from "zod";

import { connectionSchema } from "../ssh/connection";

const agentRef = (which: string) =>
  z
    .strictObject({
      endpoint: z
        .string()
        .regex(
          /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
          "must be host:port of the agent (Agent.endpoint)",
        ),
      caCertPem: z.string().min(1, "set it to the Agent's caCertPem"),
      clientCertPem: z.string().min(1, "set it to the Agent's clientCertPem"),
      clientKeyPem: z.string().min(1, "set it to the Agent's clientKeyPem"),
    })
    .describe(`The ${which} agent (an Agent resource).`)
    .meta({ title: "AgentRef" });

export const transferSchema = z
  .strictObject({
    command: z
      .array(z.string().max(4096))
      .min(1, 'give the program and its arguments, e.g. ["rsync", "-a", "/srv/", "10.0.2.10:/srv/"]')
      .max(256)
      .describe("The data transfer, as an argument vector run over SSH while the session runs."),
    connection: connectionSchema.describe("Where the transfer runs (usually the source host)."),
    timeoutSeconds: z.int().min(1).max(86400).default(3600).describe("The transfer fails after this long."),
  })
  .describe("An optional data transfer run over SSH while the migration session runs.")
  .meta({ title: "Transfer" });

export const migrationInputsSchema = z.strictObject({
  migrationName: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, "must be 1-40 letters, digits, '_', '.', '-'")
    .describe("Name of the migration (the resource name), part of its session id."),
  source: agentRef("source"),
  destination: agentRef("destination"),
  persona: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The persona to migrate; defaults to the source's live persona."),
  targetPersona: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "The persona the blend moves towards (e.g. the destination network's preferred gateway: weighted ECMP between both gateways while blending); defaults to the migrated persona.",
    ),
  peer: z
    .string()
    .refine((v) => isIP(v) !== 0, "must be the IP address the migrated node talks to (its main peer)")
    .describe("The migrated node's peer: the destination measures latency, loss and path MTU towards it."),
  policy: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("The adjustment policy: thresholds, dwell, schedule, gates, failure limit, maximum duration."),
  transfer: transferSchema.optional(),
});

export type MigrationInputs = z.output<typeof migrationInputsSchema>;
