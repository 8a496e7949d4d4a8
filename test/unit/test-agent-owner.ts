// The Agent's owner record (provider/bootstrap/owner.ts): parsing, who counts as the same Agent, and the exact
// refusal an install into another Agent's directory gets. The lab side is test/lab/test-agent-owner.ts.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";

import {
  caFingerprintOf,
  formatOwner,
  isOwnedBy,
  leftForOwner,
  ownerConflict,
  ownerRecordOf,
  parseOwner,
  type OwnerRecord,
} from "../../provider/bootstrap/owner";
import { parseOwners, parsePreflight } from "../../provider/bootstrap/remote";
import { createCa } from "../../provider/pki";

const A = "a".repeat(64);
const B = "b".repeat(64);
const mine: OwnerRecord = { endpoint: "10.0.0.1:7443", caFingerprint: A };
const self = { endpoints: ["10.0.0.1:7443"], caFingerprints: [A] };

describe("Agent owner record", () => {
  it("formats one line of JSON and parses it back; anything else is no record", () => {
    assert.equal(formatOwner(mine), `{"endpoint":"10.0.0.1:7443","caFingerprint":"${A}"}\n`);
    assert.deepEqual(parseOwner(formatOwner(mine)), mine);
    for (const bad of [
      undefined,
      "",
      "  ",
      "{",
      "null",
      "[]",
      '{"endpoint":"x:1"}',
      `{"endpoint":"","caFingerprint":"${A}"}`,
      '{"endpoint":"x:1","caFingerprint":"AB"}',
      `{"endpoint":"x:1","caFingerprint":"${A.toUpperCase()}"}`,
    ]) {
      assert.equal(parseOwner(bad), undefined, String(bad));
    }
  });

  it("fingerprints the CA certificate as SHA-256 of its DER, lowercase hex", async () => {
    const ca = await createCa({ commonName: "owner test CA" });
    const fp = caFingerprintOf(ca.certPem);
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.deepEqual(ownerRecordOf("h:1", ca.certPem), { endpoint: "h:1", caFingerprint: fp });
    // The same value as the X.509 fingerprint, without parsing the certificate.
    assert.equal(fp, new X509Certificate(ca.certPem).fingerprint256.replace(/:/g, "").toLowerCase());
    const other = await createCa({ commonName: "owner test CA" });
    assert.notEqual(caFingerprintOf(other.certPem), fp);
    // A CA that does not parse (a damaged state) still has a fingerprint: a delete never fails on it.
    assert.match(caFingerprintOf("not a certificate"), /^[0-9a-f]{64}$/);
  });

  it("the same endpoint and CA (or no record) is this Agent; any other endpoint or CA is not", () => {
    assert.equal(isOwnedBy(undefined, self), true);
    assert.equal(isOwnedBy(mine, self), true);
    assert.equal(isOwnedBy({ ...mine, endpoint: "10.0.0.2:7443" }, self), false);
    assert.equal(isOwnedBy({ ...mine, endpoint: "10.0.0.1:7444" }, self), false);
    assert.equal(isOwnedBy({ ...mine, caFingerprint: B }, self), false);
    // An update: the previous endpoint and CA still count (a port change, a CA rotation).
    const update = { endpoints: ["10.0.0.1:7444", "10.0.0.1:7443"], caFingerprints: [B, A] };
    assert.equal(isOwnedBy(mine, update), true);
  });

  it("refuses another Agent's directory with a message naming the field, the other owner and the fix", () => {
    const theirs = { endpoint: "10.0.0.2:7443", caFingerprint: B };
    assert.equal(
      ownerConflict("root@10.0.0.1:22", "stateDir", "/var/lib/netpersona", undefined, self),
      undefined,
    );
    assert.equal(ownerConflict("root@10.0.0.1:22", "stateDir", "/var/lib/netpersona", mine, self), undefined);
    assert.equal(
      ownerConflict("root@10.0.0.1:22", "installDir", "/opt/netpersona", theirs, self),
      `installDir /opt/netpersona on root@10.0.0.1:22 holds the agent of another Agent (endpoint 10.0.0.2:7443, CA sha256 ${B.slice(0, 16)}), not this one (endpoint 10.0.0.1:7443, CA sha256 ${A.slice(0, 16)}): installing here would stop and overwrite that agent, and deleting this Agent would remove it. Give each host and each stack its own installDir and stateDir (lab hosts share one file system: labAgentArgs gives each host its own), or destroy the other stack's Agent first`,
    );
    assert.equal(
      leftForOwner("stateDir", "/var/lib/netpersona", theirs),
      `leaving stateDir /var/lib/netpersona: it holds the agent of another Agent (endpoint 10.0.0.2:7443, CA sha256 ${B.slice(0, 16)}), not this one's`,
    );
  });

  it("reads the records from the preflight's output and from the delete's listing, per directory", () => {
    const line = (d: string, r: OwnerRecord) => `owner|${d}|${formatOwner(r).trim()}`;
    const theirs = { endpoint: "[fd00::2]:7443", caFingerprint: B };
    const out = ["node|0|v22.1.0", line("/opt/np", mine), line("/var/lib/np", theirs), "probe|/opt"].join(
      "\n",
    );
    const l = parsePreflight(out, ["/opt/np", "/var/lib/np", "/srv/none"]);
    assert.deepEqual(
      [l.dirs["/opt/np"].owner, l.dirs["/var/lib/np"].owner, l.dirs["/srv/none"].owner],
      [mine, theirs, undefined],
    );
    assert.deepEqual(
      parseOwners(`${line("/opt/np", mine)}\nowner|/var/lib/np|garbage\n`, ["/opt/np", "/var/lib/np"]),
      {
        "/opt/np": mine,
        "/var/lib/np": undefined,
      },
    );
  });
});
