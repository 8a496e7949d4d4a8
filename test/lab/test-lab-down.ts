// `lab down` leaves nothing: namespaces, root links, processes (also ones started later inside a host) and
// files are compared before and after; a second down is a no-op; a crashed lab is cleared by name and by --all.
import assert from "node:assert/strict";
import { alive } from "../../provider/lab/procs";
import { labOwner } from "../../provider/lab/state";
import { rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";

import { labDown, labList, labUp } from "../../provider/lab";
import { run, start } from "../../provider/util/exec";
import { createLab, destroyLab, host, leftovers, snapshotLabs, isEmpty } from "../lab-fixture";

const CLI = path.join(__dirname, "..", "..", "..", "bin", "netpersona");

describe("lab down: removes everything a lab made", function () {
  it("leaves ip netns, ip link, processes and files as they were; a second down changes nothing", async function () {
    const before = await snapshotLabs();
    try {
      const inv = await createLab({ name: "npl-t3", hosts: 3 });
      const h1 = host(inv, "h1");
      const sleeper = start(["sleep", "300"], { netns: h1.netns, detached: true });
      sleeper.unref();
      const during = leftovers(before, await snapshotLabs());
      assert.deepEqual(during.netns, ["np-npl-t3-h1", "np-npl-t3-h2", "np-npl-t3-h3", "np-npl-t3-r"]);
      assert.deepEqual(during.links, ["np-npl-t3"]);
      assert.equal(during.processes.length, 3 + 2);
      const down = await labDown("npl-t3");
      assert.equal(down.namespaces.length, 4);
      assert.ok(down.processes >= 6, `ended ${down.processes} processes (3 sshd, 2 DNS, 1 sleep)`);
      assert.equal(sleeper.exitCode !== null || sleeper.signalCode !== null, true);
      assert.ok(isEmpty(leftovers(before, await snapshotLabs())));
      assert.equal(existsSync("/etc/netns/np-npl-t3-h1"), false);
      assert.equal((await run(["ip", "route", "show", inv.block])).stdout, "");
      const again = await labDown("npl-t3");
      assert.deepEqual(again.namespaces, []);
      assert.equal(again.processes, 0);
    } finally {
      await destroyLab("npl-t3");
    }
  });

  it("clears a lab whose run crashed (state folder gone) by name, and `lab down --all` clears every lab", async function () {
    // Labs of another live process (someone else's run on a shared machine) must survive; labs whose maker
    // is gone are crashed leftovers, exactly what `--all` is for.
    const others: string[] = [];
    for (const n of (await labList()).filter((x) => !x.startsWith("npl-t"))) {
      const owner = await labOwner(n);
      if (owner !== undefined && owner !== process.pid && alive(owner)) others.push(n);
    }
    assert.deepEqual(
      others,
      [],
      "labs of others are up: `lab down --all` would remove them; run this test alone",
    );
    const before = await snapshotLabs();
    try {
      const a = await createLab({ name: "npl-t4", hosts: 2 });
      await rm(a.stateDir, { recursive: true, force: true });
      await labDown("npl-t4");
      assert.ok(isEmpty(leftovers(before, await snapshotLabs())));
      const b = await createLab({ name: "npl-t5", hosts: 2, networks: 3 });
      await rm(path.join(b.stateDir, "inventory.json"));
      await createLab({ name: "npl-t6", hosts: 1, networks: 1 });
      const out = await run([process.execPath, CLI, "lab", "down", "--all", "--json"]);
      const r = JSON.parse(out.stdout);
      assert.deepEqual(r.labs, ["npl-t5", "npl-t6"]);
      assert.deepEqual(r.namespaces.sort(), [
        "np-npl-t5-h1",
        "np-npl-t5-h2",
        "np-npl-t5-r",
        "np-npl-t6-h1",
        "np-npl-t6-r",
      ]);
      assert.ok(isEmpty(leftovers(before, await snapshotLabs())));
      const again = JSON.parse((await run([process.execPath, CLI, "lab", "down", "--all", "--json"])).stdout);
      assert.deepEqual(again, { labs: [], namespaces: [], processes: 0 });
    } finally {
      for (const n of ["npl-t4", "npl-t5", "npl-t6"]) await destroyLab(n);
    }
  });

  it("removes what a failed `lab up` made before reporting the failure", async function () {
    const before = await snapshotLabs();
    // A link already holding the lab's root-side name makes `lab up` fail half way through.
    await run(["ip", "link", "add", "np-npl-t7", "type", "bridge"]);
    try {
      await assert.rejects(
        labUp({ name: "npl-t7", hosts: 2 }),
        /^Error: lab up 'npl-t7' failed \(everything it made was removed\): command failed .*\n.*File exists/,
      );
      const left = leftovers(before, await snapshotLabs());
      assert.deepEqual(left, { netns: [], links: ["np-npl-t7"], processes: [], labDirs: [] });
    } finally {
      await run(["ip", "link", "del", "np-npl-t7"], { check: false });
    }
  });
});
