// DNS preference through resolv.conf: parse, render, and capture/restore the file exactly (content, mode,
// or a symlink, or its absence). The path is the one the host's processes read (see controller options).
import { chmod, lstat, readFile, readlink, rm, symlink } from "node:fs/promises";

import type { Persona } from "../../persona/schema";
import { canonicalIp } from "../../persona/schema";
import { writeFileAtomic } from "./atomic";
import { readTextIfExists } from "../../util/files";

export type Dns = NonNullable<Persona["dns"]>;

export type ResolvFile =
  { kind: "absent" } | { kind: "symlink"; target: string } | { kind: "file"; mode: number; base64: string };

export async function readResolvFile(path: string): Promise<ResolvFile> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return { kind: "symlink", target: await readlink(path) };
    return { kind: "file", mode: st.mode & 0o7777, base64: (await readFile(path)).toString("base64") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw err;
  }
}

/** The DNS settings the file gives (following a symlink), as the persona spells them. */
export async function readResolvDns(path: string): Promise<Dns | undefined> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseResolv(text);
}

export function parseResolv(text: string): Dns | undefined {
  const dns: Dns = { servers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const words = raw
      .replace(/[#;].*$/, "")
      .trim()
      .split(/\s+/);
    // A scoped address (fe80::1%eth0) is kept as written: only an unscoped one has a canonical form.
    if (words[0] === "nameserver" && words[1]) {
      dns.servers.push(words[1].includes("%") ? words[1] : canonicalIp(words[1]));
    }
    // The last `search` or `domain` line wins, as in the resolver.
    if (words[0] === "search" || words[0] === "domain") {
      dns.search = words.slice(1).map((d) => d.toLowerCase().replace(/\.$/, ""));
    }
    if (words[0] === "options") dns.options.push(...words.slice(1));
  }
  return dns.servers.length === 0 && dns.search.length === 0 && dns.options.length === 0 ? undefined : dns;
}

export function renderResolv(dns: Dns): string {
  const lines = [
    "# Written by the netpersona agent; restored to the previous file when the persona goes away.",
  ];
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.search.length > 0) lines.push(`search ${dns.search.join(" ")}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

export function sameDns(current: Dns | undefined, desired: Dns | undefined): boolean {
  return JSON.stringify(current ?? null) === JSON.stringify(desired ?? null);
}

export async function writeResolvDns(path: string, dns: Dns): Promise<void> {
  await writeFileAtomic(path, renderResolv(dns));
}

/** Puts the file back exactly as captured. */
export async function restoreResolvFile(path: string, snap: ResolvFile): Promise<void> {
  const current = await readResolvFile(path);
  if (JSON.stringify(current) === JSON.stringify(snap)) return;
  if (snap.kind === "absent") {
    await rm(path, { force: true });
  } else if (snap.kind === "symlink") {
    await rm(path, { force: true });
    await symlink(snap.target, path);
  } else {
    if (current.kind === "symlink") await rm(path, { force: true });
    await writeFileAtomic(path, Buffer.from(snap.base64, "base64"), snap.mode);
    await chmod(path, snap.mode);
  }
}
