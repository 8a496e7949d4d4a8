// pulumi-resource-netpersona through the real CLI: a JavaScript program that names the schema's tokens
// (`netpersona:index:Persona`, `netpersona:index:StackCa`) as plain custom resources, so the engine loads the
// plugin from PATH (the package's node_modules/.bin, installed from its tarball). Preview names the bad field,
// up creates, a second preview is clean, the state holds no plaintext key and no serialized code, destroy.
import * as assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { CLI_ROOT, CliProject } from "../cli-project";

const PROGRAM = `const pulumi = require("@pulumi/pulumi");
const config = new pulumi.Config();
const web = new pulumi.CustomResource("netpersona:index:Persona", "web", {
  personaName: "web", mtu: config.getNumber("mtu") ?? 1400, congestionControl: "bbr", summary: undefined,
});
const ca = new pulumi.CustomResource("netpersona:index:StackCa", "ca", {
  commonName: "plugin test", certPem: undefined, keyPem: undefined,
});
exports.summary = web.summary;
exports.certPem = ca.certPem;
exports.keyPem = ca.keyPem;
`;

describe("pulumi-resource-netpersona: the provider plugin through the CLI", function () {
  let project: CliProject;

  before(async () => {
    // A JavaScript project of its own (no tsconfig.json, so the language host runs no ts-node).
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

  it("preview fails on the bad field, named, from the plugin found on PATH", async () => {
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

  it("up creates, a second preview is clean, secrets are secret and no code is in the state", async () => {
    await project.pulumi(["config", "set", "mtu", "1400"]);
    const up = await project.up();
    assert.match(up.stdout, /\+ 3 created/);
    await project.previewNoChanges();
    const outs = await project.outputs();
    assert.match(String(outs.certPem), /^-----BEGIN CERTIFICATE-----/);
    assert.match(String(outs.keyPem), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(String(outs.summary), /1400/);
    const state = JSON.stringify(await project.exportState());
    assert.equal(state.includes("PRIVATE KEY"), false, "a private key in plaintext in the state");
    assert.equal(state.includes("__provider"), false, "serialized provider code in the state");
    assert.match(state, /"type":"netpersona:index:StackCa"/);
  });

  it("an update goes through the plugin's diff and update", async () => {
    await project.pulumi(["config", "set", "mtu", "1300"]);
    const up = await project.up();
    assert.match(up.stdout, /~ 1 updated/);
    assert.match(String((await project.outputs()).summary), /1300/);
    await project.previewNoChanges();
  });

  it("destroy removes everything", async () => {
    const d = await project.destroy();
    assert.match(d.stdout, /- 3 deleted/);
  });
});
