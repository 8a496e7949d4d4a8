// Persona: a reviewed, validated and normalised network persona. No host I/O.
import * as pulumi from "@pulumi/pulumi";

import type { CongestionControl, Persona as PersonaDefinition, QosClass } from "../provider/persona/schema";
import type { FromDiscoveryOptions, Recommendations } from "../provider/discovery/from-discovery";
import { markForbiddenKeys } from "../provider/persona/validate";
import { type NetpersonaResourceOptions, NetpersonaResource } from "./resource";
import { PACKAGE_VERSION } from "./shim";

export type { CongestionControl, PersonaDefinition, QosClass };

export interface RouteHintArgs {
  /** Destination prefix in CIDR form, e.g. `10.20.0.0/16`. */
  prefix: pulumi.Input<string>;
  /** Gateway for this prefix (defaults to the preferred gateway). */
  via?: pulumi.Input<string>;
  /** Egress device for this prefix. */
  dev?: pulumi.Input<string>;
  /** Route metric; lower wins. */
  metric?: pulumi.Input<number>;
}

export interface PersonaArgs {
  /** A display name for reviews and reports (defaults to none). */
  personaName?: pulumi.Input<string>;
  /** TCP congestion control on the routes the persona covers: `cubic`, `bbr` or `reno`. */
  congestionControl?: pulumi.Input<CongestionControl>;
  /** MTU in bytes, 576-9000. */
  mtu?: pulumi.Input<number>;
  /** Where the MTU applies: `route` (per-route `mtu lock`, default), `link`, or `both`. */
  mtuScope?: pulumi.Input<"route" | "link" | "both">;
  /** QoS: an RFC 4594 service class (marked as its DSCP) and an optional local htb priority 0-7. */
  qos?: pulumi.Input<{ class: pulumi.Input<QosClass>; htbPriority?: pulumi.Input<number> }>;
  /** DNS servers in preference order (at most 3), search domains and resolv.conf options. */
  dns?: pulumi.Input<{
    servers: pulumi.Input<pulumi.Input<string>[]>;
    search?: pulumi.Input<pulumi.Input<string>[]>;
    options?: pulumi.Input<pulumi.Input<string>[]>;
  }>;
  /** Routing hints: preferred egress gateway or device for the default route, its metric, extra prefixes. */
  routes?: pulumi.Input<{
    preferredGateway?: pulumi.Input<string>;
    preferredDevice?: pulumi.Input<string>;
    metric?: pulumi.Input<number>;
    prefixes?: pulumi.Input<pulumi.Input<RouteHintArgs>[]>;
  }>;
}

/**
 * A network persona. `pulumi preview` validates it (every problem named by field) and shows the kernel
 * changes it stands for in `summary`; attach it to hosts with `PersonaAttachment`.
 */
export class Persona extends NetpersonaResource {
  /** The normalised definition (what agents apply). */
  declare public readonly definition: pulumi.Output<PersonaDefinition>;
  /** One line per kernel change the persona stands for. */
  declare public readonly summary: pulumi.Output<string[]>;
  /** DSCP code point of the QoS class, or null when the persona sets no QoS. */
  declare public readonly dscp: pulumi.Output<number | null>;
  /** Short hash of the normalised definition. */
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly congestionControl: pulumi.Output<CongestionControl | undefined>;
  declare public readonly mtu: pulumi.Output<number | undefined>;
  declare public readonly personaName: pulumi.Output<string | null>;
  /**
   * `definition` as computed from this Persona's arguments (normalised the same way), tied to this resource:
   * it stays known during a preview in which the Persona updates, so PersonaAttachment and Migration plan
   * exactly which fields change.
   */
  public readonly plannedDefinition: pulumi.Output<PersonaDefinition>;

  /**
   * A persona recommended by discovery (`discover(agent)`): the one for `applicationClass`, or for the class
   * that moved the most bytes. Fails with the discovery's own words when it recommended nothing.
   */
  static fromDiscovery(
    name: string,
    discovery: pulumi.Input<Recommendations>,
    options: FromDiscoveryOptions = {},
    opts?: NetpersonaResourceOptions,
  ): Persona {
    const args = pulumi.output(discovery).apply((d) => {
      const { personaArgsFromDiscovery } =
        require("../provider/discovery/from-discovery") as typeof import("../provider/discovery/from-discovery");
      return personaArgsFromDiscovery(d as Recommendations, options);
    });
    // Each field an Output that may resolve to undefined (a field the recommendation leaves alone).
    const fields = Object.fromEntries(
      (["congestionControl", "mtu", "mtuScope", "qos", "dns", "routes"] as const).map((k) => [
        k,
        args.apply((a) => a[k]),
      ]),
    ) as unknown as PersonaArgs;
    return new Persona(name, { ...fields, personaName: options.applicationClass ?? name }, opts);
  }

  constructor(name: string, args: PersonaArgs, opts?: NetpersonaResourceOptions) {
    super(
      "persona",
      "Persona",
      name,
      {
        // A `__proto__` key would become a prototype in Pulumi's serializer: renamed so check refuses it.
        ...markForbiddenKeys(args ?? {}),
        netpersonaVersion: PACKAGE_VERSION,
        definition: undefined,
        summary: undefined,
        dscp: undefined,
        fingerprint: undefined,
      },
      opts,
    );
    const { validatePersona } =
      require("../provider/persona/validate") as typeof import("../provider/persona/validate");
    this.plannedDefinition = pulumi.all([this.urn, pulumi.output(args ?? {})]).apply(([, a]) => {
      const { personaName: _name, ...fields } = a as Record<string, unknown>;
      const v = validatePersona(fields);
      // Invalid: the Persona's check reports it; the raw fields make the attachment's check report it too.
      return (v.ok ? v.value : fields) as PersonaDefinition;
    });
  }
}
