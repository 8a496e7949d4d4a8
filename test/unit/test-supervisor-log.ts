// The supervisor's log rotation: the previous log is whole whenever anyone reads it.
import * as assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { rotateLog } from "../../provider/bootstrap/supervisor";

describe("supervisor log rotation", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "np-suplog-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves a log at or under the limit alone", () => {
    const log = join(dir, "agent.log");
    writeFileSync(log, "a".repeat(100));
    assert.equal(rotateLog(log, 100), false);
    assert.deepEqual(readdirSync(dir), ["agent.log"]);
  });

  it("moves the whole log to .1 by rename and opens the current one with a note", () => {
    const log = join(dir, "agent.log");
    writeFileSync(`${log}.1`, "older\n");
    writeFileSync(log, "b".repeat(101));
    assert.equal(rotateLog(log, 100), true);
    assert.equal(readFileSync(`${log}.1`, "utf8"), "b".repeat(101));
    assert.equal(
      readFileSync(log, "utf8"),
      `supervisor: log rotated at 101 bytes (limit 100); previous in ${log}.1\n`,
    );
    // No temporary copy is left beside them.
    assert.deepEqual(readdirSync(dir).sort(), ["agent.log", "agent.log.1"]);
  });

  it("does nothing when there is no log yet", () => {
    assert.equal(rotateLog(join(dir, "agent.log"), 100), false);
    assert.deepEqual(readdirSync(dir), []);
  });
});
