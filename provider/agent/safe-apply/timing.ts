// Benchmark helper: the time of one full apply + verify (read back, re-plan) on a host controller, alternating
// two personas so that every round really changes the kernel, and the time of a no-op apply after it.
import type { Persona } from "../../persona/schema";
import type { HostController } from "../host/api";

export interface ApplyTimings {
  rounds: number;
  /** apply + verify of a persona that differs from the live one, in ms. */
  changeMs: { median: number; min: number; max: number };
  /** apply of the persona already in place (read, plan, nothing to run), in ms. */
  noopMs: { median: number; min: number; max: number };
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return { median: r(s[Math.floor(s.length / 2)]), min: r(s[0]), max: r(s[s.length - 1]) };
}

const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** Restores the host afterwards; `a` and `b` should differ in every field they set. */
export async function measureApplyVerify(
  controller: HostController,
  a: Persona,
  b: Persona,
  rounds = 10,
): Promise<ApplyTimings> {
  const snap = await controller.snapshot();
  const change: number[] = [];
  const noop: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const p = i % 2 === 0 ? a : b;
      let t = process.hrtime.bigint();
      const first = await controller.apply(p);
      change.push(elapsedMs(t));
      t = process.hrtime.bigint();
      const second = await controller.apply(p);
      noop.push(elapsedMs(t));
      if (!first.changed || second.changed)
        throw new Error("measureApplyVerify: personas a and b must differ");
    }
  } finally {
    await controller.restore(snap);
  }
  return { rounds, changeMs: stats(change), noopMs: stats(noop) };
}
