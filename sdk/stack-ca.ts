// StackCa: the stack's certificate authority; agents accept only clients whose certificates it signed.
import * as pulumi from "@pulumi/pulumi";

import { type NetpersonaResourceOptions, NetpersonaResource } from "./resource";
import { PACKAGE_VERSION } from "./shim";

export interface StackCaArgs {
  /** Common name of the CA certificate (default "netpersona stack CA"). */
  commonName?: pulumi.Input<string>;
  /** Days the certificates stay valid (default 3650). */
  validityDays?: pulumi.Input<number>;
  /** Change this value to rotate the CA (replacement; agents then get new certificates). */
  rotation?: pulumi.Input<string>;
}

/** A certificate authority for the stack's agents, plus the provider's client certificate. Keys are secret. */
export class StackCa extends NetpersonaResource {
  declare public readonly certPem: pulumi.Output<string>;
  declare public readonly keyPem: pulumi.Output<string>;
  declare public readonly clientCertPem: pulumi.Output<string>;
  declare public readonly clientKeyPem: pulumi.Output<string>;

  constructor(name: string, args: StackCaArgs = {}, opts?: NetpersonaResourceOptions) {
    super(
      "stack-ca",
      "StackCa",
      name,
      {
        ...args,
        netpersonaVersion: PACKAGE_VERSION,
        certPem: undefined,
        keyPem: undefined,
        clientCertPem: undefined,
        clientKeyPem: undefined,
      },
      { ...opts, additionalSecretOutputs: ["keyPem", "clientKeyPem"] },
    );
  }
}
