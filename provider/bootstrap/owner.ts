// Who an install directory belongs to. Two Agent resources pointed at the same installDir/stateDir on one file
// system (lab hosts sharing it, or two stacks on one host) would stop, overwrite and delete each other's agent.
// The install writes an owner record into both directories (the endpoint where the provider reaches the agent
// and the fingerprint of the stack CA's certificate: no secrets); the preflight reads it back: an install
// refuses, and a delete leaves in place, a directory whose record names another Agent. No record (a first install, or one made
// before records existed) is nobody's: the install proceeds and writes one.
import { createHash } from "node:crypto";

/** Written into installDir and stateDir by the install, beside the marker. */
export const OWNER_FILE = ".netpersona-owner.json";

export interface OwnerRecord {
  /** host:port where the provider reaches the agent. */
  endpoint: string;
  /** SHA-256 of the stack CA's certificate (DER), lowercase hex. */
  caFingerprint: string;
}

/** Who counts as this Agent: its endpoint and CA, and during an update also its previous ones (a port change or a
 *  CA rotation is the same Agent, whose directories still carry the old record). */
export interface OwnerSelf {
  endpoints: readonly string[];
  caFingerprints: readonly string[];
}

/** SHA-256 of the certificate's DER, as `openssl x509 -fingerprint -sha256` says it, from the PEM's base64
 *  without parsing the certificate: a delete never fails because a state's CA does not parse. */
export function caFingerprintOf(caCertPem: string): string {
  const body =
    /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/.exec(caCertPem)?.[1] ?? caCertPem;
  return createHash("sha256")
    .update(Buffer.from(body.replace(/\s+/g, ""), "base64"))
    .digest("hex");
}

export function ownerRecordOf(endpoint: string, caCertPem: string): OwnerRecord {
  return { endpoint, caFingerprint: caFingerprintOf(caCertPem) };
}

/** The file's content: one line of JSON. */
export function formatOwner(r: OwnerRecord): string {
  return `${JSON.stringify({ endpoint: r.endpoint, caFingerprint: r.caFingerprint })}\n`;
}

/** The record in a file's text, or undefined when there is none or it is not one (treated as absent). */
export function parseOwner(text: string | undefined): OwnerRecord | undefined {
  if (!text?.trim()) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== "object") return undefined;
    const { endpoint, caFingerprint } = v as Record<string, unknown>;
    if (typeof endpoint !== "string" || !endpoint) return undefined;
    if (typeof caFingerprint !== "string" || !/^[0-9a-f]{64}$/.test(caFingerprint)) return undefined;
    return { endpoint, caFingerprint };
  } catch {
    return undefined;
  }
}

/** Whether the record names this Agent (or there is none). */
export function isOwnedBy(record: OwnerRecord | undefined, self: OwnerSelf): boolean {
  return (
    record === undefined ||
    (self.endpoints.includes(record.endpoint) && self.caFingerprints.includes(record.caFingerprint))
  );
}

const who = (r: OwnerRecord) => `endpoint ${r.endpoint}, CA sha256 ${r.caFingerprint.slice(0, 16)}`;

/** Why this Agent may not install into `path` (field `installDir` or `stateDir`), or undefined when it may. */
export function ownerConflict(
  target: string,
  field: string,
  path: string,
  record: OwnerRecord | undefined,
  self: OwnerSelf,
): string | undefined {
  if (!record || isOwnedBy(record, self)) return undefined;
  const me = { endpoint: self.endpoints[0], caFingerprint: self.caFingerprints[0] };
  return (
    `${field} ${path} on ${target} holds the agent of another Agent (${who(record)}), not this one ` +
    `(${who(me)}): installing here would stop and overwrite that agent, and deleting this Agent would ` +
    `remove it. Give each host and each stack its own installDir and stateDir (lab hosts share one file ` +
    `system: labAgentArgs gives each host its own), or destroy the other stack's Agent first`
  );
}

/** The progress line of a delete that leaves a directory because another Agent owns it. */
export function leftForOwner(field: string, path: string, record: OwnerRecord): string {
  return `leaving ${field} ${path}: it holds the agent of another Agent (${who(record)}), not this one's`;
}
