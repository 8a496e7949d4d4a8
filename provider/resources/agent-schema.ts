// Inputs of the Agent and StackCa resources: one zod schema each, defaults given once.
import { isIP } from "node:net";

import { z } from "zod";

import { systemDirReason } from "../bootstrap/paths";
import { connectionSchema } from "../ssh/connection";

const absPath = z
  .string()
  .regex(/^(\/[A-Za-z0-9._-]+)+$/, "must be an absolute path of letters, digits, '.', '_', '-' (no spaces)")
  .refine((p) => !p.split("/").includes(".."), "must not contain '..'");

// Deleting the Agent removes its directories: a system directory is refused here, by name.
const agentDir = absPath.superRefine((p, ctx) => {
  const why = systemDirReason(p);
  if (why) ctx.addIssue({ code: "custom", message: why });
});

const pem = (what: string) =>
  z.string().regex(/^-----BEGIN [A-Z ]+-----\r?\n[\s\S]+-----END [A-Z ]+-----\s*$/, `must be a PEM ${what}`);

export const stackCaInputsSchema = z.strictObject({
  commonName: z
    .string()
    .min(1)
    .max(64)
    .default("netpersona stack CA")
    .describe("Common name of the CA certificate."),
  validityDays: z.int().min(1).max(36500).default(3650).describe("Days the certificates stay valid."),
  rotation: z
    .string()
    .default("")
    .describe(
      "Change this value to rotate: the CA and its certificates are replaced (agents then re-enroll).",
    ),
});

export const agentInputsSchema = z
  .strictObject({
    connection: connectionSchema,
    caCertPem: pem("certificate").describe("The stack CA certificate (StackCa.certPem)."),
    caKeyPem: pem("private key").describe(
      "The stack CA key (StackCa.keyPem), to sign the agent's certificate.",
    ),
    clientCertPem: pem("certificate").describe("The provider's client certificate (StackCa.clientCertPem)."),
    clientKeyPem: pem("private key").describe("The provider's client key (StackCa.clientKeyPem)."),
    port: z.int().min(1).max(65535).default(7443).describe("TCP port the agent listens on (default 7443)."),
    listenAddress: z
      .string()
      .refine((v) => isIP(v) !== 0, "must be an IP address of the host")
      .optional()
      .describe("Address the agent listens on (default: connection.host when it is an IP, else 0.0.0.0)."),
    serviceManager: z
      .enum(["auto", "systemd", "supervisor"], { error: "must be one of: auto, systemd, supervisor" })
      .default("auto")
      .describe("How the agent is kept running: systemd where it runs (auto), else a supervisor process."),
    installDir: agentDir
      .default("/opt/netpersona")
      .describe(
        "Where the agent's files go: owned by root and writable only by root, every component of the path (checked on the host).",
      ),
    stateDir: agentDir
      .default("/var/lib/netpersona")
      .describe("Where the agent keeps its state (same rules as installDir)."),
    resolvConfPath: absPath
      .optional()
      .describe("The resolv.conf this host's processes read, when not /etc/resolv.conf (e.g. a lab host)."),
    nodePath: z
      .string()
      .regex(/^(node|\/[A-Za-z0-9._/-]+)$/, "must be 'node' or an absolute path to node")
      .default("node")
      .describe("The node (>= 20) that runs the agent on the host."),
  })
  .superRefine((a, ctx) => {
    if (a.installDir === a.stateDir) {
      ctx.addIssue({ code: "custom", path: ["stateDir"], message: "must differ from installDir" });
    }
  });

export type AgentInputs = z.output<typeof agentInputsSchema>;
