// Inputs of the PersonaAttachment resource.
import { z } from "zod";

import { personaSchema } from "../persona/schema";

export const attachmentInputsSchema = z.strictObject({
  endpoint: z
    .string()
    .regex(
      /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
      "must be host:port of the agent (Agent.endpoint)",
    ),
  caCertPem: z.string().min(1, "set it to StackCa.certPem"),
  clientCertPem: z.string().min(1, "set it to StackCa.clientCertPem"),
  clientKeyPem: z.string().min(1, "set it to StackCa.clientKeyPem"),
  persona: personaSchema.describe("The persona to apply (Persona.definition)."),
  confirmTimeoutSeconds: z
    .int()
    .min(5)
    .max(3600)
    .default(60)
    .describe("The host rolls back unless the provider confirms within this time (default 60)."),
});

// check() validates the persona itself with validatePersona, so that its messages name `persona.<field>`.
export const attachmentShapeSchema = attachmentInputsSchema.extend({
  persona: z.record(z.string(), z.unknown()),
});
