// Exact plans and exact drift, at the provider level: a value unknown at preview never plans a replacement,
// only a known difference in a replace key does; refresh compares the kernel in the persona's own terms.
import * as assert from "node:assert/strict";

import { agentProvider } from "../../provider/resources/agent";
import { attachmentProvider } from "../../provider/resources/attachment";
import { UNKNOWN_VALUE as U, fieldDiff, knownDiffers } from "../../provider/resources/common";
import { inPersonaTerms } from "../../provider/resources/drift";
import { migrationProvider } from "../../provider/resources/migration";
import { validatePersona } from "../../provider/persona/validate";
import type { Persona } from "../../provider/persona/schema";

const plan = (d: { changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }) => ({
  changes: d.changes,
  replaces: d.replaces ?? [],
  deleteBeforeReplace: d.deleteBeforeReplace ?? false,
});

describe("exact plans: unknown at preview is not changed", () => {
  it("knownDiffers: only a known difference counts, also nested in objects and lists", () => {
    assert.equal(knownDiffers("a", U), false);
    assert.equal(knownDiffers({ host: "a", port: 22 }, { host: U, port: 22 }), false);
    assert.equal(knownDiffers({ host: "a", port: 22 }, { host: U, port: 23 }), true);
    assert.equal(knownDiffers([1, 2], [1, U]), false);
    assert.equal(knownDiffers([1, 2], [1, U, 3]), true);
    assert.equal(knownDiffers(undefined, null), false);
    assert.equal(knownDiffers("a", "b"), true);
  });

  it("fieldDiff: an unknown replace key is an update, a known change of it a replacement", () => {
    const olds = { endpoint: "10.0.0.1:7443", mtu: 1400 };
    assert.deepEqual(plan(fieldDiff(olds, { ...olds, endpoint: U }, ["endpoint", "mtu"], ["endpoint"])), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.deepEqual(
      fieldDiff(olds, { ...olds, endpoint: "10.0.0.2:7443" }, ["endpoint"], ["endpoint"]).replaces,
      ["endpoint"],
    );
    assert.equal(fieldDiff(olds, { ...olds }, ["endpoint", "mtu"], ["endpoint"]).changes, false);
  });

  const att = {
    endpoint: "10.0.0.1:7443",
    caCertPem: "ca",
    clientCertPem: "cert",
    clientKeyPem: "key",
    persona: { mtu: 1400, mtuScope: "route" },
    confirmTimeoutSeconds: 60,
  };

  it("PersonaAttachment: never replaces; unknown agent outputs or persona plan an update at most", async () => {
    const same = { ...att, confirmTimeoutSeconds: undefined };
    assert.deepEqual(plan(await attachmentProvider.diff!("a", att, same)), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    for (const news of [
      { ...att, endpoint: U, caCertPem: U, clientCertPem: U, clientKeyPem: U },
      { ...att, persona: U },
      { ...att, persona: { mtu: U, mtuScope: "route" } },
      { ...att, endpoint: "10.0.0.2:7443" },
      { ...att, persona: { mtu: 1300, mtuScope: "route" } },
    ]) {
      assert.deepEqual(plan(await attachmentProvider.diff!("a", att, news)), {
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  const agent = {
    connection: { host: "10.0.0.1", port: 22, user: "root" },
    caCertPem: "ca",
    caKeyPem: "cakey",
    clientCertPem: "cert",
    clientKeyPem: "key",
    port: 7443,
    serviceManager: "auto",
    installDir: "/opt/netpersona",
    stateDir: "/var/lib/netpersona",
    nodePath: "node",
    bundleHash: "h1",
    netpersonaVersion: "0.1.0",
  };

  it("Agent: another host replaces; another install on the same host replaces old-first; the rest updates", async () => {
    const { createCa, issueAgentCert } = await import("../../provider/pki");
    const ca = await createCa({ commonName: "plans" });
    const olds = {
      ...agent,
      agentCertPem: (await issueAgentCert(ca, { commonName: "a", ips: ["10.0.0.1"] })).certPem,
    };
    const d = (news: Record<string, unknown>, o: Record<string, unknown> = olds) =>
      agentProvider.diff!("a", o, news).then(plan);
    const update = { changes: true, replaces: [], deleteBeforeReplace: false };
    assert.deepEqual(await d(agent), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await d({ ...agent, connection: { ...agent.connection, host: "10.0.0.2" } }), {
      changes: true,
      replaces: ["connection"],
      deleteBeforeReplace: false,
    });
    assert.deepEqual(await d({ ...agent, installDir: "/opt/np2" }), {
      changes: true,
      replaces: ["installDir"],
      deleteBeforeReplace: true,
    });
    assert.deepEqual(await d({ ...agent, connection: { ...agent.connection, host: U } }), update);
    assert.deepEqual(await d({ ...agent, connection: { ...agent.connection, user: "ops" } }), update);
    assert.deepEqual(
      await d({ ...agent, caCertPem: U, caKeyPem: U, clientCertPem: U, clientKeyPem: U }),
      update,
    );
    assert.deepEqual(await d({ ...agent, caCertPem: "ca2" }), update, "a CA rotation reinstalls in place");
    assert.deepEqual(await d({ ...agent, netpersonaVersion: "0.2.0" }), update, "a new package version");
    assert.deepEqual(await d({ ...agent, bundleHash: "h2" }), update, "a new agent bundle");
    assert.deepEqual(await d({ ...agent, port: 7444 }), update);
    // A preview with an unknown certificate: check hands back the inputs without their defaults.
    const { serviceManager: _s, installDir: _i, stateDir: _d, nodePath: _n, port: _p, ...bare } = agent;
    assert.deepEqual(
      await d({ ...bare, caCertPem: U, clientCertPem: U }),
      update,
      "defaults left out are no change",
    );
    assert.deepEqual(await d(agent, { ...olds, running: false }), update, "a dead daemon is restarted");
  });

  const ref = (endpoint: string, cert = "cert") => ({
    endpoint,
    caCertPem: "ca",
    clientCertPem: cert,
    clientKeyPem: "key",
  });
  const mig = {
    migrationName: "app",
    source: ref("10.0.0.1:7443"),
    destination: ref("10.0.1.1:7443"),
    peer: "10.0.0.1",
    policy: {},
  };

  it("Migration: another agent, persona, peer or policy replaces; new certificates or unknowns update", async () => {
    const d = (news: Record<string, unknown>) => migrationProvider.diff!("m", mig, news).then(plan);
    assert.equal((await d(mig)).changes, false);
    assert.deepEqual(await d({ ...mig, policy: { failureLimit: 3 } }), {
      changes: true,
      replaces: ["policy"],
      deleteBeforeReplace: true,
    });
    assert.deepEqual((await d({ ...mig, destination: ref("10.0.2.1:7443") })).replaces, ["destination"]);
    assert.deepEqual((await d({ ...mig, destination: ref("10.0.1.1:7443", "cert2") })).replaces, []);
    assert.deepEqual((await d({ ...mig, destination: U })).replaces, []);
    assert.deepEqual((await d({ ...mig, persona: U })).replaces, []);
  });
});

describe("exact drift: the kernel in the persona's own terms", () => {
  const desired = validatePersona({
    congestionControl: "bbr",
    mtu: 1400,
    qos: { class: "low-latency-data" },
    dns: { servers: ["10.0.0.53", "10.0.0.54"], options: ["timeout:1"] },
    routes: { preferredGateway: "10.0.0.1", prefixes: [{ prefix: "10.20.0.0/16", metric: 5 }] },
  });
  if (!desired.ok) throw new Error(JSON.stringify(desired.failures));
  const want = desired.value;
  // What the kernel reports: the persona plus what it fills in on its own.
  const kernel: Persona = {
    ...want,
    mtuScope: "link",
    routes: {
      preferredGateway: "10.0.0.1",
      preferredDevice: "eth0",
      metric: 100,
      prefixes: [
        { prefix: "10.20.0.0/16", via: "10.0.0.1", dev: "eth0", metric: 5 },
        { prefix: "192.168.0.0/24", dev: "eth1" },
      ],
    },
  } as Persona;

  it("an untouched host is exactly the persona (device, via, other prefixes are not drift)", () => {
    assert.deepEqual(inPersonaTerms(want, kernel), want);
  });

  const cases: Array<[string, Partial<Persona>, string]> = [
    ["MTU", { mtu: 1300 }, "mtu"],
    ["congestion control", { congestionControl: "cubic" }, "congestionControl"],
    ["QoS (nft DSCP)", { qos: { class: "standard" } }, "qos"],
    [
      "resolv.conf order",
      { dns: { servers: ["10.0.0.54", "10.0.0.53"], search: [], options: ["timeout:1"] } },
      "dns",
    ],
  ];
  for (const [what, change, field] of cases) {
    it(`a hand-made ${what} change is drift in exactly ${field}`, () => {
      const seen = inPersonaTerms(want, { ...kernel, ...change } as Persona);
      const differs = Object.keys(want).filter(
        (k) => JSON.stringify(seen[k]) !== JSON.stringify((want as Record<string, unknown>)[k]),
      );
      assert.deepEqual(differs, [field]);
    });
  }

  it("a removed prefix is drift in routes; a missing MTU lock is drift in mtu", () => {
    const noPrefix = { ...kernel, routes: { ...kernel.routes!, prefixes: [] } } as Persona;
    assert.deepEqual((inPersonaTerms(want, noPrefix).routes as { prefixes: unknown[] }).prefixes, []);
    const { mtu: _m, ...noMtu } = kernel;
    assert.equal(inPersonaTerms(want, noMtu as Persona).mtu, null);
  });
});
