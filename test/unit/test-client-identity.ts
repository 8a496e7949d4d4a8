// How the client checks an agent's certificate: against the endpoint's IP or name, or `serverName` when given,
// whatever name the handshake carried (an agent reached by IP gets a placeholder server name: RFC 6066 forbids
// an IP there and Node warns, DEP0123). The handshakes themselves are in test/lab/test-agent-mtls.ts.
import * as assert from "node:assert/strict";
import type { PeerCertificate } from "node:tls";

import { IP_SNI_PLACEHOLDER, serverIdentityCheck } from "../../provider/agent/rpc/client";

const cert = (subjectaltname: string) =>
  ({ subject: { CN: "netpersona-agent" }, subjectaltname }) as unknown as PeerCertificate;

describe("agent client: the server identity it accepts", () => {
  it("by IP: the certificate must name that IP, whatever name went in the handshake", () => {
    const check = serverIdentityCheck("10.0.2.10:7443");
    assert.equal(check(IP_SNI_PLACEHOLDER, cert("IP Address:10.0.2.10")), undefined);
    assert.match(
      String(check(IP_SNI_PLACEHOLDER, cert("IP Address:10.0.2.11"))?.message),
      /IP: 10\.0\.2\.10 is not in the cert's list: 10\.0\.2\.11/,
    );
    assert.ok(check(IP_SNI_PLACEHOLDER, cert(`DNS:${IP_SNI_PLACEHOLDER}`)) instanceof Error);
  });

  it("by IPv6 in brackets, by name, and with serverName", () => {
    assert.equal(
      serverIdentityCheck("[fd00::10]:7443")("x", cert("IP Address:FD00:0:0:0:0:0:0:10")),
      undefined,
    );
    assert.equal(serverIdentityCheck("agent.example:7443")("x", cert("DNS:agent.example")), undefined);
    assert.ok(serverIdentityCheck("agent.example:7443")("x", cert("DNS:other.example")) instanceof Error);
    const named = serverIdentityCheck("10.0.2.10:7443", "agent.npt");
    assert.equal(named("agent.npt", cert("DNS:agent.npt")), undefined);
    assert.ok(named("agent.npt", cert("IP Address:10.0.2.10")) instanceof Error);
  });
});
