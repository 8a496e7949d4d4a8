// Roles (root; lab "secr"): an attacker who is root on h1 takes h1's agent certificate and key and turns them
// against h2's agent, a real bundle in h2's namespace. Every RPC that reads or changes h2 is PERMISSION_DENIED
// with a message naming the role and the RPC, the only thing the stolen key opens is the feedback stream back
// to h1 itself, and only while the provider has granted it (test-security-grants.ts has the grants), and h2's
// kernel is read back unchanged. Also: a certificate issued before roles, and the
// monitoring role.
import { strict as assert } from "node:assert";
import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import { localAddressTowards } from "../../provider/agent/session/feedback";
import { issueMonitoringCert, type CertifiedKey } from "../../provider/pki";
import {
  certificateFromPem,
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  randomSerial,
  x509,
} from "../../provider/pki/keys";
import { loadAgentApi } from "../../provider/proto/load";
import * as fx from "../fixtures/session-agents";
import { defaultRoute, nameservers, nftTable, shortPolicy, startRequest } from "../session-helpers";

const LAB = "secr";
const persona = { congestion_control: "reno", mtu: 1280, qos: { class: "standard" } };

/** A certificate like those issued before roles: signed by the stack CA, clientAuth, no role URI. */
async function legacyClientCert(ca: CertifiedKey): Promise<CertifiedKey> {
  const caCert = certificateFromPem(ca.certPem);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: "CN=netpersona-provider",
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    publicKey: keys.publicKey,
    signingKey: await privateKeyFromPem(ca.keyPem),
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

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

async function kernel(netns: string) {
  return { route: await defaultRoute(netns), nft: await nftTable(netns), dns: await nameservers(netns) };
}

describe("roles: another host's agent certificate against a real agent (lab secr)", function () {
  let lab: fx.SessionLab | undefined;
  let a1: fx.RunningAgent | undefined;
  let a2: fx.RunningAgent | undefined;
  let stolen: AgentConnection;
  let provider: AgentConnection;
  const opened: AgentConnection[] = [];
  const as = (pair: CertifiedKey) => {
    const c = connectAgent({ endpoint: a2!.endpoint, caPem: lab!.ca.certPem, ...pair, deadlineMs: 20_000 });
    opened.push(c);
    return c;
  };

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    a1 = await fx.startLabAgent(lab, lab.source);
    a2 = await fx.startLabAgent(lab, lab.destination);
    const h1 = {
      certPem: await readFile(join(lab.dir, "h1.pem"), "utf8"),
      keyPem: await readFile(join(lab.dir, "h1.key"), "utf8"),
    };
    stolen = as(h1);
    provider = as(lab.client);
  });

  after(async () => {
    for (const c of opened) c.close();
    await fx.killAgent(a2, "SIGTERM");
    await fx.killAgent(a1, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  it("refuses every RPC that reads or changes the host, naming the role and the RPC; the kernel is unchanged", async () => {
    const dst = lab!.destination;
    const before = await kernel(dst.netns);
    const change = "only the provider may change a host";
    const session = startRequest(lab!, a1!.endpoint, "stolen", persona, shortPolicy());
    const feedback = () => {
      const f = stolen.feedback();
      f.send({ session_id: "stolen", seq: 1, rtt_ms: 1, degraded: true, note: "x" });
      return f.acks;
    };
    // Each attack starts only when its turn comes, so its error is read as it arrives.
    const attacks: Record<string, [() => Promise<unknown> | AsyncIterable<unknown>, string]> = {
      GetInfo: [() => stolen.getInfo(), "only the provider and monitoring may read a host's health"],
      GetPersona: [() => stolen.getPersona(), "only the provider may read a host's persona"],
      PlanPersona: [() => stolen.planPersona(persona), "only the provider may plan a host's persona"],
      ApplyPersona: [() => stolen.applyPersona(persona, 0), change],
      ConfirmApply: [() => stolen.confirmApply("x"), change],
      RollbackApply: [() => stolen.rollbackApply("x"), change],
      RestoreSnapshot: [() => stolen.restoreSnapshot(), change],
      StartSession: [() => stolen.startSession(session), change],
      AbortSession: [
        () => stolen.abortSession({ session_id: "stolen", reason: "x", rollback: true }),
        change,
      ],
      GetSession: [() => stolen.getSession("stolen"), "only the provider may read a host's sessions"],
      WatchSession: [() => stolen.watchSession("stolen"), "only the provider may read a host's sessions"],
      Feedback: [feedback, "only the provider may feed a session"],
      Discover: [() => stolen.discover({ window_seconds: 1 }), "only the provider may sample a host's flows"],
      GrantFeedback: [
        () =>
          stolen.grantFeedback({
            session_id: "stolen",
            peer_fingerprint: "0".repeat(64),
            expires_unix_ms: Date.now() + 60_000,
          }),
        "only the provider may grant a feedback stream",
      ],
      RevokeFeedback: [
        () => stolen.revokeFeedback("stolen"),
        "only the provider may revoke a feedback stream",
      ],
    };
    const rpcs = Object.keys(loadAgentApi().service);
    assert.deepEqual(
      [...Object.keys(attacks), "StreamMetrics"].sort(),
      [...rpcs].sort(),
      "every RPC of the service is attacked (StreamMetrics in the next test)",
    );
    for (const [rpc, [call, why]] of Object.entries(attacks)) {
      const err = await refusal(call());
      assert.equal(err.codeName, "PERMISSION_DENIED", `${rpc}: ${err.message}`);
      assert.equal(err.message, `role 'agent' may not call ${rpc}: ${why}`);
      assert.deepEqual(err.details, { role: "agent", rpc });
    }
    // One log line per refusal (the agent's stdout reaches us a little after the answer).
    const logged = (rpc: string, why: string) =>
      new RegExp(
        ` ${rpc} peer=\\S+ client="agent h1" PERMISSION_DENIED: role 'agent' may not call ${rpc}: ${why} \\d+ms\n`,
      ).test(a2!.output());
    for (let i = 0; i < 50 && !Object.entries(attacks).every(([r, [, w]]) => logged(r, w)); i++)
      await new Promise((r) => setTimeout(r, 100));
    for (const [rpc, [, why]] of Object.entries(attacks))
      assert.ok(logged(rpc, why), `the agent logs the refusal of ${rpc}`);
    assert.deepEqual(await kernel(dst.netns), before);
    assert.match(before.route, /default via /);
    // The provider's certificate still does everything: the refusals were the role's, not the channel's.
    assert.equal((await provider.getInfo()).status, "SERVING");
    assert.equal((await provider.getPersona()).has_snapshot, false, "no apply ever reached the host");
  });

  it("lets an agent certificate open only its own feedback stream, once granted: one peer, its own address, 10 probes", async () => {
    const h1 = lab!.source.address;
    const fp = createHash("sha256")
      .update(new X509Certificate(await readFile(join(lab!.dir, "h1.pem"))).raw)
      .digest("hex");
    const ungranted = await refusal(
      stolen.streamMetrics({
        peers: [{ name: "h1", address: h1 }],
        interval_ms: 100,
        probes_per_sample: 10,
        max_samples: 1,
      }),
    );
    assert.equal(ungranted.codeName, "PERMISSION_DENIED");
    assert.equal(
      ungranted.message,
      `role 'agent' may not call StreamMetrics: no active session on this host granted feedback to certificate "agent h1" (sha256 ${fp})`,
    );
    // As the Migration provider does when h2 is a session's source and h1 its destination.
    await provider.grantFeedback({
      session_id: "roles",
      peer_fingerprint: fp,
      expires_unix_ms: Date.now() + 600_000,
    });
    const viaConn = await localAddressTowards(lab!.destination.address);
    const own = [...new Set([viaConn, h1])].join(" or ");
    const rule = `an agent may only open its own feedback stream (one peer, its own address ${own}, at most 10 probes per sample)`;
    const req = (peers: string[], probes = 10) => ({
      peers: peers.map((address, i) => ({ name: `p${i}`, address })),
      interval_ms: 100,
      probes_per_sample: probes,
      max_samples: 1,
    });
    const samples = [];
    for await (const s of stolen.streamMetrics(req([h1]), { deadlineMs: 20_000 })) samples.push(s);
    assert.equal(samples.length, 1);
    assert.deepEqual(
      samples[0].peers.map((p) => p.address),
      [h1],
    );
    const refused: [ReturnType<typeof req>, string][] = [
      [req([lab!.destination.address]), `towards "${lab!.destination.address}"`],
      [req(["192.0.2.7"]), `towards "192.0.2.7"`],
      [req([h1, h1]), "with 2 peers"],
      [req([]), "with 0 peers"],
      [req([h1], 11), "with probes_per_sample 11"],
    ];
    for (const [r, what] of refused) {
      const err = await refusal(stolen.streamMetrics(r, { deadlineMs: 20_000 }));
      assert.equal(err.codeName, "PERMISSION_DENIED", err.message);
      assert.equal(err.message, `role 'agent' may not call StreamMetrics ${what}: ${rule}`);
    }
    assert.equal((await provider.revokeFeedback("roles")).revoked, true);
  });

  it("bounds requests and streams: each refusal names the field or resource and the limit", async () => {
    const peers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `p${i}`, address: `10.9.0.${i + 1}` }));
    const tooMany = await refusal(
      provider.streamMetrics({ peers: peers(17), interval_ms: 100, max_samples: 1 }),
    );
    assert.deepEqual(
      [tooMany.codeName, tooMany.message],
      ["INVALID_ARGUMENT", "peers: at most 16 peers, got 17"],
    );
    const probes = await refusal(
      provider.streamMetrics({ peers: peers(1), interval_ms: 100, probes_per_sample: 101, max_samples: 1 }),
    );
    assert.deepEqual(
      [probes.codeName, probes.message],
      ["INVALID_ARGUMENT", "probes_per_sample: must be at most 100, got 101"],
    );
    const reason = await refusal(provider.abortSession({ session_id: "x", reason: "r".repeat(513) }));
    assert.deepEqual(
      [reason.codeName, reason.message],
      ["INVALID_ARGUMENT", "reason: must be at most 512 characters, got 513"],
    );
    // Eight open streams per client certificate; the ninth is refused until one closes.
    const req = {
      peers: [{ name: "h1", address: lab!.source.address }],
      interval_ms: 60_000,
      probes_per_sample: 1,
    };
    const open = Array.from({ length: 8 }, () => provider.streamMetrics(req)[Symbol.asyncIterator]());
    for (const it of open) assert.equal((await it.next()).done, false);
    const ninth = await refusal(provider.streamMetrics({ ...req, max_samples: 1 }));
    assert.equal(ninth.codeName, "RESOURCE_EXHAUSTED");
    assert.equal(
      ninth.message,
      "StreamMetrics: this client already holds 8 open streams (StreamMetrics and WatchSession), the limit is 8: close one first",
    );
    const other = as(await issueMonitoringCert(lab!.ca, { commonName: "another client" }));
    let n = 0;
    for await (const _ of other.streamMetrics({ ...req, max_samples: 1 })) n++;
    assert.equal(n, 1, "the limit is per client");
    await open[0].return!();
    // The closed stream gives its slot back (the agent sees the cancel a moment later).
    const oneSample = async () => {
      for await (const _ of provider.streamMetrics({ ...req, max_samples: 1 })) return true;
      return false;
    };
    let back = false;
    for (let i = 0; i < 50 && !back; i++) {
      back = await oneSample().catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return false;
      });
    }
    assert.ok(back, "a slot is free again after a stream closed");
    for (const it of open.slice(1)) await it.return!();
  });

  it("refuses a certificate issued before roles, saying to run pulumi up", async () => {
    const legacy = as(await legacyClientCert(lab!.ca));
    const err = await refusal(legacy.applyPersona(persona, 0));
    assert.equal(err.codeName, "PERMISSION_DENIED");
    assert.equal(
      err.message,
      'certificate "netpersona-provider" names no role: it was issued before roles (or not by netpersona); run `pulumi up` so the provider and every agent get new certificates',
    );
    assert.deepEqual(err.details, { role: "", rpc: "ApplyPersona" });
    assert.equal((await refusal(legacy.getInfo())).message, err.message);
  });

  it("lets a monitoring certificate read health and metrics, and nothing else", async () => {
    const mon = as(await issueMonitoringCert(lab!.ca, { commonName: "grafana" }));
    assert.equal((await mon.getInfo()).status, "SERVING");
    const req = {
      peers: [{ name: "h1", address: lab!.source.address }],
      interval_ms: 100,
      probes_per_sample: 2,
      max_samples: 1,
    };
    let n = 0;
    for await (const _ of mon.streamMetrics(req, { deadlineMs: 20_000 })) n++;
    assert.equal(n, 1);
    const err = await refusal(mon.applyPersona(persona, 0));
    assert.equal(
      err.message,
      "role 'monitoring' may not call ApplyPersona: only the provider may change a host",
    );
    assert.equal(
      (await refusal(mon.getPersona())).message,
      "role 'monitoring' may not call GetPersona: only the provider may read a host's persona",
    );
  });
});

describe("certificate renewal through the resources", () => {
  it("StackCa renews the provider's certificate (same CA) when it names no role or nears its end", async () => {
    const { stackCaProvider } = await import("../../provider/resources/stack-ca");
    const inputs = { commonName: "renew test", validityDays: 3650, rotation: "1" };
    const created = await stackCaProvider.create!(inputs);
    const outs = created.outs as Record<string, string>;
    const c = new X509Certificate(outs.clientCertPem);
    assert.equal(c.subjectAltName, "URI:urn:netpersona:role:provider");
    assert.equal(
      (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000,
      90,
      "shorter than the CA's 10 years",
    );
    assert.equal((await stackCaProvider.diff!(created.id, outs, inputs)).changes, false);
    const legacy = {
      ...outs,
      clientCertPem: (await legacyClientCert({ certPem: outs.certPem, keyPem: outs.keyPem })).certPem,
    };
    const d = await stackCaProvider.diff!(created.id, legacy, inputs);
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    const renewed = (await stackCaProvider.update!(created.id, legacy, inputs)).outs as Record<
      string,
      string
    >;
    assert.equal(renewed.certPem, outs.certPem, "the CA stays");
    assert.notEqual(renewed.clientCertPem, legacy.clientCertPem);
    const r = new X509Certificate(renewed.clientCertPem);
    assert.equal(r.subjectAltName, "URI:urn:netpersona:role:provider");
    assert.equal(r.checkIssued(new X509Certificate(outs.certPem)), true);
  });

  it("an Agent updates (reinstalls, so gets a new certificate) when its certificate names no role", async () => {
    const { agentProvider } = await import("../../provider/resources/agent");
    const { createCa, issueAgentCert } = await import("../../provider/pki");
    const ca = await createCa({ commonName: "renew" });
    const fresh = await issueAgentCert(ca, { commonName: "a", ips: ["10.0.0.2"] });
    const props = { port: 7443, agentCertPem: fresh.certPem };
    assert.equal((await agentProvider.diff!("a", props, props)).changes, false);
    const old = { ...props, agentCertPem: (await legacyClientCert(ca)).certPem };
    const d = await agentProvider.diff!("a", old, props);
    assert.deepEqual([d.changes, d.replaces], [true, []]);
  });
});
