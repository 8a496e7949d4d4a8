// Every message a user reads is ours: field path, rule and fix, never zod's defaults, never `{<nil>}`.
import * as assert from "node:assert/strict";

import { providerFor } from "../../provider/resources/registry";
import { validatePersona } from "../../provider/persona/validate";

const VERSION = { netpersonaVersion: "0.1.0", __provider: "shim" };

async function check(kind: string, news: Record<string, unknown>) {
  return (await providerFor(kind).check({}, { ...news, ...VERSION })).failures ?? [];
}

describe("validation messages", () => {
  it("names nested fields in the reason (the engine resolves only top-level keys) and shows scalars' values", async () => {
    assert.deepEqual(
      await check("persona", {
        mtu: 70000,
        qos: { class: "fast", htbPriority: 9 },
        routes: { metric: -1, prefixes: [{ prefix: "10.1.2.3/16" }] },
      }),
      [
        { property: "mtu", reason: "must be at most 9000 (jumbo frames)" },
        {
          property: "",
          reason:
            "qos.class: must be one of the RFC 4594 classes: network-control, telephony, signaling, multimedia-conferencing, real-time-interactive, multimedia-streaming, broadcast-video, low-latency-data, oam, high-throughput-data, standard, low-priority-data",
        },
        { property: "", reason: "qos.htbPriority: must be at most 7: give a whole number from 0 to 7" },
        {
          property: "",
          reason: "routes.metric: must be at least 0: give a whole number from 0 to 4294967295",
        },
        {
          property: "",
          reason:
            "routes.prefixes[0].prefix: host bits are set or the form is not canonical: did you mean 10.1.0.0/16?",
        },
      ],
    );
  });

  it("renders every kind of zod issue in our words", async () => {
    assert.deepEqual(
      await check("persona", {
        qos: "fast",
        dns: { servers: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], search: "corp.example.com" },
        routes: { prefixes: Array.from({ length: 66 }, (_, i) => ({ prefix: `10.${i}.0.0/16` })) },
        mtu: null,
        personaName: 7,
      }),
      [
        {
          property: "personaName",
          reason: 'must be a string, not a whole number: give a display name such as "web", or leave it out',
        },
        {
          property: "",
          reason:
            "mtu: must be a whole number of bytes between 576 and 9000, not null: give one or leave the field out",
        },
        {
          property: "qos",
          reason:
            "must be an object with fields such as class, htbPriority, not a string: give its fields as an object, e.g. {class: ...}",
        },
        {
          property: "",
          reason: "dns.servers: resolv.conf honours at most 3 servers: keep the 3 preferred ones",
        },
        {
          property: "",
          reason: "dns.search: must be a list, not a string: put the value in a list: [value]",
        },
        { property: "", reason: "routes.prefixes: must list at most 64 items, not 66: remove 2" },
      ],
    );
    assert.deepEqual(await check("stack-ca", { commonName: "", validityDays: "30", rotation: null }), [
      { property: "commonName", reason: "must not be empty: give a value" },
      {
        property: "validityDays",
        reason: "must be a whole number from 1 to 36500, not a string: write the number without quotes",
      },
      { property: "", reason: "rotation: must be a string, not null: give one or leave the field out" },
    ]);
    assert.deepEqual(await check("persona", { congestionControl: null, mtu: null, mtuScope: null }), [
      {
        property: "",
        reason:
          "congestionControl: must be one of: cubic, bbr, reno, not null: give one or leave the field out",
      },
      {
        property: "",
        reason:
          "mtu: must be a whole number of bytes between 576 and 9000, not null: give one or leave the field out",
      },
      {
        property: "",
        reason: "mtuScope: must be one of: route, link, both, not null: give one or leave the field out",
      },
    ]);
    assert.deepEqual(await check("persona", { qos: null, dns: { servers: [] }, routes: { metric: 1.5 } }), [
      {
        property: "",
        reason:
          "qos: must be an object with fields such as class, htbPriority, not null: give one or leave the field out",
      },
      { property: "", reason: "dns.servers: list at least one server" },
      {
        property: "",
        reason:
          "routes.metric: must be a whole number from 0 to 4294967295, not a number: change it to a whole number",
      },
    ]);
  });

  it("says what a required field needs, from its description", async () => {
    const f = await check("attachment", {
      persona: {},
      caCertPem: "c",
      clientCertPem: "c",
      clientKeyPem: "k",
    });
    assert.deepEqual(f, [{ property: "", reason: "endpoint: is required: give a string" }]);
    const m = await check("migration", { migrationName: "m", peer: "10.0.0.9", source: {} });
    assert.deepEqual(m.slice(0, 2), [
      { property: "", reason: "source.endpoint: is required: give a string" },
      { property: "", reason: "source.caCertPem: is required: give a string" },
    ]);
    assert.deepEqual(m.at(-1), {
      property: "",
      reason:
        "destination: is required: give an object with fields such as endpoint, caCertPem, clientCertPem, clientKeyPem (the destination agent (an Agent resource))",
    });
  });

  it("refuses __proto__, constructor and prototype keys by their own name, without polluting", async () => {
    assert.deepEqual(
      await check(
        "persona",
        JSON.parse('{"__proto__": {"admin": true}, "qos": {"class": "oam", "constructor": 1}}'),
      ),
      [
        {
          property: "",
          reason:
            "__proto__: field '__proto__' is not allowed (it would replace the object's prototype): remove it",
        },
        {
          property: "",
          reason:
            "qos.constructor: field 'constructor' is not allowed (a reserved JavaScript name): remove it",
        },
      ],
    );
    // Through the SDK the key arrives renamed (Pulumi's serializer would have made it a prototype).
    assert.deepEqual(await check("persona", { "netpersona:forbidden-key:prototype": {} }), [
      {
        property: "",
        reason: "prototype: field 'prototype' is not allowed (a reserved JavaScript name): remove it",
      },
    ]);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it("bounds what would swell the state: a display name over 128 characters, a search domain over 253", async () => {
    assert.deepEqual(await check("persona", { personaName: "w".repeat(2_000_000), mtu: 1400 }), [
      {
        property: "personaName",
        reason: 'must be at most 128 characters, not 2000000: a short display name such as "web"',
      },
    ]);
    assert.deepEqual(
      await check("persona", { dns: { servers: ["10.0.0.1"], search: ["a".repeat(100_000)] } }),
      [{ property: "", reason: "dns.search[0]: must be at most 253 characters (a DNS name), not 100000" }],
    );
  });

  it("says a missing persona is required, in words (not 'a undefined')", () => {
    assert.deepEqual(validatePersona(undefined, ["persona"]), {
      ok: false,
      failures: [
        {
          property: "persona",
          reason:
            'is required: give an object with persona fields such as mtu, congestionControl, qos, dns or routes, e.g. {mtu: 1400, congestionControl: "bbr"}',
        },
      ],
    });
  });

  it("says what a persona is when it is null, a string, a number or a list", () => {
    for (const [input, got] of [
      [null, "null"],
      ["fast", "a string"],
      [1400, "a whole number"],
      [14.5, "a number"],
      [[], "a list"],
    ] as const) {
      assert.deepEqual(validatePersona(input), {
        ok: false,
        failures: [
          {
            property: "(root)",
            reason: `must be an object with persona fields such as mtu, congestionControl, qos, dns or routes, not ${got}: e.g. {mtu: 1400, congestionControl: "bbr"}`,
          },
        ],
      });
    }
  });
});
