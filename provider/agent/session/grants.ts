// Feedback grants: which destination agent may open its feedback stream on this (source) agent. A migration
// session lives on its destination; the source holds no session record. So the provider, which starts the
// session, tells the source through GrantFeedback: "the agent whose certificate has this SHA-256 fingerprint
// may stream from you for session S until T". The authorization interceptor (authz.ts) lets an agent
// certificate open StreamMetrics only while such a grant holds; RevokeFeedback or the expiry ends it.
// Kept in state.json (so an agent restart mid-session keeps them): session id, fingerprint, times. No secret.
// Bounded: at most LIMITS.feedbackGrants unexpired grants; expired ones are dropped on every write and at start.
import type { AgentHandlers } from "../../proto/gen/netpersona/agent/v1/Agent";
import { invalidArgument } from "../rpc/errors";
import { LIMITS, resourceExhausted } from "../rpc/limits";
import { unary, type Log } from "../rpc/calls";
import { SESSION_ID_RE } from "./store";
import type { StateStore } from "../state";
import type { FeedbackGrantCheck } from "../rpc/authz";
import type { FeedbackGrantRecord } from "./records";

export type { FeedbackGrantRecord } from "./records";

const FINGERPRINT_RE = /^[0-9a-f]{64}$/;

const unexpired = (all: Record<string, FeedbackGrantRecord> | undefined, now: number) =>
  Object.values(all ?? {}).filter((g) => g.expiresUnixMs > now);

export class FeedbackGrants implements FeedbackGrantCheck {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Drops the grants that expired while the agent was down (one write, only when there are some). */
  async prune(): Promise<void> {
    const all = Object.values(this.store.get().feedbackGrants ?? {});
    if (unexpired(this.store.get().feedbackGrants, this.now()).length === all.length) return;
    await this.store.update((d) => {
      d.feedbackGrants = keyed(unexpired(d.feedbackGrants, this.now()));
    });
  }

  /** Unexpired grants, soonest expiry first. */
  list(now = this.now()): FeedbackGrantRecord[] {
    return unexpired(this.store.get().feedbackGrants, now).sort((a, b) => a.expiresUnixMs - b.expiresUnixMs);
  }

  holding(fingerprint: string, now = this.now()): FeedbackGrantRecord | undefined {
    const fp = fingerprint.toLowerCase();
    return this.list(now).find((g) => g.peerFingerprint === fp);
  }

  /** Grants (or replaces the grant of `sessionId`); INVALID_ARGUMENT names the field, RESOURCE_EXHAUSTED the limit. */
  async grant(req: {
    sessionId: string;
    peerFingerprint: string;
    expiresUnixMs: number;
  }): Promise<{ grant: FeedbackGrantRecord; kept: number }> {
    const now = this.now();
    const fp = req.peerFingerprint.toLowerCase();
    const maxAhead = LIMITS.feedbackGrantSeconds * 1000;
    const failures = [
      ...(SESSION_ID_RE.test(req.sessionId)
        ? []
        : [{ property: "session_id", reason: "must be 1-64 of A-Z a-z 0-9 _ . -" }]),
      ...(FINGERPRINT_RE.test(fp)
        ? []
        : [
            {
              property: "peer_fingerprint",
              reason: "must be the SHA-256 of the destination agent's certificate (DER) as 64 hex digits",
            },
          ]),
      ...(!Number.isSafeInteger(req.expiresUnixMs) || req.expiresUnixMs <= now
        ? [{ property: "expires_unix_ms", reason: `must be in the future (now is ${now})` }]
        : req.expiresUnixMs > now + maxAhead
          ? [
              {
                property: "expires_unix_ms",
                reason: `must be at most ${LIMITS.feedbackGrantSeconds} s ahead (${now + maxAhead}), got ${req.expiresUnixMs - now} ms`,
              },
            ]
          : []),
    ];
    if (failures.length > 0) throw invalidArgument(failures);
    const grant: FeedbackGrantRecord = {
      sessionId: req.sessionId,
      peerFingerprint: fp,
      expiresUnixMs: req.expiresUnixMs,
      grantedUnixMs: now,
    };
    let kept = 0;
    await this.store.update((d) => {
      const others = unexpired(d.feedbackGrants, now).filter((g) => g.sessionId !== req.sessionId);
      if (others.length >= LIMITS.feedbackGrants) {
        throw resourceExhausted(
          `GrantFeedback: this agent holds ${others.length} unexpired feedback grants, the limit is ${LIMITS.feedbackGrants}: revoke one (RevokeFeedback) or wait until one expires`,
        );
      }
      d.feedbackGrants = keyed([...others, grant]);
      kept = others.length + 1;
    });
    return { grant, kept };
  }

  /** Ends the grant of `sessionId`; `revoked` is false when it had none (or it had expired). */
  async revoke(sessionId: string): Promise<{ revoked: boolean; kept: number }> {
    if (!SESSION_ID_RE.test(sessionId)) {
      throw invalidArgument([{ property: "session_id", reason: "must be 1-64 of A-Z a-z 0-9 _ . -" }]);
    }
    const now = this.now();
    let revoked = false;
    let kept = 0;
    await this.store.update((d) => {
      const live = unexpired(d.feedbackGrants, now);
      revoked = live.some((g) => g.sessionId === sessionId);
      const rest = live.filter((g) => g.sessionId !== sessionId);
      d.feedbackGrants = keyed(rest);
      kept = rest.length;
    });
    return { revoked, kept };
  }
}

function keyed(grants: FeedbackGrantRecord[]): Record<string, FeedbackGrantRecord> {
  return Object.fromEntries(grants.map((g) => [g.sessionId, g]));
}

/** GrantFeedback and RevokeFeedback (provider only: see RPC_POLICY in authz.ts). */
export function grantHandlers(
  log: Log,
  grants: FeedbackGrants,
): Pick<AgentHandlers, "GrantFeedback" | "RevokeFeedback"> {
  return {
    GrantFeedback: unary(log, "GrantFeedback", async (req) => {
      const { grant, kept } = await grants.grant({
        sessionId: req.session_id,
        peerFingerprint: req.peer_fingerprint,
        expiresUnixMs: Number(req.expires_unix_ms),
      });
      log(
        `feedback granted: session ${grant.sessionId}, certificate sha256 ${grant.peerFingerprint}, until ${new Date(grant.expiresUnixMs).toISOString()} (${kept} grants kept)`,
      );
      return {
        grant: {
          session_id: grant.sessionId,
          peer_fingerprint: grant.peerFingerprint,
          expires_unix_ms: grant.expiresUnixMs,
          granted_unix_ms: grant.grantedUnixMs,
        },
        grants_kept: kept,
      };
    }),
    RevokeFeedback: unary(log, "RevokeFeedback", async (req) => {
      const r = await grants.revoke(req.session_id);
      if (r.revoked) log(`feedback revoked: session ${req.session_id} (${r.kept} grants kept)`);
      return { revoked: r.revoked, grants_kept: r.kept };
    }),
  };
}
