// Key material for the stack PKI: ECDSA P-256 keys through node:crypto's webcrypto, PEM in and out.
import "reflect-metadata"; // @peculiar/x509 (through tsyringe) needs the Reflect metadata API

import { randomBytes, webcrypto } from "node:crypto";

import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const EC_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

export { x509 };

/** A new ECDSA P-256 key pair, extractable so the private key can be handed out as PEM. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_ALGORITHM, true, ["sign", "verify"]);
}

/** The private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the form OpenSSL and gRPC read. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Reads a PKCS#8 PEM ECDSA P-256 private key for signing. */
export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const blocks = x509.PemConverter.decodeWithHeaders(pem).filter((b) => b.type === "PRIVATE KEY");
  if (blocks.length !== 1) {
    throw new Error("expected exactly one PKCS#8 'PRIVATE KEY' PEM block (ECDSA P-256)");
  }
  return webcrypto.subtle.importKey("pkcs8", blocks[0].rawData, EC_ALGORITHM, true, ["sign"]);
}

/** A positive random serial number of exactly 16 octets in hex (RFC 5280: positive, at most 20 octets). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Reads exactly one certificate from PEM. */
export function certificateFromPem(pem: string): x509.X509Certificate {
  const blocks = x509.PemConverter.decodeWithHeaders(pem).filter((b) => b.type === "CERTIFICATE");
  if (blocks.length !== 1) throw new Error("expected exactly one 'CERTIFICATE' PEM block");
  return new x509.X509Certificate(blocks[0].rawData);
}
