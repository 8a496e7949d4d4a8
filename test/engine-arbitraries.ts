// fast-check generators shared by the engine and blend tests: valid personas, metrics, feedback, schedules.
import * as fc from "fast-check";

import type { MetricsWindow, SourceFeedback } from "../provider/engine";
import { CONGESTION_CONTROLS, QOS_CLASS_NAMES, type Persona } from "../provider/persona/schema";
import { validatePersona } from "../provider/persona/validate";

const ip = fc.oneof(fc.ipV4(), fc.ipV6());
const prefix = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }))
  .map(([a, b]) => `${a}.${b}.0.0/16`);

export const personaArb: fc.Arbitrary<Persona> = fc
  .record(
    {
      congestionControl: fc.constantFrom(...CONGESTION_CONTROLS),
      mtu: fc.integer({ min: 576, max: 9000 }),
      mtuScope: fc.constantFrom("route", "link", "both"),
      qos: fc.record(
        { class: fc.constantFrom(...QOS_CLASS_NAMES), htbPriority: fc.integer({ min: 0, max: 7 }) },
        { requiredKeys: ["class"] },
      ),
      dns: fc.record({
        servers: fc.array(ip, { minLength: 1, maxLength: 3 }),
        search: fc.uniqueArray(fc.constantFrom("a.example", "b.example", "corp.example.com", "x.test"), {
          maxLength: 4,
        }),
        options: fc.subarray(["ndots:2", "timeout:1", "rotate", "edns0"]),
      }),
      routes: fc.record(
        {
          preferredGateway: ip,
          preferredDevice: fc.constantFrom("eth0", "veth-a", "br0.10"),
          metric: fc.integer({ min: 0, max: 4294967295 }),
          prefixes: fc.uniqueArray(fc.record({ prefix, via: fc.ipV4() }, { requiredKeys: ["prefix"] }), {
            selector: (h) => h.prefix,
            maxLength: 4,
          }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  )
  .map((p) => {
    const r = validatePersona(p);
    if (!r.ok) throw new Error(`generator made an invalid persona: ${JSON.stringify(r.failures)}`);
    return r.value;
  });

/** Any metrics the schema accepts. */
export const metricsArb: fc.Arbitrary<MetricsWindow> = fc.record({
  rttP50Ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
  rttP90Ms: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(79, 80, 81, 100, 101)),
  lossRatio: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0.01, 0.02, 0.03)),
  jitterMs: fc.double({ min: 0, max: 1e4, noNaN: true }),
  throughputBps: fc.double({ min: 0, max: 1e11, noNaN: true }),
  pathMtu: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 500, max: 1600 })),
});

export const feedbackArb: fc.Arbitrary<SourceFeedback> = fc.record({
  rttMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
  retransmissions: fc.integer({ min: 0, max: 1e6 }),
  throughputBps: fc.double({ min: 0, max: 1e10, noNaN: true }),
  degraded: fc.boolean(),
});

/** A schedule: ascending weights in (0, 1] ending at 1, each with its dwell. */
export const scheduleArb = fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 7 }).chain((ws) => {
  const weights = [...ws.sort((a, b) => a - b).map((w) => w / 100), 1];
  return fc.tuple(
    ...weights.map((weight) => fc.integer({ min: 0, max: 20000 }).map((dwellMs) => ({ weight, dwellMs }))),
  );
});

export const SEEDS = { blend: 4594, converge: 1400, noise: 1200, valid: 2026 } as const;
