// A Migration's feedback grant: the destination agent streams the source's view of the path from the source
// agent (a StreamMetrics call with its own agent certificate), and the source lets an agent certificate do
// that only while the provider has granted it (GrantFeedback, see provider/agent/session/grants.ts). The
// grant names the SHA-256 of the certificate the destination presented to the provider: the agent uses one
// certificate both to serve and as a client (provider/agent/session/parts.ts). Granted before
// StartSession (again after a provider crash: idempotent by session id), revoked when the session ends or
// the Migration is deleted. Feedback is optional to the engine (a cut link is recorded as feedback-lost and
// the session continues on the destination's metrics), so a source that cannot grant does not fail the
// migration: the progress line says so.
import type { AgentConnection } from "../agent/rpc/client";
import type { AgentError } from "../agent/rpc/errors";
import { LIMITS } from "../agent/rpc/limits";
import { errorLine } from "../util/errors";
import { progress } from "./common";
import { connectTo, type AgentReach } from "./agent";

/** Over the policy's maximum duration: the wait for the first path MTU, the feedback link's first report,
 *  the provider following the session after a crash. */
export const GRANT_MARGIN_MS = 10 * 60_000;

/** How long a grant lasts: the policy's maximum duration plus the margin, at most the agent's limit. */
export function grantExpiry(
  maxDurationMs: number,
  now = Date.now(),
): { expiresUnixMs: number; capped: boolean } {
  const wanted = now + maxDurationMs + GRANT_MARGIN_MS;
  const cap = now + LIMITS.feedbackGrantSeconds * 1000;
  return { expiresUnixMs: Math.min(wanted, cap), capped: wanted > cap };
}

/** Attempts of a grant or revoke call (each with its own deadline) before the provider says it gave up. */
const ATTEMPTS = 3;

/** `call` on a connection to the source, up to ATTEMPTS times, saying each failed attempt. */
async function onSource<T>(
  source: AgentReach,
  name: string,
  what: string,
  call: (c: AgentConnection) => Promise<T>,
): Promise<T> {
  const conn = await connectTo(source);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(conn);
      } catch (err) {
        const code = (err as AgentError).codeName;
        if (attempt >= ATTEMPTS || (code !== "UNAVAILABLE" && code !== "DEADLINE_EXCEEDED")) throw err;
        progress(name, `feedback: ${what} ${attempt}/${ATTEMPTS} failed (${errorLine(err)}): retrying`);
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  } finally {
    conn.close();
  }
}

/** The SHA-256 of the certificate the destination presents on `destination` (connected with
 *  `keepServerCertificate`), handshaking first when no call has been made on it yet. */
async function destinationFingerprint(destination: AgentConnection): Promise<string> {
  if (!destination.serverCertificateSha256()) await destination.ready();
  const fingerprint = destination.serverCertificateSha256();
  if (!fingerprint)
    throw new Error(
      "the destination agent's certificate was not seen on its connection: connect to it with keepServerCertificate",
    );
  return fingerprint;
}

/** Grants the destination's certificate the feedback stream of `sessionId` on the source; false (with a
 *  progress line) when the source cannot, and the session then runs without the source's feedback.
 *  What every StartSession caller does first (the Migration, the benchmarks, the lab tests). */
export async function grantFeedback(
  source: AgentReach,
  destination: AgentConnection,
  sessionId: string,
  maxDurationMs: number,
  name: string,
): Promise<boolean> {
  const fingerprint = await destinationFingerprint(destination);
  const { expiresUnixMs, capped } = grantExpiry(maxDurationMs);
  const without =
    "the session runs on the destination's metrics alone (feedback is optional: it records feedback-lost)";
  try {
    const req = { session_id: sessionId, peer_fingerprint: fingerprint, expires_unix_ms: expiresUnixMs };
    const r = await onSource(source, name, "grant", (c) => c.grantFeedback(req, { deadlineMs: 5000 }));
    const until = new Date(Number(r.grant?.expires_unix_ms ?? expiresUnixMs)).toISOString();
    const cap = capped
      ? ` (the agent's limit of ${LIMITS.feedbackGrantSeconds} s: a longer session loses its feedback then)`
      : "";
    progress(
      name,
      `feedback: the source agent at ${source.endpoint} lets the destination's certificate (sha256 ${fingerprint.slice(0, 16)}…) stream until ${until}${cap}`,
    );
    return true;
  } catch (err) {
    const e = err as AgentError;
    if (e.codeName === "UNIMPLEMENTED" || /authorization table does not list it/.test(e.message)) {
      progress(
        name,
        `feedback: the source agent at ${source.endpoint} predates feedback grants (its older rule lets the destination stream without one); \`pulumi up\` of its Agent upgrades it`,
      );
      return false;
    }
    progress(
      name,
      `feedback: could not grant the destination's feedback stream on the source agent at ${source.endpoint} (${errorLine(err)}): ${without}`,
    );
    return false;
  }
}

/** Revokes the grant of `sessionId` on the source; best effort: a failure is said, and the grant expires
 *  on its own. */
export async function revokeFeedback(source: AgentReach, sessionId: string, name: string): Promise<void> {
  try {
    const r = await onSource(source, name, "revoke", (c) =>
      c.revokeFeedback(sessionId, { deadlineMs: 5000 }),
    );
    if (r.revoked) progress(name, `feedback: grant of session ${sessionId} revoked on the source agent`);
  } catch (err) {
    progress(
      name,
      `feedback: could not revoke the grant of session ${sessionId} on the source agent at ${source.endpoint} (${errorLine(err)}): it expires on its own`,
    );
  }
}
