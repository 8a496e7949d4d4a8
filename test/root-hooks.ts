// Mocha root hooks: at the end of the whole suite, no lab namespace, link, process or state folder that
// appeared during the run may be left. Leftovers fail the run (and are then removed, so the machine is clean).
import assert from "node:assert/strict";

import { labDown } from "../provider/lab";
import { isEmpty, leftovers, snapshotLabs, type LabSnapshot } from "./lab-fixture";

let before: LabSnapshot | undefined;

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    before = await snapshotLabs();
  },
  async afterAll(): Promise<void> {
    if (!before) return;
    const left = leftovers(before, await snapshotLabs());
    if (isEmpty(left)) return;
    const labs = new Set<string>(left.labDirs);
    for (const ns of left.netns) labs.add(ns.replace(/^np-/, "").replace(/-(r|h[0-9]+)$/, ""));
    for (const l of left.links) labs.add(l.replace(/^np-/, ""));
    for (const name of labs) await labDown(name).catch(() => undefined);
    assert.deepEqual(
      left,
      { netns: [], links: [], processes: [], labDirs: [] },
      "labs were left behind by the suite",
    );
  },
};
