// What each resource looks like to users: its token, inputs and outputs as zod schemas, and which
// properties are secret. schema.json is generated from this list (scripts/gen-schema.ts).
import { z } from "zod";

import { personaSchema } from "../persona/schema";

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
];
