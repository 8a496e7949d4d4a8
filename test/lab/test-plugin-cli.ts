// pulumi-resource-netpersona through the real CLI, chosen from the package's TypeScript SDK (sdk/resource.ts):
// one program declares the same Persona twice, once through the plugin (`providerKind: "plugin"`) and once
// through the dynamic provider (the default), then switches the package's default to the plugin for a StackCa.
// The engine loads the plugin from PATH (the package's node_modules/.bin, installed from its tarball). Preview
// names the bad field, up creates, both compute the same persona, a second preview is clean, only the
// dynamic resource has code in the state, no plaintext key, an update goes through both, switching the dynamic
// one to the plugin keeps it (an alias) and a refresh drops its old code, destroy.
import * as assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { CLI_ROOT, CliProject } from "../cli-project";
import { REPO } from "../e2e";

const VERSION: string = require(join(REPO, "package.json")).version;

// JavaScript (no tsconfig.json: the language host runs no ts-node); the README's TypeScript form of it is
// type-checked by test-docs-compile.
const PROGRAM = `const pulumi = require("@pulumi/pulumi");
const netpersona = require("pulumi-netpersona");
const config = new pulumi.Config();
const args = { personaName: "web", mtu: config.getNumber("mtu") ?? 1400, congestionControl: "bbr" };
const web = new netpersona.Persona("web", args, { providerKind: "plugin" });
// After web (dependsOn), so that web's check answers the preview first.
const webDynamic = new netpersona.Persona("web-dynamic", args, { providerKind: config.get("secondKind"), dependsOn: [web] });
netpersona.setDefaultProviderKind("plugin");
const ca = new netpersona.StackCa("ca", { commonName: "plugin test" });
exports.summary = web.summary;
exports.summaryDynamic = webDynamic.summary;
exports.fingerprints = [web.fingerprint, webDynamic.fingerprint];
exports.certPem = ca.certPem;
exports.keyPem = ca.keyPem;
`;

describe("pulumi-resource-netpersona through the CLI, chosen from the TypeScript SDK next to the dynamic provider", function () {
  let project: CliProject;
  /** Each resource's type and whether its state carries serialized code, by name. */
  const stored = async () =>
    Object.fromEntries(
      ((await project.exportState()).deployment.resources ?? [])
        .filter((r) => String(r.type).includes("netpersona"))
        .map((r) => [
          String(r.urn).split("::").pop(),
          [r.type, JSON.stringify(r).includes("__provider") ? "code" : "no code"],
        ]),
    );

  before(async () => {
    const from = join(CLI_ROOT, "sources", "plugin-cli");
    rmSync(from, { recursive: true, force: true });
    mkdirSync(from, { recursive: true });
    writeFileSync(join(from, "Pulumi.yaml"), "name: plugin-cli\nruntime: nodejs\n");
    writeFileSync(
      join(from, "package.json"),
      JSON.stringify({ name: "plugin-cli", main: "index.js" }) + "\n",
    );
    writeFileSync(join(from, "index.js"), PROGRAM);
    project = await CliProject.create({ name: "plugin-cli", from, config: { mtu: { value: "70000" } } });
    // The plugin as the package installs it: node_modules/.bin on PATH, as a user's shell would have it.
    project.env.PATH = `${join(project.dir, "node_modules", ".bin")}:${project.env.PATH}`;
  });

  after(async () => {
    await project?.dispose();
  });

  it("preview names the bad field, from the plugin found on PATH", async () => {
    // The engine stops at the first resource whose check fails: the plugin's Persona, which the dynamic one
    // depends on (the dynamic provider's message, the same but for the type, is test-persona-e2e's).
    const r = await project.preview({ check: false });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /using pulumi-resource-netpersona from \$PATH at \S+node_modules\/\.bin\/pulumi-resource-netpersona/,
    );
    assert.match(
      out,
      /netpersona:index:Persona resource 'web': property mtu value \{70000\} has a problem: must be at most 9000 \(jumbo frames\)/,
    );
  });

  it("up creates through both; the same persona; a second preview is clean; only the dynamic one holds code", async () => {
    await project.pulumi(["config", "set", "mtu", "1400"]);
    const up = await project.up();
    assert.match(up.stdout, /\+ 4 created/);
    await project.previewNoChanges();
    const outs = await project.outputs();
    assert.match(String(outs.summary), /1400/);
    assert.deepEqual(outs.summaryDynamic, outs.summary);
    const [fp, fpDynamic] = outs.fingerprints as string[];
    assert.equal(fpDynamic, fp);
    assert.match(String(outs.certPem), /^-----BEGIN CERTIFICATE-----/);
    assert.match(String(outs.keyPem), /^-----BEGIN PRIVATE KEY-----/);
    assert.deepEqual(await stored(), {
      web: ["netpersona:index:Persona", "no code"],
      "web-dynamic": ["pulumi-nodejs:dynamic/netpersona:Persona", "code"],
      ca: ["netpersona:index:StackCa", "no code"],
      // The engine's default provider for the package, at the package's version.
      [`default_${VERSION.replace(/\./g, "_")}`]: ["pulumi:providers:netpersona", "no code"],
    });
    const state = JSON.stringify(await project.exportState());
    assert.equal(state.includes("PRIVATE KEY"), false, "a private key in plaintext in the state");
  });

  it("an update goes through both providers' diff and update", async () => {
    await project.pulumi(["config", "set", "mtu", "1300"]);
    const up = await project.up();
    assert.match(up.stdout, /~ 2 updated/);
    const outs = await project.outputs();
    assert.match(String(outs.summary), /1300/);
    assert.deepEqual(outs.summaryDynamic, outs.summary);
  });

  it("switching the dynamic Persona to the plugin keeps it; a refresh leaves no code in the state", async () => {
    await project.pulumi(["config", "set", "secondKind", "plugin"]);
    const up = await project.up();
    assert.doesNotMatch(up.stdout, /created|deleted|replaced/, up.stdout);
    assert.deepEqual((await stored())["web-dynamic"], ["netpersona:index:Persona", "code"]); // old outputs kept
    await project.refresh();
    assert.deepEqual((await stored())["web-dynamic"], ["netpersona:index:Persona", "no code"]);
    await project.previewNoChanges();
  });

  it("destroy removes everything", async () => {
    const d = await project.destroy();
    assert.match(d.stdout, /- 4 deleted/);
  });
});
