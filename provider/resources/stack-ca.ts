// StackCa: the stack's certificate authority and the provider's client certificate, created by the provider.
// Private keys exist only as secret outputs. Rotation is by replacement (change `rotation`).
import { randomUUID } from "node:crypto";

import type * as pulumi from "@pulumi/pulumi";

import { issueClientCert, createCa } from "../pki";
import { issuesToFailures } from "../persona/validate";
import { stackCaInputsSchema } from "./agent-schema";
import { PACKAGE_VERSION, VERSION_KEY, fieldDiff, userInputs } from "./common";

const INPUTS = ["commonName", "validityDays", "rotation"] as const;

export const stackCaProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const raw = userInputs(news);
    const r = stackCaInputsSchema.safeParse(raw);
    if (!r.success) return { inputs: news, failures: issuesToFailures(r.error.issues, raw) };
    return { inputs: { ...r.data, [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION } };
  },

  async diff(_id, olds, news) {
    // Any change makes a new CA: certificates signed by the old one would no longer verify.
    return fieldDiff(olds, news, INPUTS, INPUTS);
  },

  async create(inputs) {
    const i = stackCaInputsSchema.parse(userInputs(inputs));
    const ca = await createCa({ commonName: i.commonName, validityDays: i.validityDays });
    const client = await issueClientCert(ca, {
      commonName: "netpersona-provider",
      validityDays: i.validityDays,
    });
    return {
      id: `ca-${randomUUID()}`,
      outs: {
        ...i,
        [VERSION_KEY]: PACKAGE_VERSION,
        certPem: ca.certPem,
        keyPem: ca.keyPem,
        clientCertPem: client.certPem,
        clientKeyPem: client.keyPem,
      },
    };
  },

  async read(id, props) {
    return { id, props };
  },
};
