// The persona schema and its normalisation: exact values, exact messages, and no crash on any input.
import * as assert from "node:assert/strict";

import * as fc from "fast-check";

import { personaProvider } from "../../provider/resources/persona";
import { cidrProblem, canonicalIp } from "../../provider/persona/schema";
import { UNKNOWN, validatePersona } from "../../provider/persona/validate";

function failures(input: unknown) {
  const r = validatePersona(input);
  assert.equal(r.ok, false, "expected validation to fail");
  return r.ok ? [] : r.failures;
}

describe("persona schema", () => {
  it("normalises addresses, domains and prefix order; applies defaults", () => {
    const r = validatePersona({
      dns: { servers: ["2001:0DB8:0000:0000:0000:0000:0000:0053"], search: ["Example.COM."] },
      routes: {
        preferredGateway: "fe80:0:0:0:0:0:0:1",
        prefixes: [{ prefix: "10.2.0.0/16" }, { prefix: "10.1.0.0/16" }],
      },
    });
    assert.deepEqual(r, {
      ok: true,
      value: {
        mtuScope: "route",
        dns: { servers: ["2001:db8::53"], search: ["example.com"], options: [] },
        routes: {
          preferredGateway: "fe80::1",
          prefixes: [{ prefix: "10.1.0.0/16" }, { prefix: "10.2.0.0/16" }],
        },
      },
    });
  });

  it("names every bad field with its fix", () => {
    assert.deepEqual(
      failures({
        mtu: 1500.5,
        congestionControl: "vegas",
        qos: { class: "gold" },
        dns: { servers: ["1.1.1.1", "8.8.8.8", "9.9.9.9", "10.0.0.1"], options: ["bogus"] },
        routes: {
          preferredDevice: "eth0; rm -rf /",
          prefixes: [{ prefix: "10.0.0.0/8" }, { prefix: "10.0.0.0/8" }],
        },
        colour: "blue",
      }),
      [
        { property: "congestionControl", reason: "must be one of: cubic, bbr, reno" },
        { property: "mtu", reason: "must be a whole number of bytes between 576 and 9000" },
        {
          property: "qos.class",
          reason: `must be one of the RFC 4594 classes: network-control, telephony, signaling, multimedia-conferencing, real-time-interactive, multimedia-streaming, broadcast-video, low-latency-data, oam, high-throughput-data, standard, low-priority-data`,
        },
        {
          property: "dns.servers",
          reason: "resolv.conf honours at most 3 servers: keep the 3 preferred ones",
        },
        {
          property: "dns.options[0]",
          reason:
            "must be a resolv.conf option: ndots:N, timeout:N, attempts:N, rotate, edns0, single-request, single-request-reopen, no-aaaa, trust-ad or use-vc",
        },
        {
          property: "routes.preferredDevice",
          reason:
            "must be an interface name: 1-15 letters, digits, '_', '.', '-', not starting with '-' or '.'",
        },
        { property: "colour", reason: "unknown field 'colour': remove it or check its spelling" },
      ],
    );
  });

  it("reports cross-field problems after the shape is valid", () => {
    assert.deepEqual(
      failures({ routes: { prefixes: [{ prefix: "10.0.0.0/8" }, { prefix: "10.0.0.0/8" }] } }),
      [
        {
          property: "routes.prefixes[1].prefix",
          reason: "duplicate prefix 10.0.0.0/8: list each prefix once",
        },
      ],
    );
  });

  it("skips values unknown at preview", () => {
    assert.equal(validatePersona({ mtu: UNKNOWN, dns: { servers: [UNKNOWN] } }).ok, false); // unknowns never validate...
    assert.deepEqual(failures({ mtu: UNKNOWN, dns: { servers: [UNKNOWN] } }), []); // ...but report nothing
    const r = validatePersona({ mtu: UNKNOWN, congestionControl: "vegas" });
    assert.deepEqual(r.ok ? [] : r.failures, [
      { property: "congestionControl", reason: "must be one of: cubic, bbr, reno" },
    ]);
  });

  it("checks CIDR prefixes and IPv6 forms exactly", () => {
    assert.equal(cidrProblem("10.0.0.0/8"), undefined);
    assert.equal(
      cidrProblem("10.1.2.3/8"),
      "host bits are set or the form is not canonical: did you mean 10.0.0.0/8?",
    );
    assert.equal(
      cidrProblem("2001:db8::1/32"),
      "host bits are set or the form is not canonical: did you mean 2001:db8::/32?",
    );
    assert.equal(cidrProblem("10.0.0.0/33"), "prefix length must be at most 32");
    assert.equal(cidrProblem("bogus"), "must be a prefix in CIDR form, e.g. 10.20.0.0/16");
    assert.equal(canonicalIp("::ffff:10.0.0.1"), "::ffff:a00:1");
    assert.equal(canonicalIp("1:0:0:1:0:0:0:1"), "1:0:0:1::1");
  });

  it("never crashes on thousands of random inputs (property test of check)", async () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(UNKNOWN),
      fc.ipV4(),
      fc.ipV6(),
      fc.constantFrom(
        "cubic",
        "bbr",
        "reno",
        "route",
        "link",
        "telephony",
        "10.0.0.0/8",
        "::/0",
        "eth0",
        "-x",
        "a b",
      ),
    );
    const keys = fc.constantFrom(
      "congestionControl",
      "mtu",
      "mtuScope",
      "qos",
      "dns",
      "routes",
      "class",
      "servers",
      "search",
      "options",
      "prefixes",
      "prefix",
      "via",
      "dev",
      "metric",
      "preferredGateway",
      "preferredDevice",
      "htbPriority",
      "__proto__",
      "constructor",
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(keys, tie("node"), { maxKeys: 5 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(keys, value, { maxKeys: 6 }), async (news) => {
        const r = await personaProvider.check!({}, news as Record<string, unknown>);
        for (const f of r.failures ?? []) {
          assert.equal(typeof f.property, "string");
          assert.ok(f.reason.length > 0);
        }
        if (!r.failures?.length)
          assert.ok(validatePersona(news).ok || JSON.stringify(news).includes(UNKNOWN));
      }),
      { numRuns: 3000, seed: 42 },
    );
  });
});
