// loadPersonas: persona definitions kept in a repository, with errors naming file, position, field and fix.
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

import { RunError } from "@pulumi/pulumi/errors";

import { loadPersonas, PersonaFileError } from "../../sdk/persona-files";

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

  it("orders the report by file, line and column, and prints it once as plain text (a RunError)", () => {
    writeFileSync(
      join(dir, "a.yaml"),
      "web:\n  routes:\n    metric: -1\n  mtu: 100\n  __proto__:\n    admin: true\n",
    );
    writeFileSync(join(dir, "b.yaml"), "db:\ncache: 1400\n");
    assert.throws(
      () => loadPersonas(dir),
      (err: PersonaFileError) => {
        assert.deepEqual(err.problems, [
          `${dir}/a.yaml:3:13: web.routes.metric: must be at least 0: give a whole number from 0 to 4294967295`,
          `${dir}/a.yaml:4:8: web.mtu: must be at least 576 (the IPv4 minimum datagram size)`,
          `${dir}/a.yaml:6:5: web.__proto__: field '__proto__' is not allowed (it would replace the object's prototype): remove it`,
          `${dir}/b.yaml:1:4: db: must be an object with persona fields such as mtu, congestionControl, qos, dns or routes, not null: e.g. {mtu: 1400, congestionControl: "bbr"}`,
          `${dir}/b.yaml:2:8: cache: must be an object with persona fields such as mtu, congestionControl, qos, dns or routes, not a whole number: e.g. {mtu: 1400, congestionControl: "bbr"}`,
        ]);
        assert.equal(err.stack, err.message);
        assert.equal(RunError.isInstance(err), true);
        assert.equal(err.message.includes("\u001b["), false); // no colour codes
        return true;
      },
    );
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it("says which folder is missing or empty, and what to do", () => {
    const missing = join(dir, "nope");
    assert.throws(() => loadPersonas(missing), {
      message: `persona folder ${missing} does not exist: create it with one *.yaml, *.yml or *.json file per group of personas, or pass loadPersonas the right path (relative paths start at the working directory, ${process.cwd()})`,
    });
    const rel = relative(process.cwd(), missing);
    assert.throws(() => loadPersonas(rel), {
      message: `persona folder ${rel} (${missing}) does not exist: create it with one *.yaml, *.yml or *.json file per group of personas, or pass loadPersonas the right path (relative paths start at the working directory, ${process.cwd()})`,
    });
    writeFileSync(join(dir, "README.md"), "# no personas here\n");
    assert.throws(() => loadPersonas(dir), {
      message: `persona folder ${dir} has no *.yaml, *.yml or *.json files: add one, e.g. web.yaml with "web: {mtu: 1400}"`,
    });
    assert.throws(() => loadPersonas(join(dir, "README.md")), {
      message: `persona folder ${join(dir, "README.md")} is not a folder: pass loadPersonas the folder that holds the persona files`,
    });
  });
});
