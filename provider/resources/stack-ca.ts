// StackCa: the stack's certificate authority and the provider's client certificate, created by the provider.
// Private keys exist only as secret outputs. Rotation is by replacement (change `rotation`).
import { randomUUID } from "node:crypto";

import type * as pulumi from "@pulumi/pulumi";

import { issueClientCert, createCa } from "../pki";
import { issuesToFailures, parseWith } from "../persona/validate";
import { stackCaInputsSchema } from "./agent-schema";
import { PACKAGE_VERSION, VERSION_KEY, fieldDiff, userInputs } from "./common";

const INPUTS = ["commonName", "validityDays", "rotation"] as const;

export const stackCaProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const raw = userInputs(news);
    const r = parseWith(stackCaInputsSchema, raw);
    if (!r.success) return { inputs: news, failures: issuesToFailures(r.error.issues, raw) };
    return { inputs: { ...r.data, [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION } };
  },

  async diff(_id, olds, news) {
    // Any change makes a new CA: certificates signed by the old one would no longer verify.
    const d = fieldDiff(olds, news, INPUTS, INPUTS);
    // Same CA, new provider certificate: when a third of its life is left, or it names no role.
    const { renewalDue } = await import("../pki");
    return !d.changes && renewalDue(olds.clientCertPem as string | undefined) ? { ...d, changes: true } : d;
  },

  async update(_id, olds) {
    // Reached only for the renewal above (any input change replaces the CA): a new provider certificate
    // from the same CA. Agents take it as clientCertPem, so they update too and get new certificates.
    const ca = { certPem: String(olds.certPem), keyPem: String(olds.keyPem) };
    const client = await issueClientCert(ca, { commonName: "netpersona-provider" });
    return {
      outs: {
        ...olds,
        [VERSION_KEY]: PACKAGE_VERSION,
        clientCertPem: client.certPem,
        clientKeyPem: client.keyPem,
      },
    };
  },

  async create(inputs) {
    const i = stackCaInputsSchema.parse(userInputs(inputs));
    const ca = await createCa({ commonName: i.commonName, validityDays: i.validityDays });
    // The provider's certificate lives 90 days (never longer than the CA), renewed by update.
    const client = await issueClientCert(ca, { commonName: "netpersona-provider" });
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
