// The agent's state file across the vocabulary change: a file written when the committed persona was
// called `current` opens with it as `committed`, and is written back under the new name only.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { StateStore, STATE_FILE } from "../../provider/agent/state";

describe("agent state file", () => {
  it("reads a committed persona stored as `current` (older files) and writes it back as `committed`", async () => {
    const dir = await mkdtemp(join(tmpdir(), "netpersona-state-"));
    try {
      const persona = { mtu: 1400, mtuScope: "route" };
      await writeFile(join(dir, STATE_FILE), JSON.stringify({ version: 1, current: persona, sessions: {} }));
      const store = await StateStore.open(dir);
      assert.deepEqual(store.get().committed, persona);
      await store.update(() => undefined);
      const written = JSON.parse(await readFile(join(dir, STATE_FILE), "utf8")) as Record<string, unknown>;
      assert.deepEqual([written.committed, "current" in written], [persona, false]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
