// The README as a newcomer uses it, through the real `pulumi` CLI: a project folder outside the
// repository, the package installed from its packed tarball, the Quick start copied verbatim (TypeScript),
// the persona-file example, and hostile variants whose errors must be ours, once, in plain text.
import * as assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { CliProject, scratchProject } from "../cli-project";
import { REPO } from "../e2e";

/** The ```lang blocks of a markdown section (from its heading to the next heading of the same level). */
export function markdownBlocks(file: string, heading: string, lang: string): string[] {
  const text = readFileSync(join(REPO, file), "utf8");
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section '${heading}'`);
  const level = heading.split(" ")[0];
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n${level} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

/** Lines the engine printed as errors, without the resource prefix. */
function errorLines(out: string): string[] {
  return out
    .split("\n")
    .filter((l) => /^\s*error: /.test(l))
    .map((l) => l.trim());
}

describe("README through the pulumi CLI, from a user's folder (package installed from its tarball)", function () {
  describe("Quick start, verbatim", () => {
    let project: CliProject;
    before(async () => {
      const [quickStart] = markdownBlocks("README.md", "## Quick start", "ts");
      project = await CliProject.create({
        name: "quickstart",
        from: scratchProject("quickstart", { "index.ts": quickStart }),
      });
    });
    after(async () => project?.dispose());

    it("resolves the package from the project's own node_modules, not from the repository", async () => {
      const r = await project.exec(["node", "-p", "require.resolve('pulumi-netpersona')"]);
      assert.equal(
        r.stdout.trim(),
        join(project.dir, "node_modules", "pulumi-netpersona", "dist", "sdk", "index.js"),
      );
    });

    it("previews one persona to create, as JSON a reviewer's tooling reads", async () => {
      const plan = await project.previewJson();
      assert.deepEqual(
        plan.steps.map((s) => [s.op, s.urn.split("::").slice(2).join("::")]),
        [
          ["create", "pulumi:pulumi:Stack::quickstart-dev"],
          ["create", "pulumi-nodejs:dynamic/netpersona:Persona::web"],
        ],
      );
    });

    it("pulumi up creates it; a second preview expects no changes", async () => {
      const up = await project.up();
      assert.match(up.stdout, /\+ 2 created/);
      const out = await project.outputs();
      assert.deepEqual((out.web as { definition: unknown }).definition, {
        congestionControl: "bbr",
        mtu: 1400,
        mtuScope: "route",
        qos: { class: "low-latency-data" },
        dns: { servers: ["10.0.0.53", "2001:db8::53"], search: ["corp.example.com"], options: [] },
        routes: { prefixes: [{ prefix: "10.20.0.0/16", metric: 5 }] },
      });
      await project.previewNoChanges();
      const refresh = await project.refresh();
      assert.match(refresh.stdout, /2 unchanged/);
      await project.destroy();
    });
  });

  describe("the same program in JavaScript (index.js, no TypeScript)", () => {
    let project: CliProject;
    before(async () => {
      const dir = scratchProject("quickstart-js", {
        "index.js": [
          'const { Persona } = require("pulumi-netpersona");',
          'const web = new Persona("web", { congestionControl: "cubic", mtu: 1500 });',
          "exports.summary = web.summary;",
          "",
        ].join("\n"),
      });
      writeFileSync(
        join(dir, "package.json"),
        JSON.stringify({
          name: "quickstart-js",
          main: "index.js",
          dependencies: { "@pulumi/pulumi": "3.259.0" },
        }),
      );
      rmSync(join(dir, "tsconfig.json"), { force: true });
      project = await CliProject.create({ name: "quickstart-js", from: dir });
    });
    after(async () => project?.dispose());

    it("pulumi up, then a preview that expects no changes", async () => {
      await project.up();
      assert.deepEqual((await project.outputs()).summary, [
        "congestion control cubic on the covered routes",
        "MTU 1500 (per-route mtu lock)",
      ]);
      await project.previewNoChanges();
    });
  });

  describe("persona files (loadPersonas), as the README shows them", () => {
    let project: CliProject;
    before(async () => {
      const [yamlBlock] = markdownBlocks("README.md", "### Persona files", "yaml");
      const [program] = markdownBlocks("README.md", "### Persona files", "ts");
      project = await CliProject.create({
        name: "persona-files",
        from: scratchProject("persona-files", { "personas/web.yaml": yamlBlock, "index.ts": program }),
      });
    });
    after(async () => project?.dispose());

    it("pulumi up creates the persona of personas/web.yaml; a second preview expects no changes", async () => {
      await project.up();
      const out = await project.outputs();
      assert.deepEqual((out.web as { definition: unknown }).definition, {
        congestionControl: "bbr",
        mtu: 1400,
        mtuScope: "route",
        qos: { class: "low-latency-data" },
      });
      await project.previewNoChanges();
    });

    it("a bad persona file fails preview once, in plain text, with file:line:col, the field and the fix", async () => {
      writeFileSync(
        join(project.dir, "personas", "web.yaml"),
        "web:\n  congestionControl: bbr\n  mtu: 70000\n  colour: blue\n",
      );
      const r = await project.preview({ check: false });
      assert.notEqual(r.code, 0);
      const all = r.stdout + r.stderr;
      assert.ok(!all.includes("\u001b["), "no colour codes");
      assert.doesNotMatch(all, /^\s+at /m, "no stack trace");
      assert.equal(all.split("invalid persona files:").length - 1, 1, all);
      assert.match(all, /personas\/web\.yaml:3:8: web\.mtu: must be at most 9000 \(jumbo frames\)/);
      assert.match(
        all,
        /personas\/web\.yaml:4:11: web\.colour: unknown field 'colour': remove it or check its spelling/,
      );
    });
  });

  describe("hostile inputs fail preview with our message, naming the field", () => {
    let project: CliProject;
    before(async () => {
      project = await CliProject.create({
        name: "hostile",
        from: scratchProject("hostile", {
          "index.ts": [
            'import * as pulumi from "@pulumi/pulumi";',
            'import { Persona } from "pulumi-netpersona";',
            "const config = new pulumi.Config();",
            'export const p = new Persona("p", config.requireObject("persona"));',
            "",
          ].join("\n"),
        }),
      });
    });
    after(async () => project?.dispose());

    const cases: Array<[string, string, RegExp]> = [
      ["a persona without personaName", '{"mtu": 1400}', /^$/],
      ["a huge MTU", '{"mtu": 1e12}', /property mtu .*must be at most 9000/],
      ["a string where a number goes", '{"mtu": "big"}', /property mtu .*/],
    ];
    for (const [what, json, expected] of cases) {
      it(what, async () => {
        await project.pulumi(["config", "set", "persona", json, "--plaintext"]);
        const r = await project.preview({ check: false });
        const errors = errorLines(r.stdout + r.stderr);
        if (expected.source === "^$") {
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.deepEqual(errors, []);
        } else {
          assert.notEqual(r.code, 0);
          assert.ok(
            errors.some((l) => expected.test(l)),
            errors.join("\n"),
          );
          assert.doesNotMatch(r.stdout + r.stderr, /Unexpected struct type|\{<nil>\}/);
        }
      });
    }
  });
});
