// The provider plugin (provider/plugin/server.ts) in process: the same registry as the dynamic provider behind
// the plugin protocol's values. Secrets arrive wrapped and go back wrapped (schema-secret outputs and outputs
// of secret inputs), unknowns are skipped by check, failures name the field, URNs map to the schema's tokens.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb";
import type { LogRequest } from "@pulumi/pulumi/proto/engine_pb";

import { UNKNOWN_VALUE } from "../../provider/resources/common";
import { engineAddress, engineLog, type ResourceLog } from "../../provider/plugin/engine-log";
import { TOKEN_KINDS, pluginProvider, typeOfUrn } from "../../provider/plugin/server";
import { unwrapProps, wrapSecrets } from "../../provider/plugin/wire";

const ROOT = path.join(__dirname, "../../..");
const SCHEMA = readFileSync(path.join(ROOT, "schema.json"), "utf8");
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const secret = (value: unknown) => ({ [SIG]: SECRET, value });
const urn = (type: string, name = "r") => `urn:pulumi:dev::proj::${type}::${name}`;

describe("provider plugin", () => {
  const plugin = pluginProvider(SCHEMA);

  it("serves exactly the resource tokens schema.json declares, with the package version", () => {
    const schema = JSON.parse(SCHEMA);
    assert.deepEqual(Object.keys(TOKEN_KINDS).sort(), Object.keys(schema.resources).sort());
    assert.equal(plugin.version, require(path.join(ROOT, "package.json")).version);
    assert.equal(plugin.version, schema.version);
    assert.equal(plugin.schema, SCHEMA);
  });

  it("reads the type of a URN, also under a parent", () => {
    assert.equal(typeOfUrn(urn("netpersona:index:Persona")), "netpersona:index:Persona");
    assert.equal(
      typeOfUrn("urn:pulumi:dev::proj::pulumi:pulumi:Stack$netpersona:index:Agent::a"),
      "netpersona:index:Agent",
    );
    assert.throws(() => typeOfUrn("nonsense"), /malformed URN 'nonsense'/);
  });

  it("refuses a type it does not serve, naming the ones it does", async () => {
    await assert.rejects(plugin.check!(urn("netpersona:index:Nope"), {}, {}), {
      message:
        "netpersona: unknown resource type 'netpersona:index:Nope' (this plugin serves netpersona:index:Persona, netpersona:index:StackCa, netpersona:index:Agent, netpersona:index:PersonaAttachment, netpersona:index:Migration)",
    });
  });

  it("check names the field of a bad value, and skips unknowns", async () => {
    const bad = await plugin.check!(urn("netpersona:index:Persona"), {}, { mtu: 70000 });
    assert.deepEqual(bad.failures, [{ property: "mtu", reason: "must be at most 9000 (jumbo frames)" }]);
    const unknown = await plugin.check!(urn("netpersona:index:Persona"), {}, { mtu: UNKNOWN_VALUE });
    assert.equal(unknown.failures, undefined);
  });

  it("check hands secret inputs back as secrets, unwrapped inside", async () => {
    const r = await plugin.check!(
      urn("netpersona:index:Persona"),
      {},
      { mtu: 1400, personaName: secret("web") },
    );
    assert.deepEqual(r.inputs.personaName, secret("web"));
    assert.equal(r.inputs.mtu, 1400);
    assert.equal(r.inputs.netpersonaVersion, plugin.version);
    assert.equal(r.failures, undefined);
  });

  it("check adds the inputs the TypeScript SDK adds on the program side (the Agent's bundle hash)", async () => {
    const { bundleFiles } = await import("../../provider/bootstrap/install");
    const caUrn = urn("netpersona:index:StackCa");
    const ca = (await plugin.create!(caUrn, (await plugin.check!(caUrn, {}, {})).inputs)).outs;
    const r = await plugin.check!(
      urn("netpersona:index:Agent"),
      {},
      {
        connection: secret({ host: "10.0.0.1", privateKey: "k", hostKey: "ssh-ed25519 AAAA" }),
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        clientCertPem: ca.clientCertPem,
        clientKeyPem: ca.clientKeyPem,
      },
    );
    assert.equal(r.failures, undefined);
    assert.equal(r.inputs.bundleHash, bundleFiles().hash);
    assert.equal(r.inputs.connection[SIG], SECRET);
    assert.equal(r.inputs.caKeyPem[SIG], SECRET);
    assert.equal(r.inputs.caCertPem, ca.certPem);
  });

  it("create marks the schema's secret outputs secret and carries no serialized code", async () => {
    const checked = await plugin.check!(urn("netpersona:index:StackCa"), {}, { commonName: "plugin test" });
    const r = await plugin.create!(urn("netpersona:index:StackCa"), checked.inputs);
    for (const k of ["keyPem", "clientKeyPem"]) {
      assert.equal(r.outs[k][SIG], SECRET, k);
      assert.match(r.outs[k].value, /^-----BEGIN PRIVATE KEY-----/);
    }
    assert.match(r.outs.certPem, /^-----BEGIN CERTIFICATE-----/);
    assert.equal("__provider" in r.outs, false);
    // What the server sends: google-protobuf's Struct must carry it.
    assert.doesNotThrow(() => Struct.fromJavaScript(r.outs));
    // Read of the stored state keeps the secrets secret.
    const read = await plugin.read!(r.id, urn("netpersona:index:StackCa"), r.outs);
    assert.equal(read.props.keyPem[SIG], SECRET);
    assert.equal(read.props.certPem, r.outs.certPem);
  });

  it("diff compares plain values whether or not they were secret", async () => {
    const u = urn("netpersona:index:Persona");
    const c = await plugin.check!(u, {}, { mtu: 1400 });
    const created = await plugin.create!(u, c.inputs);
    const same = await plugin.diff!(created.id, u, created.outs, c.inputs);
    assert.equal(same.changes, false);
    const c2 = await plugin.check!(u, c.inputs, { mtu: 1300 });
    const changed = await plugin.diff!(created.id, u, created.outs, c2.inputs);
    assert.equal(changed.changes, true);
  });

  it("drops the serialized code of a resource the dynamic provider wrote (switched to the plugin)", async () => {
    const u = urn("netpersona:index:Persona");
    const c = await plugin.check!(u, {}, { mtu: 1400 });
    const created = await plugin.create!(u, c.inputs);
    const code = "exports.handler = __f0; ...";
    const olds = { ...created.outs, __provider: code };
    const checked = await plugin.check!(u, { ...c.inputs, __provider: code }, { mtu: 1300 });
    assert.equal("__provider" in checked.inputs, false);
    const read = await plugin.read!(created.id, u, olds);
    assert.equal("__provider" in read.props, false);
    assert.equal("__provider" in (read.inputs ?? {}), false);
    const updated = await plugin.update!(created.id, u, olds, checked.inputs);
    assert.equal("__provider" in updated.outs, false);
    assert.equal(updated.outs.mtu, 1300);
  });

  it("unwraps output values: an output without a value is unknown", () => {
    const out = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
    const r = unwrapProps({
      a: { [SIG]: out, value: 1, secret: true },
      b: { [SIG]: out },
      c: { nested: [secret("x")] },
      d: 2,
    });
    assert.deepEqual(r.plain, { a: 1, b: UNKNOWN_VALUE, c: { nested: ["x"] }, d: 2 });
    assert.deepEqual([...r.secretKeys].sort(), ["a", "c"]);
    assert.deepEqual(wrapSecrets({ a: 1, b: null, c: UNKNOWN_VALUE }, new Set(["a", "b", "c"])), {
      a: secret(1),
      b: null,
      c: UNKNOWN_VALUE,
    });
  });

  it("sends each call's progress to the engine's log under that call's resource, also when calls overlap", async () => {
    const lines: string[] = [];
    let flushes = 0;
    const log: ResourceLog = Object.assign(
      (u: string, line: string) => lines.push(`${u.split("::").pop()} ${line}`),
      {
        flush: async () => void flushes++,
      },
    );
    const reporting = pluginProvider(SCHEMA, log);
    const caUrn = urn("netpersona:index:StackCa");
    const ca = (await plugin.create!(caUrn, (await plugin.check!(caUrn, {}, {})).inputs)).outs;
    // Two agents whose SSH dial fails at once (nothing listens on port 1): each says whom it connects to.
    const agent = async (name: string, host: string) => {
      const u = urn("netpersona:index:Agent", name);
      const inputs = {
        connection: secret({
          host,
          port: 1,
          privateKey: "k",
          hostKey: "ssh-ed25519 AAAA",
          dialErrorLimit: 1,
        }),
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        clientCertPem: ca.clientCertPem,
        clientKeyPem: ca.clientKeyPem,
      };
      const checked = await reporting.check!(u, {}, inputs);
      assert.equal(checked.failures, undefined);
      await assert.rejects(reporting.create!(u, checked.inputs));
    };
    await Promise.all([agent("a", "127.0.0.1"), agent("b", "127.0.0.2")]);
    assert.ok(
      lines.includes("a [netpersona] Agent 127.0.0.1: connecting to root@127.0.0.1:1"),
      lines.join("\n"),
    );
    assert.ok(
      lines.includes("b [netpersona] Agent 127.0.0.2: connecting to root@127.0.0.2:1"),
      lines.join("\n"),
    );
    for (const l of lines) assert.match(l, /^(a .*127\.0\.0\.1|b .*127\.0\.0\.2)/, l);
    assert.equal(flushes, 4, "every call waits for its lines to reach the engine");
  });

  it("engineLog delivers lines in order to the engine's Log service, as info for the resource", async () => {
    const got: LogRequest.AsObject[] = [];
    const server = new grpc.Server();
    server.addService(EngineService, {
      log: (call: grpc.ServerUnaryCall<LogRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        got.push(call.request.toObject());
        // Answer the first one late: the second must still arrive after it.
        setTimeout(() => cb(null, new Empty()), got.length === 1 ? 50 : 0);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    try {
      assert.equal(engineAddress(["--logtostderr", "-v=9", `127.0.0.1:${port}`]), `127.0.0.1:${port}`);
      assert.equal(engineAddress([]), undefined);
      const log = engineLog(engineAddress([`127.0.0.1:${port}`])!);
      log(urn("netpersona:index:Migration", "m"), "[netpersona] Migration m: one");
      log(urn("netpersona:index:Migration", "m"), "[netpersona] Migration m: two");
      await log.flush();
      assert.deepEqual(got, [
        {
          severity: 1,
          message: "[netpersona] Migration m: one",
          urn: urn("netpersona:index:Migration", "m"),
          streamid: 0,
          ephemeral: false,
        },
        {
          severity: 1,
          message: "[netpersona] Migration m: two",
          urn: urn("netpersona:index:Migration", "m"),
          streamid: 0,
          ephemeral: false,
        },
      ]);
    } finally {
      server.forceShutdown();
    }
  });
});
