// The stack PKI: certificates chain to their CA, carry exactly the SANs and key usages asked for, and pair
// with their private keys. Checked with node:crypto's own X509Certificate, not with the library that made them.
import { strict as assert } from "node:assert";
import { X509Certificate, createPrivateKey } from "node:crypto";

import { x509 } from "../../provider/pki/keys";
import {
  createCa,
  issueAgentCert,
  issueClientCert,
  issueMonitoringCert,
  renewalDue,
  type CertifiedKey,
} from "../../provider/pki";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

function extension<T extends x509.Extension>(pem: string, type: new (raw: ArrayBuffer) => T): T {
  const ext = new x509.X509Certificate(pem).getExtension(type);
  assert.ok(ext, `extension ${type.name} present`);
  return ext;
}

function assertKeyPair(pair: CertifiedKey): void {
  const cert = new X509Certificate(pair.certPem);
  assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(pair.keyPem);
  assert.equal(key.asymmetricKeyType, "ec");
  assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.equal(cert.checkPrivateKey(key), true);
}

describe("pki", () => {
  let ca: CertifiedKey;
  let otherCa: CertifiedKey;

  before(async () => {
    ca = await createCa({ commonName: "netpersona stack dev" });
    otherCa = await createCa({ commonName: "netpersona stack dev" });
  });

  it("creates a self-signed ECDSA P-256 CA with CA:true and keyCertSign", () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, "CN=netpersona stack dev");
    assert.equal(cert.issuer, "CN=netpersona stack dev");
    assert.equal(cert.checkIssued(cert), true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const bc = extension(ca.certPem, x509.BasicConstraintsExtension);
    assert.deepEqual([bc.ca, bc.pathLength, bc.critical], [true, 0, true]);
    const ku = extension(ca.certPem, x509.KeyUsagesExtension);
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(ku.critical, true);
    assertKeyPair(ca);
  });

  it("issues an agent certificate with exact SANs, serverAuth + clientAuth, signed by the CA", async () => {
    const agent = await issueAgentCert(ca, {
      commonName: "agent h1",
      ips: ["10.77.0.2", "fd00:77::2"],
      dnsNames: ["h1.lab.example", "H1"],
      validityDays: 30,
    });
    const cert = new X509Certificate(agent.certPem);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(cert.checkIssued(caCert), true);
    assert.equal(cert.verify(caCert.publicKey), true);
    assert.equal(cert.verify(new X509Certificate(otherCa.certPem).publicKey), false);
    assert.equal(cert.checkIssued(new X509Certificate(otherCa.certPem)), false);
    assert.equal(cert.ca, false);
    assert.equal(cert.subject, "CN=agent h1");
    assert.equal(cert.issuer, "CN=netpersona stack dev");
    assert.equal(
      cert.subjectAltName,
      "IP Address:10.77.0.2, IP Address:FD00:77:0:0:0:0:0:2, DNS:h1.lab.example, DNS:h1, URI:urn:netpersona:role:agent",
    );
    assert.deepEqual(cert.keyUsage, [SERVER_AUTH, CLIENT_AUTH]);
    assert.equal(
      extension(agent.certPem, x509.KeyUsagesExtension).usages,
      x509.KeyUsageFlags.digitalSignature,
    );
    assert.equal(extension(agent.certPem, x509.BasicConstraintsExtension).ca, false);
    assert.equal(cert.checkIP("10.77.0.2"), "10.77.0.2");
    assert.equal(cert.checkHost("h1.lab.example"), "h1.lab.example");
    assert.equal(cert.checkIP("10.77.0.3"), undefined);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.equal(days, 30);
    assertKeyPair(agent);
  });

  it("issues a provider client certificate with clientAuth only and the provider role as its only SAN", async () => {
    const client = await issueClientCert(ca, { commonName: "pulumi provider", validityDays: 2 });
    const cert = new X509Certificate(client.certPem);
    assert.equal(cert.checkIssued(new X509Certificate(ca.certPem)), true);
    assert.equal(cert.verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.equal(cert.subjectAltName, "URI:urn:netpersona:role:provider");
    assert.equal((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000, 2);
    assertKeyPair(client);
  });

  it("gives leaves short default lives that never outlive the CA, and a monitoring role", async () => {
    const days = (pem: string) => {
      const c = new X509Certificate(pem);
      return (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000;
    };
    assert.equal(days((await issueAgentCert(ca, { commonName: "a", ips: ["10.0.0.1"] })).certPem), 30);
    assert.equal(days((await issueClientCert(ca, { commonName: "p" })).certPem), 90);
    const mon = await issueMonitoringCert(ca, { commonName: "m" });
    assert.equal(days(mon.certPem), 30);
    assert.equal(new X509Certificate(mon.certPem).subjectAltName, "URI:urn:netpersona:role:monitoring");
    assert.deepEqual(new X509Certificate(mon.certPem).keyUsage, [CLIENT_AUTH]);
    const long = await issueClientCert(ca, { commonName: "p", validityDays: 36500 });
    assert.equal(new X509Certificate(long.certPem).validTo, new X509Certificate(ca.certPem).validTo);
  });

  it("says when a certificate is due for renewal: no role, expired, or a third of its life left", async () => {
    const agent = await issueAgentCert(ca, { commonName: "a", ips: ["10.0.0.1"], validityDays: 30 });
    const from = Date.parse(new X509Certificate(agent.certPem).validFrom);
    assert.equal(renewalDue(agent.certPem, from + 19 * 86_400_000), undefined);
    assert.match(
      renewalDue(agent.certPem, from + 21 * 86_400_000)!,
      /^less than a third of the certificate's validity is left \(it expires at /,
    );
    assert.match(renewalDue(agent.certPem, from + 31 * 86_400_000)!, /^the certificate expired at /);
    assert.equal(renewalDue(undefined), "there is no certificate");
    // A certificate of the kind issued before roles: no role URI.
    const legacy = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=legacy",
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      keys: await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]),
    });
    assert.equal(renewalDue(legacy.toString("pem")), "the certificate names no role (issued before roles)");
  });

  it("gives every certificate its own key and serial number", async () => {
    const a = await issueClientCert(ca, { commonName: "a" });
    const b = await issueClientCert(ca, { commonName: "a" });
    assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
    assert.notEqual(a.keyPem, b.keyPem);
  });

  it("refuses bad SANs, names and validity with a message naming the field", async () => {
    await assert.rejects(issueAgentCert(ca, { commonName: "x", ips: ["10.0.0.300"] }), {
      message: "ips: '10.0.0.300' is not an IPv4 or IPv6 address",
    });
    await assert.rejects(issueAgentCert(ca, { commonName: "x", dnsNames: ["bad name"] }), {
      message: "dnsNames: 'bad name' is not a DNS name",
    });
    await assert.rejects(issueAgentCert(ca, { commonName: "x" }), {
      message: "an agent certificate needs at least one IP or DNS name",
    });
    await assert.rejects(issueClientCert(ca, { commonName: "x", validityDays: 0 }), {
      message: "validityDays must be a whole number of days between 1 and 36500, got 0",
    });
    await assert.rejects(issueClientCert({ certPem: ca.certPem, keyPem: "nope" }, { commonName: "x" }), {
      message: "expected exactly one PKCS#8 'PRIVATE KEY' PEM block (ECDSA P-256)",
    });
  });
});
