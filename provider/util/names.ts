// Validation of every name that can reach a command line: namespaces, interfaces, lab and host names.
// Checked before use, so nothing odd (spaces, slashes, leading dashes, shell metacharacters) is ever passed on.

/** Linux interface names: 1-15 bytes, no '/', ':', whitespace; we also refuse a leading '-' or '.'. */
export const IFNAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
/** Lab and host names: lower-case letters, digits and '-', starting with a letter, at most 12 characters
 *  (so that derived interface names like `<lab>-<host>` stay within Linux's 15-byte limit elsewhere). */
export const LABNAME_RE = /^[a-z][a-z0-9-]{0,11}$/;

export function checkIfname(field: string, value: string): string {
  if (!IFNAME_RE.test(value) || value === "." || value === "..") {
    throw new Error(
      `${field}: '${value}' is not a valid interface name: use 1-15 characters of letters, digits, '_', '.', '-', not starting with '-' or '.'`,
    );
  }
  return value;
}

export function checkLabName(field: string, value: string): string {
  if (!LABNAME_RE.test(value)) {
    throw new Error(
      `${field}: '${value}' is not a valid name: use 1-12 characters of a-z, 0-9 and '-', starting with a letter`,
    );
  }
  return value;
}
