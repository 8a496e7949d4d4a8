// blend(source, target, w): exact plans at the schedule's weights, and properties over arbitrary personas.
import * as assert from "node:assert/strict";

import * as fc from "fast-check";

import { blend, type BlendPlan } from "../../provider/engine";
import type { Persona } from "../../provider/persona/schema";
import { validatePersona } from "../../provider/persona/validate";
import { personaArb, SEEDS } from "../engine-arbitraries";

function valid(input: unknown): Persona {
  const r = validatePersona(input);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

const source = valid({
  congestionControl: "cubic",
  mtu: 1500,
  qos: { class: "standard" },
  dns: { servers: ["10.0.0.53", "10.0.0.54"], search: ["src.example"] },
  routes: { preferredGateway: "10.1.0.1", preferredDevice: "eth0", prefixes: [{ prefix: "10.20.0.0/16" }] },
});
const target = valid({
  congestionControl: "bbr",
  mtu: 1300,
  qos: { class: "low-latency-data" },
  dns: { servers: ["10.9.0.53", "10.9.0.54", "10.9.0.55"], search: ["dst.example"], options: ["timeout:1"] },
  routes: { preferredGateway: "10.2.0.1", prefixes: [{ prefix: "10.30.0.0/16" }] },
});
const ROUTES = ["10.20.0.0/16", "10.30.0.0/16", "default"];

function expected(
  w: number,
  mtu: number,
  ecmp: BlendPlan["ecmp"],
  dns: Persona["dns"],
  k: number,
): BlendPlan {
  const lead = w >= 0.5 ? target : source;
  return {
    weight: w,
    leader: w >= 0.5 ? "target" : "source",
    persona: { ...lead, mtu, dns },
    ecmp,
    qos: { source: source.qos, target: target.qos, targetSharePct: Math.round(w * 100) },
    congestionControl: {
      source: "cubic",
      target: "bbr",
      targetRoutes: ROUTES.slice(0, k),
      sourceRoutes: ROUTES.slice(k),
    },
    mtu: { value: mtu, source: 1500, target: 1300, cappedByPathMtu: false },
    dns,
  };
}

const S = (weight: number) => ({ via: "10.1.0.1", dev: "eth0", weight, side: "source" as const });
const T = (weight: number) => ({ via: "10.2.0.1", weight, side: "target" as const });
const srcFirst = {
  servers: ["10.0.0.53", "10.9.0.53", "10.0.0.54"],
  search: ["src.example", "dst.example"],
  options: [],
};
const dstFirst = {
  servers: ["10.9.0.53", "10.0.0.53", "10.9.0.54"],
  search: ["dst.example", "src.example"],
  options: ["timeout:1"],
};

describe("blend plan", () => {
  it("at w = 0 is the source: all traffic on the source gateway, class, algorithm, MTU and DNS", () => {
    assert.deepEqual(blend(source, target, 0), expected(0, 1500, [S(1)], source.dns, 0));
  });
  it("at w = 0.25: ECMP 3:1, 25% of flows marked af21, one prefix on bbr, MTU 1450, source DNS first", () => {
    assert.deepEqual(blend(source, target, 0.25), expected(0.25, 1450, [S(3), T(1)], srcFirst, 1));
  });
  it("at w = 0.5: ECMP 1:1, half the flows, two of three routes on bbr, MTU 1400, target DNS first", () => {
    assert.deepEqual(blend(source, target, 0.5), expected(0.5, 1400, [S(1), T(1)], dstFirst, 2));
  });
  it("at w = 0.75: ECMP 1:3, 75% of flows, MTU 1350", () => {
    assert.deepEqual(blend(source, target, 0.75), expected(0.75, 1350, [S(1), T(3)], dstFirst, 2));
  });
  it("at w = 1 is the target", () => {
    assert.deepEqual(blend(source, target, 1), expected(1, 1300, [T(1)], target.dns, 3));
  });

  it("never puts the MTU above a measured path MTU, and never below 576", () => {
    assert.deepEqual(blend(source, target, 0, { pathMtu: 1280 }).mtu, {
      value: 1280,
      source: 1500,
      target: 1300,
      cappedByPathMtu: true,
    });
    assert.equal(blend(source, target, 1, { pathMtu: 400 }).persona.mtu, 576);
  });

  it("keeps one nexthop and marks every flow when both sides agree", () => {
    const p = blend(source, { ...source, congestionControl: "bbr" }, 0.25);
    assert.deepEqual(p.ecmp, [S(1)]);
    assert.equal(p.qos?.targetSharePct, 100);
    assert.deepEqual(p.congestionControl?.targetRoutes, ["10.20.0.0/16"]);
  });

  it("refuses a weight outside [0, 1]", () => {
    assert.throws(() => blend(source, target, 1.5), /blend weight 1.5 must lie in \[0, 1\]/);
    assert.throws(() => blend(source, target, Number.NaN), /blend weight NaN must lie in \[0, 1\]/);
  });

  it("for arbitrary personas and weights: a valid persona, both DNS lists kept, monotone splits", () => {
    const w = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(personaArb, personaArb, w, w, fc.integer({ min: 0, max: 9000 }), (s, t, a, b, pmtu) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const p = blend(s, t, lo, { pathMtu: pmtu });
        const r = validatePersona(p.persona);
        assert.ok(r.ok, JSON.stringify(r));
        assert.deepEqual(r.value, p.persona, "the blended persona is normalised");
        if (p.mtu && pmtu >= 576) assert.ok(p.mtu.value <= pmtu);
        if (p.mtu && !p.mtu.cappedByPathMtu) {
          assert.ok(p.mtu.value >= Math.min(p.mtu.source, p.mtu.target));
          assert.ok(p.mtu.value <= Math.max(p.mtu.source, p.mtu.target));
        }
        if (s.dns && t.dns && lo > 0 && lo < 1) {
          assert.ok(p.dns!.servers.length <= 3);
          assert.ok(p.dns!.servers.includes(s.dns.servers[0]) && p.dns!.servers.includes(t.dns.servers[0]));
          assert.equal(p.dns!.servers[0], (lo >= 0.5 ? t : s).dns!.servers[0]);
        }
        for (const n of p.ecmp ?? [])
          assert.ok(Number.isInteger(n.weight) && n.weight >= 1 && n.weight <= 100);
        if (p.qos) assert.ok([Math.round(lo * 100), 100].includes(p.qos.targetSharePct));
        const later = blend(s, t, hi).congestionControl?.targetRoutes ?? [];
        for (const k of p.congestionControl?.targetRoutes ?? [])
          assert.ok(later.includes(k), "routes only move forward");
        assert.deepEqual(blend(s, t, 0).persona, s);
        assert.deepEqual(blend(s, t, 1).persona, t);
      }),
      { numRuns: 3000, seed: SEEDS.blend },
    );
  });
});
