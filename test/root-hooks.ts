// Mocha root hooks: at the end of the whole suite, no lab namespace, link, process or state folder that
// appeared during the run may be left. Leftovers fail the run (and are then removed, so the machine is clean).
// Labs made by another process that is still running (someone else's test run on a shared machine) are
// not this suite's leftovers: they are neither reported nor removed.
import assert from "node:assert/strict";

import { labDown } from "../provider/lab";
import { alive } from "../provider/lab/procs";
import { labOwner } from "../provider/lab/state";
import { isEmpty, leftovers, snapshotLabs, type LabSnapshot } from "./lab-fixture";

let before: LabSnapshot | undefined;

function labOf(entry: string): string {
  const lab = /labs\/([a-z][a-z0-9-]*)\//.exec(entry)?.[1];
  return lab ?? entry.replace(/^np-/, "").replace(/-(r|h[0-9]+)$/, "");
}

async function foreign(name: string): Promise<boolean> {
  const owner = await labOwner(name).catch(() => undefined);
  return owner !== undefined && owner !== process.pid && alive(owner);
}

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    before = await snapshotLabs();
  },
  async afterAll(): Promise<void> {
    if (!before) return;
    const all = leftovers(before, await snapshotLabs());
    const names = new Set([...all.labDirs, ...all.netns, ...all.links, ...all.processes].map(labOf));
    const others = new Set<string>();
    for (const n of names) if (await foreign(n)) others.add(n);
    const mine = (xs: string[]) => xs.filter((x) => !others.has(labOf(x)));
    const left = {
      netns: mine(all.netns),
      links: mine(all.links),
      processes: mine(all.processes),
      labDirs: mine(all.labDirs),
    };
    if (isEmpty(left)) return;
    for (const name of names) if (!others.has(name)) await labDown(name).catch(() => undefined);
    assert.deepEqual(
      left,
      { netns: [], links: [], processes: [], labDirs: [] },
      "labs were left behind by the suite",
    );
  },
};
