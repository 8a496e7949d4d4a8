// Two Agent resources pointed at the same installDir/stateDir (lab hosts share one file system; two stacks on one
// host): the second is refused before it changes anything on the host, naming the other owner and the fix; the
// first agent keeps running with its files unchanged, and deleting the second leaves the first's directories.
// The same owner (an update) proceeds. Lab ow1.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";

import { caFingerprintOf, OWNER_FILE } from "../../provider/bootstrap/owner";
import { createCa, issueClientCert } from "../../provider/pki";
import { agentProvider, waitForAgent } from "../../provider/resources/agent";
import { createLab, destroyLab, type LabHost, type LabInventory } from "../lab-fixture";

const LAB = "ow1";

describe("Agent directories owned by another Agent (lab ow1)", function () {
  this.timeout(60_000);
  let inv: LabInventory;
  let caA: Awaited<ReturnType<typeof createCa>>;
  let caB: Awaited<ReturnType<typeof createCa>>;
  let clientA: Awaited<ReturnType<typeof issueClientCert>>;
  let dirs: { installDir: string; stateDir: string };

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    [caA, caB] = await Promise.all([
      createCa({ commonName: "ow CA A" }),
      createCa({ commonName: "ow CA B" }),
    ]);
    clientA = await issueClientCert(caA, { commonName: "ow client A" });
    dirs = {
      installDir: `${inv.stateDir}/agents/shared/opt`,
      stateDir: `${inv.stateDir}/agents/shared/state`,
    };
  });
  after(async () => destroyLab(LAB));

  const inputs = (h: LabHost, ca: typeof caA, client: typeof clientA) => ({
    connection: {
      host: h.address,
      user: h.user,
      privateKey: readFileSync(h.privateKeyPath, "utf8"),
      hostKey: h.hostPublicKey,
    },
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    ...dirs,
  });
  /** The first agent's files: its code, certificates, pid file, marker and owner records. */
  const files = () =>
    Object.fromEntries(
      [
        "netpersona-agent.js",
        "ca.pem",
        "agent.pem",
        "agent-key.pem",
        "supervisor.pid",
        ".netpersona-agent",
        OWNER_FILE,
      ]
        .map((f) => `${dirs.installDir}/${f}`)
        .concat([`${dirs.stateDir}/.netpersona-agent`, `${dirs.stateDir}/${OWNER_FILE}`])
        .map((p) => [p, readFileSync(p, "utf8")]),
    );
  const answers = async (endpoint: string) => {
    const { conn, info } = await waitForAgent(
      { endpoint, caCertPem: caA.certPem, clientCertPem: clientA.certPem, clientKeyPem: clientA.keyPem },
      "ow",
      5000,
    );
    conn.close();
    return info.status;
  };

  it("refuses a second Agent (other host, or other stack's CA) in the first's directories, and its delete leaves them", async () => {
    const [h1, h2] = inv.hosts;
    const a = await agentProvider.create!(inputs(h1, caA, clientA));
    const endpointA = `${h1.address}:7443`;
    assert.equal(a.outs.endpoint, endpointA);
    assert.deepEqual(JSON.parse(readFileSync(`${dirs.stateDir}/${OWNER_FILE}`, "utf8")), {
      endpoint: endpointA,
      caFingerprint: caFingerprintOf(caA.certPem),
    });
    const before = files();
    const fpA = caFingerprintOf(caA.certPem).slice(0, 16);
    const fpB = caFingerprintOf(caB.certPem).slice(0, 16);
    const refusal = (target: string, endpoint: string, fp: string) =>
      `installDir ${dirs.installDir} on root@${target}:22 holds the agent of another Agent (endpoint ${endpointA}, CA sha256 ${fpA}), not this one (endpoint ${endpoint}:7443, CA sha256 ${fp}): installing here would stop and overwrite that agent, and deleting this Agent would remove it. Give each host and each stack its own installDir and stateDir (lab hosts share one file system: labAgentArgs gives each host its own), or destroy the other stack's Agent first`;

    // Another lab host on the same file system, same CA: another endpoint.
    await assert.rejects(agentProvider.create!(inputs(h2, caA, clientA)), {
      message: refusal(h2.address, h2.address, fpA),
    });
    // Another stack on the same host: same endpoint, another CA.
    const clientB = await issueClientCert(caB, { commonName: "ow client B" });
    const b = inputs(h1, caB, clientB);
    await assert.rejects(agentProvider.create!(b), { message: refusal(h1.address, h1.address, fpB) });

    assert.equal(await answers(endpointA), "SERVING");
    assert.deepEqual(files(), before, "the first agent's files are unchanged");

    // Deleting the refused Agent (e.g. `pulumi destroy` of the other stack) stops nothing and leaves both dirs.
    await agentProvider.delete!("agent-b", {
      ...b,
      endpoint: endpointA,
      resolvedServiceManager: "supervisor",
    });
    assert.equal(await answers(endpointA), "SERVING");
    assert.deepEqual(files(), before, "the first agent's files are still unchanged");

    // The same owner proceeds: an update (restart) of the first Agent, then its delete removes both directories.
    const up = await agentProvider.update!(a.id, { ...a.outs, running: false }, inputs(h1, caA, clientA));
    assert.equal(up.outs!.running, true);
    await agentProvider.delete!(a.id, up.outs!);
    assert.deepEqual([existsSync(dirs.installDir), existsSync(dirs.stateDir)], [false, false]);
  });
});
