// Agent: the netpersona agent bootstrapped on a host over SSH, reached over mutual TLS.
import * as pulumi from "@pulumi/pulumi";

import type { PersonaDefinition } from "./persona";
import { type NetpersonaResourceOptions, NetpersonaResource, resourceArg } from "./resource";
import { PACKAGE_VERSION } from "./shim";
import type { StackCa } from "./stack-ca";

/** How to reach a host over SSH; mirrors @pulumi/command's remote.Connection. Stored as a secret. */
export interface ConnectionArgs {
  host: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  user?: pulumi.Input<string>;
  privateKey?: pulumi.Input<string>;
  privateKeyPassword?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  /** The host's public key (`ssh-ed25519 AAAA...`): any other key is refused. Required unless insecure. */
  hostKey?: pulumi.Input<string>;
  /** A bastion to connect through. */
  proxy?: pulumi.Input<
    Omit<ConnectionArgs, "proxy" | "dialErrorLimit" | "perDialTimeout" | "insecureSkipHostKeyCheck">
  >;
  /** Dial attempts before failing (default 10). */
  dialErrorLimit?: pulumi.Input<number>;
  /** Seconds one dial may take (default 15). */
  perDialTimeout?: pulumi.Input<number>;
  /** Accept any host key: only for throw-away hosts. */
  insecureSkipHostKeyCheck?: pulumi.Input<boolean>;
}

export interface AgentArgs {
  connection: pulumi.Input<ConnectionArgs>;
  /** The stack CA: signs the agent's certificate and the provider's client certificate. */
  ca: StackCa;
  /** TCP port of the agent (default 7443). */
  port?: pulumi.Input<number>;
  /** Address the agent listens on (default connection.host when it is an IP). */
  listenAddress?: pulumi.Input<string>;
  /** `auto` (systemd where it runs in the host's namespace, else a supervisor), `systemd` or `supervisor`. */
  serviceManager?: pulumi.Input<"auto" | "systemd" | "supervisor">;
  installDir?: pulumi.Input<string>;
  stateDir?: pulumi.Input<string>;
  /** The resolv.conf the host's processes read, when not /etc/resolv.conf (lab hosts). */
  resolvConfPath?: pulumi.Input<string>;
  /** node (>= 20) on the host (default `node` on PATH). */
  nodePath?: pulumi.Input<string>;
  /** The agent's UDP echo responder, which peers probe for RTT and loss. */
  echo?: pulumi.Input<AgentEchoArgs>;
  /** Serve the agent's measurements to Prometheus over HTTPS (`--metrics-listen`); absent: off. Scrapers
   *  present a certificate of the monitoring role (`netpersona monitoring-cert`). */
  metrics?: pulumi.Input<AgentMetricsArgs>;
}

/** The agent's Prometheus endpoint (docs/monitoring.md). A change restarts the agent in place. */
export interface AgentMetricsArgs {
  /** TCP port (default 9447). */
  port?: pulumi.Input<number>;
  /** Address it listens on (default: the agent's listen address). */
  address?: pulumi.Input<string>;
}

/** Where the agent's echo responder listens and whom it answers besides its session peers and the peers it
 *  probes itself (docs/security.md, "Echo responder"). A change restarts the agent in place. */
export interface AgentEchoArgs {
  /** A concrete address of the host (`--echo-address`; default: the listen address, or for a 0.0.0.0
   *  listener the default route's source address). */
  address?: pulumi.Input<string>;
  /** IP addresses and CIDR prefixes, e.g. `["10.0.0.0/24", "fd00::7"]` (`--echo-allow`): monitoring
   *  probers, probes between hosts outside a session. Default: none. */
  allow?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A network manager on the host and what its configuration names. */
export interface NetworkManagerInfo {
  name: "NetworkManager" | "systemd-networkd" | "netplan";
  running: boolean;
  interfaces: string[];
  configFiles: string[];
  /** netplan: "networkd" or "NetworkManager". */
  renderer: string;
  notes: string[];
}

export interface InterfaceInfo {
  name: string;
  mtu: number;
  operState: string;
  addresses: string[];
}

/**
 * The agent on one host. A new package version (or agent bundle) upgrades it in place: stop, upload, start;
 * the host's network state and the agent's state directory are untouched. `pulumi refresh` records a daemon
 * that does not answer as `running: false`, and the next `pulumi up` restarts it over SSH.
 */
export class Agent extends NetpersonaResource {
  /** host:port of the agent's gRPC endpoint. */
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly agentVersion: pulumi.Output<string>;
  declare public readonly hostname: pulumi.Output<string>;
  declare public readonly interfaces: pulumi.Output<InterfaceInfo[]>;
  /** The persona the kernel had when the agent was installed or updated (PersonaAttachment.live has it now). */
  declare public readonly livePersona: pulumi.Output<PersonaDefinition | null>;
  /** NetworkManager, systemd-networkd and netplan as found on the host at install or update. */
  declare public readonly networkManagers: pulumi.Output<NetworkManagerInfo[]>;
  /** One line per running manager that names the default route's interface: it may revert a persona there. */
  declare public readonly networkManagerWarnings: pulumi.Output<string[]>;
  /** `https://HOST:PORT/metrics` when `metrics` is set, else null. */
  declare public readonly metricsUrl: pulumi.Output<string | null>;
  /** Whether the daemon answered at the last install, update or refresh. */
  declare public readonly running: pulumi.Output<boolean>;
  /**
   * `endpoint` as computed from this Agent's arguments, tied to this resource (users of it wait for it): it
   * stays known during a preview in which the Agent updates, so that the resources using it plan exactly.
   */
  public readonly plannedEndpoint: pulumi.Output<string>;
  declare public readonly caCertPem: pulumi.Output<string>;
  declare public readonly clientCertPem: pulumi.Output<string>;
  declare public readonly clientKeyPem: pulumi.Output<string>;

  constructor(name: string, args: AgentArgs, opts?: NetpersonaResourceOptions) {
    const { ca: caArg, connection, ...rest } = args;
    const ca = resourceArg("Agent", name, "ca", caArg, 'the stack\'s StackCa (new StackCa("ca"))');
    const { bundleFiles } =
      require("../provider/bootstrap/install") as typeof import("../provider/bootstrap/install");
    super(
      "agent",
      "Agent",
      name,
      {
        ...rest,
        connection: pulumi.secret(connection),
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        clientCertPem: ca.clientCertPem,
        clientKeyPem: ca.clientKeyPem,
        bundleHash: bundleFiles().hash,
        netpersonaVersion: PACKAGE_VERSION,
        endpoint: undefined,
        agentVersion: undefined,
        hostname: undefined,
        interfaces: undefined,
        livePersona: undefined,
        agentCertPem: undefined,
        metricsUrl: undefined,
        networkManagers: undefined,
        networkManagerWarnings: undefined,
        running: undefined,
      },
      { ...opts, additionalSecretOutputs: ["connection", "caKeyPem", "clientKeyPem"] },
    );
    const { endpointOf } =
      require("../provider/resources/agent") as typeof import("../provider/resources/agent");
    const host = pulumi.unsecret(pulumi.output(connection).apply((c) => c?.host ?? ""));
    this.plannedEndpoint = pulumi
      .all([this.urn, host, args.port, args.listenAddress])
      .apply(([, h, port, listen]) => endpointOf(h, port, listen));
  }
}
