// What a session probes of the target before traffic takes it: which gateway and which DNS servers count as
// new, and the nft script that steers only the target-path probes (the kernel side is test/lab/test-session-target.ts).
import * as assert from "node:assert/strict";

import { pathSlot, renderPathNft } from "../../provider/agent/host/path-steer";
import { newDnsServers, targetGateway } from "../../provider/agent/session/target-probes";
import { personaSchema, type PersonaInput } from "../../provider/persona/schema";

const p = (x: PersonaInput) => personaSchema.parse(x);
const SOURCE = p({
  routes: { preferredGateway: "10.0.2.1" },
  dns: { servers: ["10.0.2.53", "10.0.1.53"] },
});

describe("session target probes: what the target changes", () => {
  it("a new gateway in the peer's family is probed; the same gateway, another family or none is not", () => {
    assert.deepEqual(targetGateway(SOURCE, p({ routes: { preferredGateway: "10.0.2.3" } }), "10.0.1.10"), {
      via: "10.0.2.3",
    });
    assert.deepEqual(
      targetGateway(
        SOURCE,
        p({ routes: { preferredGateway: "10.0.2.3", preferredDevice: "eth0" } }),
        "10.0.1.10",
      ),
      { via: "10.0.2.3", dev: "eth0" },
    );
    assert.equal(
      targetGateway(SOURCE, p({ routes: { preferredGateway: "10.0.2.1" } }), "10.0.1.10"),
      undefined,
    );
    assert.equal(
      targetGateway(SOURCE, p({ routes: { preferredGateway: "fd00::1" } }), "10.0.1.10"),
      undefined,
    );
    assert.equal(targetGateway(SOURCE, p({ mtu: 1400 }), "10.0.1.10"), undefined);
    assert.equal(targetGateway(SOURCE, undefined, "10.0.1.10"), undefined);
  });

  it("the DNS servers the target adds, in its order", () => {
    const t = p({ dns: { servers: ["10.0.2.99", "10.0.2.53", "10.0.3.53"] } });
    assert.deepEqual(newDnsServers(SOURCE, t), ["10.0.2.99", "10.0.3.53"]);
    assert.deepEqual(newDnsServers(SOURCE, p({ dns: { servers: ["10.0.1.53"] } })), []);
    assert.deepEqual(newDnsServers(SOURCE, undefined), []);
  });
});

describe("session target probes: the steering nft table", () => {
  it("marks only UDP from the probes' ports to the peer's echo port, in the agent's own table", () => {
    assert.equal(
      renderPathNft(0, { peer: "10.0.1.10", peerPort: 7047, sourcePorts: [40001, 40002], via: "10.0.2.3" }),
      [
        "table inet netpersona_path0 {",
        "}",
        "delete table inet netpersona_path0",
        "table inet netpersona_path0 {",
        "  chain output {",
        "    type route hook output priority mangle; policy accept;",
        "    ip daddr 10.0.1.10 udp dport 7047 udp sport { 40001, 40002 } meta mark set 0x4e500000",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    assert.match(
      renderPathNft(0, { peer: "fd00:1::10", peerPort: 7047, sourcePorts: [40001], via: "fd00:2::3" }),
      /ip6 daddr fd00:1::10 udp dport 7047/,
    );
    assert.equal(
      renderPathNft(0, null),
      "table inet netpersona_path0 {\n}\ndelete table inet netpersona_path0\n",
    );
  });

  it("gives each session running at once its own slot: table, mark (high bits only), rule and routing table", () => {
    assert.deepEqual(pathSlot(0), {
      nftTable: "netpersona_path0",
      mark: 0x4e500000,
      table: 4950,
      priority: 4950,
    });
    assert.deepEqual(pathSlot(3), {
      nftTable: "netpersona_path3",
      mark: 0x4e530000,
      table: 4953,
      priority: 4953,
    });
    assert.match(
      renderPathNft(3, { peer: "10.0.1.10", peerPort: 7047, sourcePorts: [40001], via: "10.0.2.3" }),
      /table inet netpersona_path3 \{[\s\S]*meta mark set 0x4e530000/,
    );
    assert.throws(() => pathSlot(8), { message: "path steer: slot 8 is not 0-7" });
  });

  it("refuses what would not be a clean rule, naming it", () => {
    const ok = { peer: "10.0.1.10", peerPort: 7047, sourcePorts: [40001], via: "10.0.2.3" };
    assert.throws(() => renderPathNft(0, { ...ok, peer: "h1; drop" }), {
      message: "path steer: peer 'h1; drop' is not an IP address",
    });
    assert.throws(() => renderPathNft(0, { ...ok, via: "fd00::3" }), {
      message: "path steer: gateway 'fd00::3' is not an IPv4 address like the peer '10.0.1.10'",
    });
    assert.throws(() => renderPathNft(0, { ...ok, sourcePorts: [0] }), {
      message: "path steer: source port 0: 0 is not a port (1-65535)",
    });
    assert.throws(() => renderPathNft(0, { ...ok, sourcePorts: [] }), {
      message: "path steer: 1-64 source ports, got 0",
    });
    assert.throws(() => renderPathNft(0, { ...ok, dev: "eth0 }" }), /path steer: device/);
  });
});
