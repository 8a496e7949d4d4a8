// Properties of the adjustment engine over thousands of generated sessions (fixed seeds): bounded
// convergence, no flapping under noise, and never a persona outside the schema.
import * as assert from "node:assert/strict";

import * as fc from "fast-check";

import {
  decide,
  simulate,
  startEngine,
  EngineInputError,
  type Decision,
  type FieldChange,
  type MetricsWindow,
  type PolicyInput,
  type ScenarioStep,
} from "../../provider/engine";
import { QOS_PRIORITY_ORDER } from "../../provider/persona/schema";
import { validatePersona } from "../../provider/persona/validate";
import { feedbackArb, metricsArb, personaArb, scheduleArb, SEEDS } from "../engine-arbitraries";

const dbl = (min: number, max: number) => fc.double({ min, max, noNaN: true });

/** Metrics the default rules and gates see as fine (rttP90 ≤ 80, loss ≤ 1%, no path MTU below any persona). */
const inside = {
  rttP50Ms: dbl(0, 1e4),
  rttP90Ms: dbl(0, 80),
  lossRatio: dbl(0, 0.01),
  jitterMs: dbl(0, 1e4),
  throughputBps: dbl(0, 1e11),
  pathMtu: fc.oneof(fc.constant(0), fc.integer({ min: 9000, max: 65535 })),
};
const insideArb: fc.Arbitrary<MetricsWindow> = fc.record(inside);

function assertValid(d: Decision): void {
  for (const p of [d.persona, d.plan.persona]) {
    const r = validatePersona(p);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value, p);
  }
}

describe("adjustment engine: properties", () => {
  it("converges within 1 + Σ max(1, ⌈dwell/interval⌉) over all steps but the last + quietIntervals", () => {
    const fb = fc.oneof(
      feedbackArb.map((f) => ({ feedback: { ...f, degraded: false }, feedbackLinkUp: true })),
      feedbackArb.map((f) => ({ feedback: f, feedbackLinkUp: false })),
    );
    const arbs = [
      personaArb,
      personaArb,
      scheduleArb,
      fc.integer({ min: 500, max: 5000 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.tuple(insideArb, fb), { minLength: 1, maxLength: 12 }),
    ] as const;
    fc.assert(
      fc.property(...arbs, (source, target, steps, dt, quiet, samples) => {
        const bound =
          1 + steps.slice(0, -1).reduce((n, s) => n + Math.max(1, Math.ceil(s.dwellMs / dt)), 0) + quiet;
        const policy = {
          probeIntervalMs: dt,
          detectionWindowMs: dt,
          maxDurationMs: 1e9,
          schedule: { steps },
          convergence: { quietIntervals: quiet },
        };
        const timeline: ScenarioStep[] = Array.from({ length: bound + 3 }, (_, i) => {
          const [metrics, f] = samples[i % samples.length];
          return { metrics, ...f };
        });
        const r = simulate(policy, { source, target, timeline });
        assert.equal(r.final.phase, "converged");
        assert.equal(r.intervals, bound);
        assert.deepEqual(r.persona, target, "nothing to adjust inside the thresholds");
        assert.deepEqual(r.plan.persona, target);
      }),
      { numRuns: 2000, seed: SEEDS.converge },
    );
  });

  it("metrics inside the hysteresis band never change the persona, however they move", () => {
    const params = fc.record({
      enter: fc.integer({ min: 50, max: 500 }),
      width: dbl(1, 50),
      lossEnter: dbl(1, 10),
      lossWidth: dbl(0.1, 1),
      dwellIn: fc.integer({ min: 1, max: 4 }),
      hot: fc.integer({ min: 0, max: 6 }),
      gap: fc.integer({ min: 0, max: 20000 }),
    });
    const withNoise = params.chain((p) => {
      const [exit, lossExit] = [p.enter - p.width, p.lossEnter - p.lossWidth];
      const band = fc.record({
        ...inside,
        rttP90Ms: fc.double({ min: exit, max: p.enter, minExcluded: true, noNaN: true }),
        // A hair inside the band: the engine compares lossRatio × 100, which may round onto a bound.
        lossRatio: dbl((lossExit / 100) * (1 + 1e-9), (p.lossEnter / 100) * (1 - 1e-9)),
        pathMtu: fc.constant(0),
      });
      return fc.tuple(
        fc.constant({ ...p, exit, lossExit }),
        fc.array(band, { minLength: 1, maxLength: 150 }),
      );
    });
    fc.assert(
      fc.property(withNoise, ([p, noise]) => {
        const policy: PolicyInput = {
          maxDurationMs: 1e9,
          gates: [],
          thresholds: {
            latencyHighMs: { enter: p.enter, exit: p.exit },
            lossMediumPct: { enter: p.lossEnter, exit: p.lossExit },
          },
          dwell: { enterIntervals: p.dwellIn, exitIntervals: 1, minChangeGapMs: p.gap },
          rules: { latencyHigh: { recover: true }, lossMedium: { recover: true } },
        };
        const above = {
          ...noise[0],
          rttP90Ms: p.enter + 1,
          lossRatio: Math.min(1, p.lossEnter / 100 + 0.01),
        };
        const r = simulate(policy, {
          source: { congestionControl: "cubic", mtu: 1500, qos: { class: "standard" } },
          timeline: [
            { metrics: above, repeat: p.hot },
            ...noise.map((metrics) => ({ metrics, feedbackLinkUp: false })),
          ],
        });
        const late = r.history.filter(
          (h) => h.interval > p.hot && (h.kind === "adjust" || h.kind === "deferred"),
        );
        assert.deepEqual(late, []);
        const changes = r.history.filter((h) => h.kind === "adjust").length;
        assert.equal(changes, p.hot >= p.dwellIn ? 3 : 0);
      }),
      { numRuns: 2000, seed: SEEDS.noise },
    );
  });

  it("arbitrary metric sequences change a field at most once per minChangeGapMs", () => {
    const step = fc.record({ metrics: metricsArb, feedback: feedbackArb, feedbackLinkUp: fc.boolean() });
    const arbs = [
      personaArb,
      fc.array(step, { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 0, max: 20000 }),
      fc.integer({ min: 1, max: 3 }),
    ] as const;
    fc.assert(
      fc.property(...arbs, (source, timeline, gap, dwell) => {
        const rules = Object.fromEntries(
          ["latencyHigh", "lossMedium", "sourceDegraded", "pmtuBlackHole", "jitterHigh", "throughputLow"].map(
            (id) => [id, { enabled: true, recover: true }],
          ),
        );
        const dwellAll = { minChangeGapMs: gap, enterIntervals: dwell, exitIntervals: dwell };
        // No gates, no convergence: the session runs the whole timeline.
        const policy: PolicyInput = {
          gates: [],
          maxDurationMs: 1e9,
          rules,
          dwell: dwellAll,
          schedule: { stepDwellMs: 1e9 },
        };
        const r = simulate(policy, { source, timeline });
        const span = (r.intervals - 1) * 2000;
        const byField = new Map<FieldChange["field"], number[]>();
        for (const h of r.history)
          for (const c of h.changes) byField.set(c.field, [...(byField.get(c.field) ?? []), h.timeMs]);
        for (const times of byField.values()) {
          const bound = gap > 0 ? 1 + Math.floor(span / gap) : r.intervals;
          assert.ok(times.length <= bound, `${times.length} changes > bound ${bound}`);
          times
            .slice(1)
            .forEach((t, i) => assert.ok(t - times[i] >= gap, `changes ${t - times[i]} ms apart`));
        }
      }),
      { numRuns: 2000, seed: SEEDS.noise },
    );
  });

  it("never produces a persona or a blended persona outside the schema", () => {
    const EXTRA = {
      id: "x",
      when: { metric: "jitterMs", op: ">", value: 10 },
      then: [
        { field: "qos.class", action: "set", value: "oam" },
        { field: "mtu", action: "cap", value: 600 },
      ],
    } as const satisfies NonNullable<PolicyInput["extraRules"]>[number];
    const knobs = fc.record({
      mtu: fc.record({
        latencyCap: fc.integer({ min: 576, max: 9000 }),
        degradedCap: fc.integer({ min: 576, max: 9000 }),
        pmtuHeadroom: fc.integer({ min: 0, max: 1000 }),
      }),
      qos: fc.record({
        raiseSteps: fc.integer({ min: 1, max: 11 }),
        ceiling: fc.constantFrom(...QOS_PRIORITY_ORDER),
      }),
      extraRules: fc.boolean().map((on): PolicyInput["extraRules"] => (on ? [EXTRA] : [])),
    });
    const step = fc.record({ metrics: metricsArb, feedback: feedbackArb, feedbackLinkUp: fc.boolean() });
    fc.assert(
      fc.property(
        personaArb,
        personaArb,
        knobs,
        fc.array(step, { minLength: 1, maxLength: 30 }),
        (s, t, k, steps) => {
          const policy: PolicyInput = {
            ...k,
            dwell: { enterIntervals: 1, minChangeGapMs: 0 },
            schedule: { stepDwellMs: 0 },
          };
          let state = startEngine({ source: s, target: t, policy, timeMs: 0 });
          steps.forEach((x, i) => {
            const d = decide(state, { ...x, timeMs: (i + 1) * 1000 });
            assertValid(d);
            state = d.state;
          });
        },
      ),
      { numRuns: 1500, seed: SEEDS.valid },
    );
  });

  it("refuses any malformed input with EngineInputError naming the field", () => {
    const state = startEngine({ source: { mtu: 1500 }, timeMs: 0 });
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        assert.throws(
          () => decide(state, { timeMs: 1, metrics: junk as MetricsWindow, feedbackLinkUp: true }),
          (e: unknown) =>
            e instanceof EngineInputError && e.failures.every((f) => f.property.startsWith("metrics")),
        );
      }),
      { numRuns: 1000, seed: SEEDS.valid },
    );
  });
});
