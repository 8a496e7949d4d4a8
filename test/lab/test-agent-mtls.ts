// The agent as shipped: the esbuild bundle run with node inside a network namespace. Only clients with a
// certificate from the stack CA get answers; everything else is refused in the TLS handshake. State survives
// SIGKILL: the persona stored as current and the pre-persona snapshot are there after a restart.
import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";

import { AgentError } from "../../provider/agent/rpc/errors";
import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import { loadAgentApi } from "../../provider/proto/load";
import { createCa, issueClientCert } from "../../provider/pki";
import { run } from "../../provider/util/exec";
import {
  createAgentLab,
  destroyAgentLab,
  killHard,
  startAgent,
  type AgentLab,
  type AgentProcess,
} from "../fixtures/agent-process";

const pkg = require("../../../package.json") as { version: string };

function rawGetInfo(endpoint: string, creds: grpc.ChannelCredentials, options: grpc.ClientOptions = {}) {
  const { Client } = loadAgentApi();
  const client = new Client(endpoint, creds, options);
  return new Promise<grpc.ServiceError>((resolve, reject) => {
    client.GetInfo({}, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      if (err) resolve(err);
      else reject(new Error("GetInfo answered a client that should have been refused"));
    });
  });
}

describe("agent over mTLS (bundle in a namespace)", function () {
  let lab: AgentLab | undefined;
  let agent: AgentProcess | undefined;
  let conn: AgentConnection | undefined;

  const connect = () =>
    connectAgent({
      endpoint: agent!.endpoint,
      caPem: lab!.ca.certPem,
      certPem: lab!.client.certPem,
      keyPem: lab!.client.keyPem,
    });

  before(async () => {
    lab = await createAgentLab();
    agent = await startAgent(lab);
    conn = connect();
  });

  after(async () => {
    conn?.close();
    await killHard(agent);
    await destroyAgentLab(lab);
  });

  it("answers GetInfo to a client with a CA-signed certificate, from inside its namespace", async () => {
    const info = await conn!.getInfo({ deadlineMs: 10_000 });
    assert.equal(info.status, "SERVING");
    assert.equal(info.version, pkg.version);
    assert.equal(info.hostname, hostname());
    assert.deepEqual(info.interfaces.map((i) => i.name).sort(), ["lo", `npt${lab!.ns.slice(4)}a`]);
    const veth = info.interfaces.find((i) => i.name !== "lo")!;
    const v4 = veth.addresses.filter((a) => !a.includes(":"));
    assert.deepEqual([veth.mtu, veth.oper_state, v4], [1500, "up", [`${lab!.agentAddress}/30`]]);
    const available = (await readFile("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8")).trim();
    assert.deepEqual(info.capabilities!.congestion_controls_available, available.split(/\s+/));
    assert.equal(info.has_snapshot, false);
    assert.match(agent!.output(), / GetInfo peer=10\.254\.\d+\.1:\d+ client="npt provider" OK \d+ms\n/);
  });

  it("is reached by IP without Node's DEP0123 warning (no IP as the TLS server name)", async () => {
    // A fresh process: Node prints a deprecation warning once per process.
    const client = join(__dirname, "..", "..", "provider", "agent", "rpc", "client.js");
    const script = [
      `const { connectAgent } = require(${JSON.stringify(client)});`,
      `const o = JSON.parse(require("node:fs").readFileSync(0, "utf8"));`,
      `const c = connectAgent(o);`,
      `c.getInfo({ deadlineMs: 10000 }).then((i) => { console.log(i.status); c.close(); },`,
      `  (e) => { console.log("refused: " + e.code); c.close(); });`,
    ].join("\n");
    const opts = { caPem: lab!.ca.certPem, certPem: lab!.client.certPem, keyPem: lab!.client.keyPem };
    const byIp = await run([process.execPath, "-e", script], {
      input: JSON.stringify({ endpoint: agent!.endpoint, ...opts }),
    });
    assert.equal(byIp.stdout.trim(), "SERVING");
    assert.equal(byIp.stderr, "", "nothing on stderr: no DEP0123 warning");
  });

  it("refuses a client without a certificate, one from another CA, plaintext, and a wrong server name", async () => {
    const before = agent!
      .output()
      .split("\n")
      .filter((l) => l.includes(" GetInfo ")).length;
    const other = await createCa({ commonName: "npt test stack" });
    const stranger = await issueClientCert(other, { commonName: "npt provider" });
    const ca = Buffer.from(lab!.ca.certPem);
    const refused = [
      await rawGetInfo(agent!.endpoint, grpc.credentials.createSsl(ca)),
      await rawGetInfo(
        agent!.endpoint,
        grpc.credentials.createSsl(ca, Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem)),
      ),
      await rawGetInfo(agent!.endpoint, grpc.credentials.createInsecure()),
    ];
    for (const err of refused) assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    const wrongName = connectAgent({
      endpoint: agent!.endpoint,
      caPem: lab!.ca.certPem,
      certPem: lab!.client.certPem,
      keyPem: lab!.client.keyPem,
      serverName: "not-the-agent.npt",
    });
    await assert.rejects(
      wrongName.getInfo({ deadlineMs: 5000 }),
      (e: AgentError) => e.code === grpc.status.UNAVAILABLE,
    );
    wrongName.close();
    const viaName = connectAgent({
      endpoint: agent!.endpoint,
      caPem: lab!.ca.certPem,
      certPem: lab!.client.certPem,
      keyPem: lab!.client.keyPem,
      serverName: "agent.npt",
    });
    assert.equal((await viaName.getInfo({ deadlineMs: 5000 })).status, "SERVING");
    viaName.close();
    const after = agent!
      .output()
      .split("\n")
      .filter((l) => l.includes(" GetInfo ")).length;
    assert.equal(after, before + 1, "only the accepted client reached a handler");
  });

  it("answers a bad persona with INVALID_ARGUMENT naming the field", async () => {
    const err = await conn!.applyPersona({ mtu: 100, dns: { servers: ["not-an-ip"] } }).then(
      () => assert.fail("accepted"),
      (e: AgentError) => e,
    );
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err.details.field, "persona.mtu");
    assert.deepEqual(
      err.details.failures?.map((f) => f.property),
      ["persona.mtu", "persona.dns.servers[0]"],
    );
    assert.equal(
      err.message.split("; ")[0],
      "persona.mtu: must be at least 576 (the IPv4 minimum datagram size)",
    );
    await assert.rejects(
      conn!.confirmApply("nope"),
      (e: AgentError) => e.code === grpc.status.FAILED_PRECONDITION,
    );
  });

  it("keeps the current persona and the pre-persona snapshot across kill -9, then restores the host", async () => {
    const original = await readFile(lab!.resolvConf, "utf8");
    const persona = {
      dns: { servers: ["192.0.2.53", "192.0.2.54"], search: ["after.example"], options: [] },
    };
    const applied = await conn!.applyPersona(persona, 60);
    assert.equal(applied.changed, true);
    assert.deepEqual(applied.live!.dns!.servers, ["192.0.2.53", "192.0.2.54"]);
    await conn!.confirmApply(applied.apply_id);
    assert.match(await readFile(lab!.resolvConf, "utf8"), /^nameserver 192\.0\.2\.53$/m);

    conn!.close();
    await killHard(agent);
    agent = await startAgent(lab!);
    conn = connect();

    const after = await conn.getPersona();
    assert.deepEqual(after.committed!.dns, {
      servers: ["192.0.2.53", "192.0.2.54"],
      search: ["after.example"],
      options: [],
    });
    assert.equal(after.committed!.mtu_scope, "route");
    assert.equal(after.pending, null);
    assert.equal(after.has_snapshot, true);
    assert.deepEqual(after.live!.dns!.servers, ["192.0.2.53", "192.0.2.54"]);

    const restored = await conn.restoreSnapshot();
    assert.equal(restored.restored, true);
    assert.equal(await readFile(lab!.resolvConf, "utf8"), original);
    const final = await conn.getPersona();
    assert.deepEqual([final.committed, final.has_snapshot], [null, false]);
  });
});
