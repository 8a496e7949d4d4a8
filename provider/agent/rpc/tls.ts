// The agent's TLS material (stack CA, its certificate and key, as PEM) and the mTLS server credentials made
// of it. The daemon loads it; the session parts use it to dial other agents as a client.
import * as grpc from "@grpc/grpc-js";

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** mTLS server credentials: our certificate chain, and client certificates required and checked against the CA. */
export function serverCredentials(tls: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    Buffer.from(tls.caPem),
    [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
    true,
  );
}
