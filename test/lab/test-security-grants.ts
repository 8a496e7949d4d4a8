// Feedback grants (root; lab "secg"): the source agent h1 lets an agent certificate open its feedback stream
// only while the provider has granted it to that certificate's fingerprint. h2's agent certificate (the
// destination's, or a deleted Agent's: the same thing to h1) is refused without a grant, allowed once granted,
// refused again after RevokeFeedback or the expiry (an open stream ends too); a grant survives a kill -9 of h1's
// agent; only the provider may grant or revoke; every refusal is typed and exact. The Migration provider's
// grant (the destination's certificate as seen on its TLS connection) lets the destination's own stream in.
import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import { LIMITS } from "../../provider/agent/rpc/limits";
import { issueMonitoringCert, type CertifiedKey } from "../../provider/pki";
import { grantFeedback, revokeFeedback } from "../../provider/resources/migration-feedback";
import * as fx from "../fixtures/session-agents";

const LAB = "secg";

async function refusal(p: Promise<unknown> | AsyncIterable<unknown>): Promise<AgentError> {
  let what = "accepted";
  try {
    if (Symbol.asyncIterator in p) {
      what = "the stream ended without an error";
      for await (const _ of p) {
        what = "the stream delivered a message";
        break;
      }
    } else await p;
  } catch (err) {
    return err as AgentError;
  }
  return assert.fail(what);
}

describe("feedback grants: an agent certificate streams only while a session granted it (lab secg)", function () {
  let lab: fx.SessionLab | undefined;
  let a1: fx.RunningAgent | undefined;
  let a2: fx.RunningAgent | undefined;
  let fp: string;
  const opened: AgentConnection[] = [];
  /** A connection to h1's agent (the session's source) with `pair`. */
  const to1 = (pair: CertifiedKey) => {
    const c = connectAgent({ endpoint: a1!.endpoint, caPem: lab!.ca.certPem, ...pair, deadlineMs: 20_000 });
    opened.push(c);
    return c;
  };
  let h2: CertifiedKey;
  const feedbackReq = (maxSamples = 1, intervalMs = 100) => ({
    peers: [{ name: "destination", address: lab!.destination.address }],
    interval_ms: intervalMs,
    probes_per_sample: 2,
    max_samples: maxSamples,
  });
  const samples = async (c: AgentConnection) => {
    let n = 0;
    for await (const _ of c.streamMetrics(feedbackReq(), { deadlineMs: 20_000 })) n++;
    return n;
  };
  const noGrant = () =>
    `role 'agent' may not call StreamMetrics: no active session on this host granted feedback to certificate "agent h2" (sha256 ${fp})`;
  const grant = (c: AgentConnection, id: string, ttlMs: number) =>
    c.grantFeedback({ session_id: id, peer_fingerprint: fp, expires_unix_ms: Date.now() + ttlMs });

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    a1 = await fx.startLabAgent(lab, lab.source);
    a2 = await fx.startLabAgent(lab, lab.destination);
    fp = await fx.agentFingerprint(lab, lab.destination);
    h2 = {
      certPem: await readFile(join(lab.dir, "h2.pem"), "utf8"),
      keyPem: await readFile(join(lab.dir, "h2.key"), "utf8"),
    };
  });

  after(async () => {
    for (const c of opened) c.close();
    await fx.killAgent(a2, "SIGTERM");
    await fx.killAgent(a1, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  it("refuses an agent certificate without a grant, allows it once granted, refuses it after RevokeFeedback", async () => {
    const provider = to1(lab!.client);
    const agent = to1(h2);
    const before = await refusal(agent.streamMetrics(feedbackReq(), { deadlineMs: 20_000 }));
    assert.equal(before.codeName, "PERMISSION_DENIED");
    assert.equal(before.message, noGrant());
    assert.deepEqual(before.details, { role: "agent", rpc: "StreamMetrics" });
    const g = await grant(provider, "s1", 600_000);
    assert.deepEqual([g.grant?.session_id, g.grant?.peer_fingerprint, g.grants_kept], ["s1", fp, 1]);
    assert.equal(await samples(agent), 1);
    // The grant lets in only the caller's own feedback stream, as before grants.
    const third = await refusal(
      agent.streamMetrics({ ...feedbackReq(), peers: [{ name: "x", address: "192.0.2.7" }] }),
    );
    assert.match(
      third.message,
      /^role 'agent' may not call StreamMetrics towards "192\.0\.2\.7": an agent may only open its own feedback stream/,
    );
    // Granting the same session again replaces its grant (a provider following the session after a crash).
    assert.equal((await grant(provider, "s1", 600_000)).grants_kept, 1);
    assert.deepEqual(await provider.revokeFeedback("s1"), { revoked: true, grants_kept: 0 });
    assert.deepEqual(await provider.revokeFeedback("s1"), { revoked: false, grants_kept: 0 });
    const after = await refusal(agent.streamMetrics(feedbackReq(), { deadlineMs: 20_000 }));
    assert.deepEqual([after.codeName, after.message], ["PERMISSION_DENIED", noGrant()]);
    for (let i = 0; i < 50 && !/feedback revoked: session s1 /.test(a1!.output()); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(
      a1!.output(),
      new RegExp(`feedback granted: session s1, certificate sha256 ${fp}, until \\S+ \\(1 grants kept\\)`),
    );
    assert.match(a1!.output(), /feedback revoked: session s1 \(0 grants kept\)/);
  });

  it("refuses again once the grant expires, and ends a stream that is open when it is revoked", async () => {
    const provider = to1(lab!.client);
    const agent = to1(h2);
    await grant(provider, "short", 1500);
    assert.equal(await samples(agent), 1);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await refusal(agent.streamMetrics(feedbackReq(), { deadlineMs: 20_000 }));
    assert.deepEqual([expired.codeName, expired.message], ["PERMISSION_DENIED", noGrant()]);
    assert.deepEqual(await provider.revokeFeedback("short"), { revoked: false, grants_kept: 0 });

    await grant(provider, "open", 600_000);
    const it = agent.streamMetrics(feedbackReq(0, 200), { deadlineMs: 30_000 })[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false, "the open stream delivers under the grant");
    await provider.revokeFeedback("open");
    const cut = await (async () => {
      for (;;) if ((await it.next()).done) return assert.fail("the stream ended without an error");
    })().catch((e: AgentError) => e);
    assert.equal(cut.codeName, "PERMISSION_DENIED");
    assert.equal(
      cut.message,
      `role 'agent' may not call StreamMetrics any more: the feedback grant to certificate "agent h2" (sha256 ${fp}) was revoked or has expired`,
    );
  });

  it("keeps a grant across a kill -9 of the source agent; state.json holds only ids, fingerprints and times", async () => {
    await grant(to1(lab!.client), "kept", 600_000);
    await fx.killAgent(a1, "SIGKILL");
    a1 = await fx.startLabAgent(lab!, lab!.source);
    assert.equal(await samples(to1(h2)), 1, "the restarted agent still lets the granted certificate in");
    const state = JSON.parse(await readFile(join(lab!.dir, "state-h1", "state.json"), "utf8"));
    const kept = state.feedbackGrants.kept;
    assert.deepEqual(Object.keys(state.feedbackGrants), ["kept"]);
    assert.deepEqual(Object.keys(kept).sort(), [
      "expiresUnixMs",
      "grantedUnixMs",
      "peerFingerprint",
      "sessionId",
    ]);
    assert.equal(kept.peerFingerprint, fp);
    const text = JSON.stringify(state);
    assert.doesNotMatch(text, /BEGIN|PRIVATE/, "no certificate or key in the state");
    await to1(lab!.client).revokeFeedback("kept");
  });

  it("lets only the provider grant or revoke, and checks and bounds what it grants", async () => {
    const agent = to1(h2);
    const req = { session_id: "x", peer_fingerprint: fp, expires_unix_ms: Date.now() + 60_000 };
    const byAgent = await refusal(agent.grantFeedback(req));
    assert.deepEqual(
      [byAgent.codeName, byAgent.message],
      [
        "PERMISSION_DENIED",
        "role 'agent' may not call GrantFeedback: only the provider may grant a feedback stream",
      ],
    );
    assert.deepEqual(byAgent.details, { role: "agent", rpc: "GrantFeedback" });
    const revokeByAgent = await refusal(agent.revokeFeedback("x"));
    assert.equal(
      revokeByAgent.message,
      "role 'agent' may not call RevokeFeedback: only the provider may revoke a feedback stream",
    );
    const mon = to1(await issueMonitoringCert(lab!.ca, { commonName: "grafana" }));
    assert.equal(
      (await refusal(mon.grantFeedback(req))).message,
      "role 'monitoring' may not call GrantFeedback: only the provider may grant a feedback stream",
    );

    const provider = to1(lab!.client);
    const bad = await refusal(
      provider.grantFeedback({ session_id: "a b", peer_fingerprint: "AB:CD", expires_unix_ms: 1 }),
    );
    assert.equal(bad.codeName, "INVALID_ARGUMENT");
    assert.deepEqual(
      bad.details.failures?.map((f) => f.property),
      ["session_id", "peer_fingerprint", "expires_unix_ms"],
    );
    assert.match(
      bad.message,
      /^session_id: must be 1-64 of A-Z a-z 0-9 _ \. -; peer_fingerprint: must be the SHA-256 of the destination agent's certificate \(DER\) as 64 hex digits; expires_unix_ms: must be in the future \(now is \d+\)$/,
    );
    const far = await refusal(grant(provider, "far", LIMITS.feedbackGrantSeconds * 1000 + 60_000));
    assert.match(far.message, /^expires_unix_ms: must be at most 86400 s ahead \(\d+\), got 864\d{5} ms$/);
    // Upper case hex is the same fingerprint.
    const upper = await provider.grantFeedback({
      ...req,
      session_id: "upper",
      peer_fingerprint: fp.toUpperCase(),
    });
    assert.equal(upper.grant?.peer_fingerprint, fp);
    await provider.revokeFeedback("upper");

    // The limit: 64 unexpired grants; the 65th is refused, a repeated one is not.
    for (let i = 0; i < LIMITS.feedbackGrants; i++) await grant(provider, `g${i}`, 600_000);
    const full = await refusal(grant(provider, "one-more", 600_000));
    assert.deepEqual(
      [full.codeName, full.message],
      [
        "RESOURCE_EXHAUSTED",
        "GrantFeedback: this agent holds 64 unexpired feedback grants, the limit is 64: revoke one (RevokeFeedback) or wait until one expires",
      ],
    );
    assert.equal((await grant(provider, "g0", 600_000)).grants_kept, 64);
    for (let i = 0; i < LIMITS.feedbackGrants; i++) await provider.revokeFeedback(`g${i}`);
    assert.equal((await provider.revokeFeedback("g0")).grants_kept, 0);
  });

  it("the Migration's grant (the destination's certificate as its TLS connection shows it) lets the destination's stream in", async () => {
    const source = {
      endpoint: a1!.endpoint,
      caCertPem: lab!.ca.certPem,
      clientCertPem: lab!.client.certPem,
      clientKeyPem: lab!.client.keyPem,
    };
    const dst = connectAgent({
      endpoint: a2!.endpoint,
      caPem: lab!.ca.certPem,
      ...lab!.client,
      keepServerCertificate: true,
    });
    opened.push(dst);
    assert.equal(dst.serverCertificateSha256(), undefined, "nothing seen before the handshake");
    await dst.getInfo();
    assert.equal(
      dst.serverCertificateSha256(),
      fp,
      "the certificate h2's agent serves with is its client certificate",
    );
    assert.equal(await grantFeedback(source, dst, "mig-1", 60_000, "Migration secg"), true);
    assert.equal(await samples(to1(h2)), 1);
    await revokeFeedback(source, "mig-1", "Migration secg");
    assert.equal((await refusal(to1(h2).streamMetrics(feedbackReq()))).message, noGrant());
    // A source that does not answer: no grant, and the migration goes on without feedback (said, not thrown).
    const gone = { ...source, endpoint: `${lab!.source.address}:1` };
    assert.equal(await grantFeedback(gone, dst, "mig-2", 60_000, "Migration secg"), false);
  });
});
