// The stack PKI: one CA per stack, server certificates for agents, client certificates for the provider and
// for monitoring. Every leaf names its role in a URI SAN (`urn:netpersona:role:<role>`, see roles.ts), which
// the agent checks on every call. Leaves are short-lived and never outlive the CA.
// Everything is ECDSA P-256 / SHA-256, built with @peculiar/x509 over node:crypto (never openssl).
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";

import {
  SIGNING_ALGORITHM,
  certificateFromPem,
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  randomSerial,
  x509,
} from "./keys";
import { roleUri, rolesInSubjectAltName, type Role } from "./roles";

/** A certificate and its private key, both PEM. The key is a secret: keep it out of logs and plain state. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  /** Days the certificate stays valid (default: CA 3650, agents 30, provider 90, monitoring 30); a leaf
   *  never outlives its CA (its end is cut to the CA's). */
  validityDays?: number;
  /** Start of validity (default: now minus 5 minutes, to absorb clock skew between hosts). */
  notBefore?: Date;
}

export interface CaOptions extends Validity {
  commonName: string;
}

export interface AgentCertOptions extends Validity {
  commonName: string;
  /** IPv4/IPv6 addresses the agent is reached at; each becomes an IP SAN. */
  ips?: string[];
  /** DNS names the agent is reached at; each becomes a DNS SAN. */
  dnsNames?: string[];
}

export interface ClientCertOptions extends Validity {
  commonName: string;
}

const DNS_NAME_RE =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const CN_OID = "2.5.4.3";
const SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Default validity of each kind of certificate, in days. Agents are renewed on every Agent update and
 *  whenever less than a third of their validity is left (renewalDue); so is the provider's. */
export const DEFAULT_VALIDITY_DAYS = { ca: 3650, agent: 30, provider: 90, monitoring: 30 } as const;

function subjectName(commonName: string): x509.JsonName {
  if (
    commonName.length < 1 ||
    commonName.length > 64 ||
    [...commonName].some((c) => c.charCodeAt(0) < 0x20)
  ) {
    throw new Error(`commonName must be 1-64 printable characters, got ${JSON.stringify(commonName)}`);
  }
  return [{ [CN_OID]: [commonName] }];
}

function period(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = v.validityDays ?? defaultDays;
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new Error(`validityDays must be a whole number of days between 1 and 36500, got ${days}`);
  }
  const notBefore = v.notBefore ?? new Date(Date.now() - SKEW_MS);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

/** Creates the stack CA: self-signed, CA:true (critical), keyCertSign + cRLSign (critical). */
export async function createCa(opts: CaOptions): Promise<CertifiedKey> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(opts.commonName),
    ...period(opts, DEFAULT_VALIDITY_DAYS.ca),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

async function issueLeaf(
  ca: CertifiedKey,
  commonName: string,
  role: Role,
  validity: Validity,
  usages: x509.ExtendedKeyUsage[],
  names: x509.JsonGeneralName[],
): Promise<CertifiedKey> {
  const sans: x509.JsonGeneralName[] = [...names, { type: "url", value: roleUri(role) }];
  const caCert = certificateFromPem(ca.certPem);
  const caKey = await privateKeyFromPem(ca.keyPem);
  const keys = await generateKeyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const p = period(validity, DEFAULT_VALIDITY_DAYS[role]);
  if (p.notAfter > caCert.notAfter) p.notAfter = caCert.notAfter;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(commonName),
    issuer: caCert.subject,
    ...p,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

/** An agent's certificate, role agent: serverAuth (it serves the API) and clientAuth (it opens the feedback
 *  stream to a source agent), SANs exactly the given addresses and names, in that order (IPs first), then
 *  the role URI. */
export async function issueAgentCert(ca: CertifiedKey, opts: AgentCertOptions): Promise<CertifiedKey> {
  const ips = opts.ips ?? [];
  const dnsNames = opts.dnsNames ?? [];
  for (const ip of ips) if (isIP(ip) === 0) throw new Error(`ips: '${ip}' is not an IPv4 or IPv6 address`);
  for (const d of dnsNames) if (!DNS_NAME_RE.test(d)) throw new Error(`dnsNames: '${d}' is not a DNS name`);
  if (ips.length + dnsNames.length === 0)
    throw new Error("an agent certificate needs at least one IP or DNS name");
  const sans: x509.JsonGeneralName[] = [
    ...ips.map((value) => ({ type: "ip" as const, value })),
    ...dnsNames.map((value) => ({ type: "dns" as const, value: value.toLowerCase() })),
  ];
  const usages = [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  return issueLeaf(ca, opts.commonName, "agent", opts, usages, sans);
}

/** The provider's client certificate, role provider: clientAuth only, the role URI its only SAN. */
export async function issueClientCert(ca: CertifiedKey, opts: ClientCertOptions): Promise<CertifiedKey> {
  return issueLeaf(ca, opts.commonName, "provider", opts, [x509.ExtendedKeyUsage.clientAuth], []);
}

/** A monitoring client certificate, role monitoring (health and metrics only): clientAuth only. */
export async function issueMonitoringCert(ca: CertifiedKey, opts: ClientCertOptions): Promise<CertifiedKey> {
  return issueLeaf(ca, opts.commonName, "monitoring", opts, [x509.ExtendedKeyUsage.clientAuth], []);
}

/** Why a leaf certificate must be re-issued now, or undefined while it is good: it names no role (issued
 *  before roles), it expired, or less than a third of its validity is left. */
export function renewalDue(certPem: string | undefined, now = Date.now()): string | undefined {
  if (!certPem) return "there is no certificate";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return `the certificate cannot be read (${(err as Error).message})`;
  }
  if (rolesInSubjectAltName(cert.subjectAltName).length !== 1) {
    return "the certificate names no role (issued before roles)";
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now >= to) return `the certificate expired at ${new Date(to).toISOString()}`;
  if (to - now < (to - from) / 3) {
    return `less than a third of the certificate's validity is left (it expires at ${new Date(to).toISOString()})`;
  }
  return undefined;
}
