// The role a certificate names, as a URI SAN `urn:netpersona:role:<role>`. Plain strings only (no x509
// parsing): the agent reads the role from the peer certificate Node gives it, and the bundle stays small.

/** provider: reads and changes hosts; agent: serves its API and opens its own feedback stream; monitoring:
 *  read-only health and metrics. */
export const ROLES = ["provider", "agent", "monitoring"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_URI_PREFIX = "urn:netpersona:role:";

export function roleUri(role: Role): string {
  return `${ROLE_URI_PREFIX}${role}`;
}

/** Every `urn:netpersona:role:*` value in a subjectAltName string as Node prints it
 *  (`IP Address:10.0.0.2, URI:urn:netpersona:role:agent`), in order. Quoted entries (Node quotes values
 *  with separators in them) never match: a role has none. */
export function rolesInSubjectAltName(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(", ")
    .filter((e) => e.startsWith(`URI:${ROLE_URI_PREFIX}`))
    .map((e) => e.slice(`URI:${ROLE_URI_PREFIX}`.length));
}

/** IP SANs in a subjectAltName string, as Node prints them (IPv6 expanded, upper case). */
export function ipsInSubjectAltName(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(", ")
    .filter((e) => e.startsWith("IP Address:"))
    .map((e) => e.slice("IP Address:".length));
}
