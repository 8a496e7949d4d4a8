// No undefined can reach the engine: every result of every provider method (check's inputs, diff's result,
// create/update's outs, read's props and inputs) goes through google-protobuf's Struct.fromJavaScript, the
// call the dynamic-provider host makes, for random valid inputs with every optional field present or absent.
import * as assert from "node:assert/strict";

import * as fc from "fast-check";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

import { UNKNOWN } from "../../provider/persona/validate";
import { wireSafe } from "../../provider/resources/common";
import { agentProvider } from "../../provider/resources/agent";
import { attachmentProvider } from "../../provider/resources/attachment";
import { migrationProvider } from "../../provider/resources/migration";
import { personaProvider } from "../../provider/resources/persona";
import { providerFor } from "../../provider/resources/registry";
import { stackCaProvider } from "../../provider/resources/stack-ca";

/** The providers themselves, without the registry's central clean-up: fixed at the source too. */
const RAW = {
  persona: personaProvider,
  "stack-ca": stackCaProvider,
  agent: agentProvider,
  attachment: attachmentProvider,
  migration: migrationProvider,
} as const;

const VERSION = { netpersonaVersion: "0.1.0", __provider: "shim" };

/** What the engine can carry: throws "Unexpected struct type." exactly where the real host would. */
function toWire(what: string, value: unknown): Record<string, unknown> {
  assert.ok(value && typeof value === "object", `${what} is an object`);
  try {
    return Struct.fromJavaScript(value as Record<string, never>).toJavaScript() as Record<string, unknown>;
  } catch (err) {
    assert.fail(`${what} cannot go to the engine (${(err as Error).message}): ${JSON.stringify(value)}`);
  }
}

/** Inputs as the engine hands them to a provider: through a Struct, so never undefined. */
const fromEngine = (v: Record<string, unknown>) => ({ ...toWire("program inputs", v), ...VERSION });

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const ip = fc.oneof(fc.ipV4(), fc.constantFrom("2001:db8::53", "fe80::1", "::1"));
const ifname = fc.constantFrom("eth0", "ens3", "wg0", "br-lan");
const prefixes = fc.uniqueArray(
  fc.integer({ min: 0, max: 255 }).map((n) => `10.${n}.0.0/16`),
  { maxLength: 5 },
);
const persona = fc.record(
  {
    congestionControl: fc.constantFrom("cubic", "bbr", "reno"),
    mtu: fc.integer({ min: 576, max: 9000 }),
    mtuScope: fc.constantFrom("route", "link", "both"),
    qos: fc.record(
      {
        class: fc.constantFrom("telephony", "oam", "standard", "low-latency-data"),
        htbPriority: fc.integer({ min: 0, max: 7 }),
      },
      { requiredKeys: ["class"] },
    ),
    dns: fc.record(
      {
        servers: fc.array(ip, { minLength: 1, maxLength: 3 }),
        search: fc.array(fc.constantFrom("corp.example.com", "Example.COM."), { maxLength: 2 }),
        options: fc.array(fc.constantFrom("rotate", "timeout:1", "edns0"), { maxLength: 2 }),
      },
      { requiredKeys: ["servers"] },
    ),
    routes: fc.record(
      {
        preferredGateway: ip,
        preferredDevice: ifname,
        metric: fc.integer({ min: 0, max: 4294967295 }),
        prefixes: prefixes.chain((ps) =>
          fc.tuple(
            ...ps.map((prefix) =>
              fc.record(
                { prefix: fc.constant(prefix), via: ip, dev: ifname, metric: fc.nat() },
                { requiredKeys: ["prefix"] },
              ),
            ),
          ),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
/** Sometimes a field is unknown at preview, null, or of the wrong type: check must still answer cleanly. */
const spoil = <T extends Record<string, unknown>>(a: fc.Arbitrary<T>) =>
  fc
    .tuple(a, fc.option(fc.tuple(fc.nat(), fc.constantFrom<unknown>(UNKNOWN, null, "x", 7, [], {}))))
    .map(([v, bad]) => {
      const keys = Object.keys(v);
      if (!bad || keys.length === 0) return v;
      return { ...v, [keys[bad[0] % keys.length]]: bad[1] };
    });

const pem = (what: string) => `-----BEGIN ${what}-----\nMIIB\n-----END ${what}-----\n`;
const connection = fc.record(
  {
    host: fc.constantFrom("10.0.0.5", "db1.example.com"),
    port: fc.integer({ min: 1, max: 65535 }),
    user: fc.constantFrom("root", "ops"),
    password: fc.constant("pw"),
    privateKey: fc.constant(pem("OPENSSH PRIVATE KEY")),
    hostKey: fc.constant("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"),
    insecureSkipHostKeyCheck: fc.boolean(),
  },
  { requiredKeys: ["host", "password", "hostKey"] },
);
const agentRef = fc.record({
  endpoint: fc.constantFrom("10.0.0.5:7443", "[2001:db8::5]:7443"),
  caCertPem: fc.constant(pem("CERTIFICATE")),
  clientCertPem: fc.constant(pem("CERTIFICATE")),
  clientKeyPem: fc.constant(pem("PRIVATE KEY")),
});

const ARBITRARIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  persona: spoil(
    fc
      .tuple(persona, opt(fc.oneof(fc.constant(null), fc.constantFrom("web", "db"))))
      .map(([p, personaName]) => ({ ...p, ...(personaName !== undefined && { personaName }) })),
  ),
  "stack-ca": spoil(
    fc.record(
      {
        commonName: fc.constantFrom("lab CA", "x"),
        validityDays: fc.integer({ min: 1, max: 36500 }),
        rotation: fc.string(),
      },
      { requiredKeys: [] },
    ),
  ),
  agent: spoil(
    fc.record(
      {
        connection,
        caCertPem: fc.constant(pem("CERTIFICATE")),
        caKeyPem: fc.constant(pem("PRIVATE KEY")),
        clientCertPem: fc.constant(pem("CERTIFICATE")),
        clientKeyPem: fc.constant(pem("PRIVATE KEY")),
        port: fc.integer({ min: 1, max: 65535 }),
        listenAddress: ip,
        serviceManager: fc.constantFrom("auto", "systemd", "supervisor"),
        installDir: fc.constant("/opt/np"),
        resolvConfPath: fc.constant("/etc/resolv.conf"),
        nodePath: fc.constantFrom("node", "/usr/bin/node"),
        echo: fc.record(
          {
            address: ip.filter((a) => a !== "0.0.0.0"),
            allow: fc.array(fc.constantFrom("10.0.0.0/24", "10.0.1.5", "fd00::/64"), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        bundleHash: fc.constantFrom("", "ab12cd34"),
      },
      { requiredKeys: ["connection", "caCertPem", "caKeyPem", "clientCertPem", "clientKeyPem"] },
    ),
  ),
  attachment: spoil(
    fc.record(
      {
        endpoint: fc.constantFrom("10.0.0.5:7443", "[2001:db8::5]:7443"),
        caCertPem: fc.constant(pem("CERTIFICATE")),
        clientCertPem: fc.constant(pem("CERTIFICATE")),
        clientKeyPem: fc.constant(pem("PRIVATE KEY")),
        persona,
        confirmTimeoutSeconds: fc.integer({ min: 5, max: 3600 }),
      },
      { requiredKeys: ["endpoint", "caCertPem", "clientCertPem", "clientKeyPem", "persona"] },
    ),
  ),
  migration: spoil(
    fc.record(
      {
        migrationName: fc.constantFrom("web-move", "db.1"),
        source: agentRef,
        destination: agentRef,
        persona,
        targetPersona: persona,
        peer: ip,
        policy: fc.constantFrom({}, { probeIntervalMs: 500 }),
        transfer: fc.record(
          {
            command: fc.constant(["rsync", "-a", "/srv/", "10.0.2.10:/srv/"]),
            connection,
            timeoutSeconds: fc.integer({ min: 1, max: 86400 }),
          },
          { requiredKeys: ["command", "connection"] },
        ),
      },
      { requiredKeys: ["migrationName", "source", "destination", "peer"] },
    ),
  ),
};

async function checkAndDiff(kind: string, news: Record<string, unknown>, olds: Record<string, unknown>) {
  const p = providerFor(kind);
  const raw = RAW[kind as keyof typeof RAW];
  toWire(`${kind}.check inputs (provider itself)`, (await raw.check!(olds, news)).inputs);
  toWire(`${kind}.diff (provider itself)`, await raw.diff!("id", olds, news));
  const c = await p.check(olds, news);
  const inputs = toWire(`${kind}.check inputs`, c.inputs);
  for (const f of c.failures ?? []) {
    assert.equal(typeof f.property, "string");
    assert.match(f.reason, /\S/);
    assert.doesNotMatch(f.reason, /Invalid input|Too small|Too big|expected .* received|Unrecognized key/);
  }
  const d = await p.diff("id", olds, { ...inputs, ...VERSION });
  toWire(`${kind}.diff`, d);
  for (const r of d.replaces ?? []) assert.equal(typeof r, "string");
  return { inputs, failed: (c.failures ?? []).length > 0 };
}

describe("provider results always fit the engine's Struct (no undefined reaches the engine)", () => {
  for (const kind of ["stack-ca", "agent", "attachment", "migration"]) {
    it(`${kind}: check and diff, random inputs with optional fields present or absent`, async () => {
      await fc.assert(
        fc.asyncProperty(ARBITRARIES[kind], ARBITRARIES[kind], async (a, b) => {
          const olds = fromEngine(a);
          await checkAndDiff(kind, fromEngine(b), olds);
        }),
        { numRuns: 300, seed: 11 },
      );
    });
  }

  it("persona: check, diff, create, read and update, random inputs", async () => {
    const p = providerFor("persona");
    await fc.assert(
      fc.asyncProperty(ARBITRARIES.persona, ARBITRARIES.persona, async (a, b) => {
        const first = await checkAndDiff("persona", fromEngine(a), {});
        if (first.failed || JSON.stringify(first.inputs).includes(UNKNOWN)) return;
        const created = await p.create({ ...first.inputs, ...VERSION });
        const outs = toWire("persona.create outs", created.outs);
        const read = await p.read(created.id, { ...outs, ...VERSION });
        toWire("persona.read props", read.props);
        if (read.inputs) toWire("persona.read inputs", read.inputs);
        const second = await checkAndDiff("persona", fromEngine(b), outs);
        if (second.failed || JSON.stringify(second.inputs).includes(UNKNOWN)) return;
        const updated = await p.update(created.id, outs, { ...second.inputs, ...VERSION });
        toWire("persona.update outs", updated.outs);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it("stack-ca: create (pure crypto) and read", async () => {
    const p = providerFor("stack-ca");
    await fc.assert(
      fc.asyncProperty(ARBITRARIES["stack-ca"], async (a) => {
        const c = await checkAndDiff("stack-ca", fromEngine(a), {});
        if (c.failed || JSON.stringify(c.inputs).includes(UNKNOWN)) return;
        const created = await p.create({ ...c.inputs, ...VERSION });
        const outs = toWire("stack-ca.create outs", created.outs);
        assert.match(String(outs.certPem), /^-----BEGIN CERTIFICATE-----/);
        toWire("stack-ca.read props", (await p.read(created.id, { ...outs, ...VERSION })).props);
      }),
      { numRuns: 4, seed: 3 },
    );
  });

  it("a Persona without personaName: check, create and read leave the name out or null", async () => {
    const p = providerFor("persona");
    const c = await p.check({}, { mtu: 1400, ...VERSION });
    assert.deepEqual(toWire("check inputs", c.inputs), {
      mtu: 1400,
      mtuScope: "route",
      netpersonaVersion: "0.1.0",
    });
    assert.equal(c.failures, undefined);
    const created = await p.create({ ...c.inputs, ...VERSION });
    assert.equal(toWire("create outs", created.outs).personaName, null);
    const read = await p.read(created.id, created.outs);
    assert.equal("personaName" in (read.inputs ?? {}), false);
  });

  it("a null persona, or a persona of the wrong type, is refused in words, never by the Struct", async () => {
    // new Persona("web", null): the SDK sends only its own keys.
    const empty = await providerFor("persona").check({}, { ...VERSION });
    assert.deepEqual(toWire("check inputs", empty.inputs), { mtuScope: "route", netpersonaVersion: "0.1.0" });
    for (const [kind, extra] of [
      ["attachment", { endpoint: "10.0.0.5:7443", caCertPem: "c", clientCertPem: "c", clientKeyPem: "k" }],
      ["migration", { migrationName: "m" }],
    ] as const) {
      for (const bad of [null, "fast", 5]) {
        const c = await providerFor(kind).check({}, { ...extra, persona: bad, ...VERSION });
        toWire(`${kind}.check inputs`, c.inputs);
        const got = typeof bad === "string" ? "a string" : bad === null ? "null" : "a whole number";
        const reason = `must be an object with persona fields such as mtu, congestionControl, qos, dns or routes, not ${got}: e.g. {mtu: 1400, congestionControl: "bbr"}`;
        const f = (c.failures ?? []).find((x) => x.reason.endsWith(reason));
        assert.ok(f, JSON.stringify(c.failures));
        // A scalar at the top level is shown by the engine with its value; null would print as {<nil>}.
        assert.deepEqual(
          f,
          bad === null ? { property: "", reason: `persona: ${reason}` } : { property: "persona", reason },
        );
      }
    }
  });

  it("wireSafe leaves out undefined, refuses class instances by path, and keeps a __proto__ key a key", () => {
    assert.deepEqual(wireSafe({ a: undefined, b: [undefined, 1], c: { d: undefined } }), {
      b: [null, 1],
      c: {},
    });
    assert.throws(
      () => wireSafe({ when: new Date(0) }, "persona.create.outs"),
      /^Error: netpersona: persona.create.outs.when is a Date, which the engine cannot store \(a provider bug\)$/,
    );
    const out = wireSafe(JSON.parse('{"__proto__": {"admin": true}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal((out as { admin?: unknown }).admin, undefined);
    assert.equal(({} as { admin?: unknown }).admin, undefined);
  });
});
