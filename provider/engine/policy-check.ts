// Cross-field rules of the adjustment policy: each message names the field and says the fix.
import type { z } from "zod";

import { BUILTIN_IDS } from "./rule-ids";

interface Band {
  enter: number;
  exit: number;
}

/** The parts of the parsed policy the cross-field rules look at. */
interface Checked {
  probeIntervalMs: number;
  detectionWindowMs: number;
  maxDurationMs: number;
  thresholds: { latencyHighMs: Band; lossMediumPct: Band; jitterHighMs: Band; throughputFloorBps: Band };
  schedule: { steps: { weight: number; dwellMs: number }[] };
  extraRules: { id: string; when: { op: string; value: number }; exitValue?: number }[];
}

export function checkPolicy(p: Checked, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });

  for (const name of ["latencyHighMs", "lossMediumPct", "jitterHighMs"] as const) {
    const b = p.thresholds[name];
    if (b.exit > b.enter) {
      issue(
        ["thresholds", name, "exit"],
        `must be at most enter (${b.enter}): the hysteresis band lies below enter`,
      );
    }
  }
  const floor = p.thresholds.throughputFloorBps;
  if (floor.exit < floor.enter) {
    issue(
      ["thresholds", "throughputFloorBps", "exit"],
      `must be at least enter (${floor.enter}): throughput recovers above the floor, not below it`,
    );
  }
  if (p.thresholds.lossMediumPct.enter > 100) {
    issue(["thresholds", "lossMediumPct", "enter"], "is a percentage: give at most 100, e.g. 2 for 2%");
  }

  const steps = p.schedule.steps;
  steps.forEach((s, i) => {
    if (!(s.weight > 0 && s.weight <= 1)) {
      issue(["schedule", "steps", i], `weight ${s.weight} must lie in (0, 1]`);
    } else if (i > 0 && s.weight <= steps[i - 1].weight) {
      issue(["schedule", "steps", i], `weights must ascend: ${s.weight} follows ${steps[i - 1].weight}`);
    }
  });
  if (steps.length > 0 && steps[steps.length - 1].weight !== 1) {
    issue(["schedule", "steps"], "must end at weight 1 (the shadow persona fully applied)");
  }

  if (p.detectionWindowMs < p.probeIntervalMs) {
    issue(["detectionWindowMs"], `must be at least probeIntervalMs (${p.probeIntervalMs})`);
  }
  if (p.maxDurationMs < p.probeIntervalMs) {
    issue(["maxDurationMs"], `must be at least probeIntervalMs (${p.probeIntervalMs})`);
  }

  const seen = new Set<string>();
  p.extraRules.forEach((r, i) => {
    if (BUILTIN_IDS.has(r.id) || seen.has(r.id)) {
      issue(["extraRules", i, "id"], `'${r.id}' is already used: give each rule its own id`);
    }
    seen.add(r.id);
    const up = r.when.op === ">" || r.when.op === ">=";
    if (r.exitValue !== undefined && (up ? r.exitValue > r.when.value : r.exitValue < r.when.value)) {
      issue(
        ["extraRules", i, "exitValue"],
        `must be ${up ? "at most" : "at least"} when.value (${r.when.value}): it lies on the recovered side`,
      );
    }
  });
}
