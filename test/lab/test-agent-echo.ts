// The Agent's `echo` inputs: the echo responder's address and whom it answers besides the agent's session
// peers (the agent's --echo-address and --echo-allow). Validated in check (the field and the fix), rendered
// into the agent's command line (systemd unit, supervisor), an in-place update when they change; and through
// the real bootstrap in lab gra1 (3 hosts): the supervised agent runs with the flags, a prober in
// `echo.allow` gets answers and another host gets none.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import { descendants } from "../../bench/proc";
import { agentArgs, unitFile, type InstallSpec } from "../../provider/bootstrap/install";
import type { PeerProbeStats } from "../../provider/agent/metrics/prober";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";
import { agentProvider } from "../../provider/resources/agent";
import { run } from "../../provider/util/exec";
import { createLab, destroyLab, type LabHost, type LabInventory } from "../lab-fixture";

const LAB = "gra1";
const ECHO_PORT = 7047;
const METRICS_MAIN = path.join(__dirname, "../../provider/agent/metrics/main.js");

const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
const good = {
  connection: { host: "10.0.0.1", privateKey: "k", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyYAoz3" },
  caCertPem: pem,
  caKeyPem: key,
  clientCertPem: pem,
  clientKeyPem: key,
};

describe("Agent echo inputs: check, command line, plan", () => {
  it("accepts addresses and CIDR prefixes of both families, and no echo at all", async () => {
    const echo = { address: "10.0.0.1", allow: ["10.0.0.0/24", "10.0.1.5", "fd00::/64", "fd00::7"] };
    const r = await agentProvider.check!({}, { ...good, echo });
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs.echo, echo);
    const none = await agentProvider.check!({}, good);
    assert.equal(none.failures, undefined);
    assert.equal("echo" in none.inputs, false, "absent: the agent's defaults, no flag");
  });

  it("refuses a wildcard or a name as address and a bad allow entry, naming the field and the fix", async () => {
    const fix =
      "give an IP address or a CIDR prefix, one per element (e.g. 10.0.0.0/24, 10.0.1.5 or fd00::/64)";
    const r = await agentProvider.check!(
      {},
      {
        ...good,
        echo: {
          address: "0.0.0.0",
          allow: ["10.0.0.0/24", "10.0.0.0/33", "10.0.0.1,10.0.0.2", "web-1", "10.0.0.1 "],
        },
      },
    );
    assert.deepEqual(r.failures, [
      {
        property: "echo.address",
        reason: "must be one concrete IPv4 or IPv6 address of the host (not 0.0.0.0 or ::), e.g. 10.0.1.10",
      },
      { property: "echo.allow[1]", reason: `'10.0.0.0/33' is not an IP address or CIDR prefix: ${fix}` },
      {
        property: "echo.allow[2]",
        reason: `'10.0.0.1,10.0.0.2' is not an IP address or CIDR prefix: ${fix}`,
      },
      { property: "echo.allow[3]", reason: `'web-1' is not an IP address or CIDR prefix: ${fix}` },
      { property: "echo.allow[4]", reason: `'10.0.0.1 ' is not an IP address or CIDR prefix: ${fix}` },
    ]);
    const many = Array.from({ length: 65 }, (_, i) => `10.0.${i}.0/24`);
    const tooMany = await agentProvider.check!({}, { ...good, echo: { allow: many } });
    assert.deepEqual(tooMany.failures, [
      { property: "echo.allow", reason: "must list at most 64 entries: use wider CIDR prefixes" },
    ]);
    const typo = await agentProvider.check!({}, { ...good, echo: { alow: ["10.0.0.0/24"] } });
    assert.deepEqual(typo.failures, [
      { property: "echo.alow", reason: "unknown field 'alow': remove it or check its spelling" },
    ]);
  });

  const spec: InstallSpec = {
    installDir: "/opt/netpersona",
    stateDir: "/var/lib/netpersona",
    nodePath: "/usr/bin/node",
    listen: "10.0.1.10:7443",
    serviceManager: "systemd",
    unitName: "netpersona-agent",
  };

  it("renders --echo-address and --echo-allow into the unit's ExecStart and the supervisor's command", () => {
    const echo = { ...spec, echoAddress: "10.0.1.10", echoAllow: ["10.0.0.0/24", "fd00::7"] };
    const tail = ["--echo-address", "10.0.1.10", "--echo-allow", "10.0.0.0/24,fd00::7"];
    assert.deepEqual(agentArgs(echo).slice(-4), tail);
    assert.deepEqual(
      agentArgs(spec).filter((a) => a.startsWith("--echo")),
      [],
      "none without echo inputs",
    );
    assert.deepEqual(agentArgs({ ...spec, echoAllow: [] }), agentArgs(spec), "an empty list is the default");
    const exec = unitFile(echo)
      .split("\n")
      .find((l) => l.startsWith("ExecStart="));
    assert.equal(
      exec,
      "ExecStart=/usr/bin/node --max-semi-space-size=1 --lite-mode /opt/netpersona/netpersona-agent.js --listen 10.0.1.10:7443 --state-dir /var/lib/netpersona --ca /opt/netpersona/ca.pem --cert /opt/netpersona/agent.pem --key /opt/netpersona/agent-key.pem --echo-address 10.0.1.10 --echo-allow 10.0.0.0/24,fd00::7",
    );
  });

  it("plans an update in place when echo changes, nothing when it stays absent", async () => {
    const ca = await createCa({ commonName: "echo plans" });
    const agentCertPem = (await issueAgentCert(ca, { commonName: "a", ips: ["10.0.0.1"] })).certPem;
    // As recorded after a create: the checked inputs (defaults filled in) and the agent's certificate.
    const olds = { ...(await agentProvider.check!({}, good)).inputs, agentCertPem };
    const plan = async (news: Record<string, unknown>, o: Record<string, unknown> = olds) => {
      const d = await agentProvider.diff!("a", o, news);
      return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
    };
    const update = { changes: true, replaces: [], deleteBeforeReplace: false };
    assert.deepEqual(await plan(olds), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await plan({ ...olds, echo: { allow: ["10.0.0.0/24"] } }), update);
    const withEcho = { ...olds, echo: { allow: ["10.0.0.0/24"] } };
    assert.deepEqual(await plan({ ...olds, echo: { allow: ["10.0.0.0/24", "10.0.1.5"] } }, withEcho), update);
    assert.deepEqual(
      await plan({ ...olds, echo: { address: "10.0.0.1", allow: ["10.0.0.0/24"] } }, withEcho),
      update,
    );
    assert.deepEqual(await plan(withEcho, withEcho), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
});

describe(`Agent echo through the real bootstrap (lab ${LAB})`, function () {
  let inv: LabInventory;
  let outs: Record<string, unknown> | undefined;

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 3 });
  });
  after(async () => {
    if (outs) await agentProvider.delete!("a", outs).catch(() => undefined);
    await destroyLab(LAB);
  });

  /** `count` echo probes from `from` to h1's responder: how many were answered. */
  const probe = async (from: LabHost, to: LabHost, count = 20): Promise<PeerProbeStats> => {
    const argv = [process.execPath, METRICS_MAIN, "probe", "--peer", `${to.name}=${to.address}:${ECHO_PORT}`];
    const out = await run(
      [...argv, "--count", String(count), "--interval-ms", "20", "--timeout-ms", "1000"],
      { netns: from.netns },
    );
    return (JSON.parse(out.stdout) as { peers: PeerProbeStats[] }).peers[0];
  };

  it("runs the supervised agent with the flags; a prober in echo.allow is answered, another host is not", async () => {
    const [h1, h2, h3] = inv.hosts;
    const ca = await createCa({ commonName: `${LAB} CA` });
    const client = await issueClientCert(ca, { commonName: `${LAB} client` });
    const installDir = `${inv.stateDir}/agents/h1/opt`;
    const news = {
      connection: {
        host: h1.address,
        user: h1.user,
        privateKey: readFileSync(h1.privateKeyPath, "utf8"),
        hostKey: h1.hostPublicKey,
      },
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
      installDir,
      stateDir: `${inv.stateDir}/agents/h1/state`,
      resolvConfPath: `/etc/netns/${h1.netns}/resolv.conf`,
      nodePath: process.execPath,
      echo: { address: h1.address, allow: [`${h2.address}/32`] },
    };
    const checked = await agentProvider.check!({}, news);
    assert.equal(checked.failures, undefined);
    const created = await agentProvider.create!(checked.inputs);
    outs = created.outs as Record<string, unknown>;
    assert.equal(outs.running, true);
    assert.deepEqual(outs.echo, news.echo);

    // The agent the supervisor runs (lab hosts share the machine's pid namespace).
    const supervisor = Number(readFileSync(`${installDir}/supervisor.pid`, "utf8").trim());
    const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const agent = descendants(supervisor).find((p) =>
      argvOf(p).includes(`${installDir}/netpersona-agent.js`),
    );
    assert.ok(agent, "the supervisor runs the agent");
    const argv = argvOf(agent);
    const after = (flag: string) => argv[argv.indexOf(flag) + 1];
    assert.deepEqual(
      [after("--echo-address"), after("--echo-allow")],
      [h1.address, `${h2.address}/32`],
      argv.join(" "),
    );

    const allowed = await probe(h2, h1);
    assert.deepEqual([allowed.sent, allowed.received], [20, 20], "h2 is in echo.allow: every probe answered");
    const stranger = await probe(h3, h1);
    assert.deepEqual([stranger.sent, stranger.received], [20, 0], "h3 is not: no answer");

    // Adding h3: an update in place (the agent restarted with the new flag), then h3 is answered too.
    const wider = {
      ...checked.inputs,
      bundleHash: outs.bundleHash,
      echo: { address: h1.address, allow: [`${h2.address}/32`, h3.address] },
    };
    const d = await agentProvider.diff!("a", outs, wider);
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    outs = (await agentProvider.update!("a", outs, wider)).outs as Record<string, unknown>;
    const welcome = await probe(h3, h1);
    assert.deepEqual([welcome.sent, welcome.received], [20, 20], "h3 is in echo.allow now");
  });
});
