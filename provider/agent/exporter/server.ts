// The metrics endpoint: HTTPS with client certificates from the stack CA (the agent's own TLS material), and
// the same role check as the gRPC API: a certificate naming the `monitoring` or `provider` role may scrape
// `GET /metrics`; an agent certificate, one naming no role or several, is refused with 403 and the reason.
// A client without a certificate, or with one another CA signed, fails the TLS handshake.
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";

import { callerOf } from "../rpc/authz";
import type { TlsMaterial } from "../rpc/tls";
import type { Registry } from "prom-client";

/** Roles that may read the metrics (monitoring: read-only health and metrics; provider: everything). */
export const SCRAPE_ROLES = ["monitoring", "provider"] as const;

export interface MetricsServer {
  readonly server: Server;
  /** The bound port (the one asked for, or the one the system picked for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Why a peer certificate may not scrape, or undefined when it may. */
export function scrapeRefusal(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate();
  const who = callerOf(
    { sslPeerCertificate: cert && cert.raw ? cert : undefined } as Parameters<typeof callerOf>[0],
    socket.remoteAddress,
  );
  if ("refusal" in who) return who.refusal;
  if (!(SCRAPE_ROLES as readonly string[]).includes(who.caller.role)) {
    return `role '${who.caller.role}' may not read /metrics: only monitoring and the provider may scrape an agent's metrics`;
  }
  return undefined;
}

/** Serves `registry` at https://ADDR:PORT/metrics; resolves once it listens. */
export function startMetricsServer(o: {
  host: string;
  port: number;
  tls: TlsMaterial;
  registry: Registry;
  log: (line: string) => void;
}): Promise<MetricsServer> {
  const server = createServer(
    {
      ca: o.tls.caPem,
      cert: o.tls.certPem,
      key: o.tls.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
    },
    (req, res) => {
      const refusal = scrapeRefusal(req.socket as TLSSocket);
      const plain = (status: number, text: string) => {
        res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
        res.end(`${text}\n`);
      };
      if (refusal) {
        o.log(`metrics: ${req.socket.remoteAddress} refused: ${refusal}`);
        return plain(403, refusal);
      }
      const path = (req.url ?? "").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "only GET /metrics");
      if (path !== "/metrics") return plain(404, "not found: the metrics are at /metrics");
      o.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": o.registry.contentType });
          res.end(req.method === "HEAD" ? undefined : text);
        },
        (err: Error) => plain(500, `collecting the metrics failed: ${err.message}`),
      );
    },
  );
  // Bounded like the gRPC side: idle keep-alive connections and slow requests do not hold sockets forever.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : o.port;
      resolve({
        server,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
