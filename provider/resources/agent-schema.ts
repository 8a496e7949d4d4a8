// Inputs of the Agent and StackCa resources: one zod schema each, defaults given once.
import { isIP } from "node:net";

import { z } from "zod";

import { parseAllowList } from "../agent/session/echo-allow";
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

/** Most entries of `echo.allow`: it is one argument of the agent's command line; wider prefixes cover more. */
export const ECHO_ALLOW_MAX = 64;

/** One `echo.allow` entry: what the agent's `--echo-allow` takes (its own parser), one entry per element. */
const echoAllowEntry = z.string().superRefine((e, ctx) => {
  let ok = e !== "" && !/[\s,]/.test(e);
  try {
    if (ok) parseAllowList(e);
  } catch {
    ok = false;
  }
  if (!ok) {
    const fix =
      "give an IP address or a CIDR prefix, one per element (e.g. 10.0.0.0/24, 10.0.1.5 or fd00::/64)";
    ctx.addIssue({
      code: "custom",
      message: `'${e.slice(0, 80)}' is not an IP address or CIDR prefix: ${fix}`,
    });
  }
});

// The agent's UDP echo responder (the peers' probes of this host): where it listens and whom it answers
// besides the agent's session peers and the peers it probes itself (docs/security.md, "Echo responder").
const echoSchema = z
  .strictObject({
    address: z
      .string()
      .refine(
        (v) => isIP(v) !== 0 && v !== "0.0.0.0" && v !== "::",
        "must be one concrete IPv4 or IPv6 address of the host (not 0.0.0.0 or ::), e.g. 10.0.1.10",
      )
      .optional()
      .describe(
        "Address the echo responder listens on (the agent's --echo-address). Default: the listen address, or for a 0.0.0.0/:: listener the default route's source address.",
      ),
    allow: z
      .array(echoAllowEntry)
      .max(ECHO_ALLOW_MAX, `must list at most ${ECHO_ALLOW_MAX} entries: use wider CIDR prefixes`)
      .optional()
      .describe(
        "Addresses and CIDR prefixes (e.g. 10.0.0.0/24, fd00::7) whose echo probes are answered besides the agent's session peers and the peers it probes itself: monitoring probers, probes between hosts outside a session (the agent's --echo-allow). Default: none.",
      ),
  })
  .meta({ title: "AgentEcho" });

/** Default TCP port of the agent's HTTPS metrics endpoint. */
export const DEFAULT_METRICS_PORT = 9447;

// The agent's Prometheus endpoint (docs/monitoring.md): HTTPS, client certificates of the monitoring or
// provider role. Present turns it on.
const metricsSchema = z
  .strictObject({
    port: z
      .int()
      .min(1)
      .max(65535)
      .default(DEFAULT_METRICS_PORT)
      .describe(`TCP port of the HTTPS metrics endpoint (default ${DEFAULT_METRICS_PORT}).`),
    address: z
      .string()
      .refine((v) => isIP(v) !== 0, "must be an IP address of the host, e.g. 10.0.1.10")
      .optional()
      .describe("Address the metrics endpoint listens on (default: the agent's listen address)."),
  })
  .meta({ title: "AgentMetrics" });

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
    echo: echoSchema
      .optional()
      .describe(
        "The agent's UDP echo responder, which peers probe for RTT and loss: its address and whom it answers besides session peers.",
      ),
    metrics: metricsSchema
      .optional()
      .describe(
        "Serve the agent's measurements to Prometheus over HTTPS (the agent's --metrics-listen); scrapers need a monitoring certificate (`netpersona monitoring-cert`). Absent: off.",
      ),
  })
  .superRefine((a, ctx) => {
    if (
      a.metrics &&
      a.metrics.port === a.port &&
      (a.metrics.address ?? a.listenAddress) === a.listenAddress
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["metrics", "port"],
        message: `must differ from port (${a.port}): the agent's gRPC API already listens there`,
      });
    }
    if (a.installDir === a.stateDir) {
      ctx.addIssue({ code: "custom", path: ["stateDir"], message: "must differ from installDir" });
    }
  });

export type AgentInputs = z.output<typeof agentInputsSchema>;
