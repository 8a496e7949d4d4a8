// loadPersonas: persona definitions kept in a repository, with errors naming file, position, field and fix.
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { loadPersonas, PersonaFileError } from "../provider/persona/files";

describe("persona files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "np-personas-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("loads YAML and JSON files into normalised personas, ignoring other files", () => {
    writeFileSync(
      join(dir, "web.yaml"),
      "web:\n  congestionControl: bbr\n  dns:\n    servers: [2001:DB8::53]\n",
    );
    writeFileSync(
      join(dir, "db.json"),
      JSON.stringify({ db: { qos: { class: "low-latency-data" }, mtu: 9000 } }),
    );
    writeFileSync(join(dir, "README.md"), "# not a persona\n");
    assert.deepEqual(loadPersonas(dir), {
      db: { mtuScope: "route", mtu: 9000, qos: { class: "low-latency-data" } },
      web: {
        mtuScope: "route",
        congestionControl: "bbr",
        dns: { servers: ["2001:db8::53"], search: [], options: [] },
      },
    });
  });

  it("reports every problem of every file with file:line:col, field and fix", () => {
    writeFileSync(
      join(dir, "a.yaml"),
      "web:\n  congestionControl: bbr\n  mtu: 70000\n  routes:\n    prefixes:\n      - prefix: 10.1.2.3/16\n  colour: blue\n",
    );
    writeFileSync(join(dir, "b.json"), '{"web": {"mtu": 1400}, "Bad Name": {}}');
    writeFileSync(join(dir, "c.yml"), "just a string\n");
    writeFileSync(join(dir, "d.yaml"), "x: [unclosed\n");
    assert.throws(
      () => loadPersonas(dir),
      (err: PersonaFileError) => {
        assert.deepEqual(err.problems, [
          `${dir}/a.yaml:3:8: web.mtu: must be at most 9000 (jumbo frames)`,
          `${dir}/a.yaml:6:17: web.routes.prefixes[0].prefix: host bits are set or the form is not canonical: did you mean 10.1.0.0/16?`,
          `${dir}/a.yaml:7:11: web.colour: unknown field 'colour': remove it or check its spelling`,
          `${dir}/b.json:1:2: persona 'web' is already defined in ${dir}/a.yaml: rename one`,
          `${dir}/b.json:1:24: persona name 'Bad Name' is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter`,
          `${dir}/c.yml:1:1: expected a mapping of persona names to definitions, e.g. "web: {mtu: 1400}"`,
          `${dir}/d.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1`,
        ]);
        assert.match(err.message, /^invalid persona files:\n {2}\//);
        return true;
      },
    );
  });
});
