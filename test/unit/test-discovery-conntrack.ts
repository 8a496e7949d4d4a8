// Discovery's whole-life view: conntrack lines captured on this machine (an HTTP GET with curl and three
// 500-byte UDP datagrams between two namespaces, nf_conntrack_acct=1) parsed field by field, folded into
// records oriented from the observed host, and a short connection classified on its totals.
import assert from "node:assert/strict";

import { analyse } from "../../provider/discovery/analyse";
import { ConntrackLedger, parseConntrackLine } from "../../provider/discovery/conntrack";
import type { SampleWindow } from "../../provider/discovery/sampler";

const T0 = 1796182702.0;
const EVENTS = [
  "[1796182702.122557]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.0.2 sport=35108 dport=8000 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 sport=8000 dport=35108 id=2483254592",
  "[1796182702.122640]\t [UPDATE] ipv4     2 tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.0.2 sport=35108 dport=8000 src=10.77.0.2 dst=10.77.0.1 sport=8000 dport=35108 [ASSURED] id=2483254592",
  "[1796182702.129595]\t [UPDATE] ipv4     2 tcp      6 120 FIN_WAIT src=10.77.0.1 dst=10.77.0.2 sport=35108 dport=8000 src=10.77.0.2 dst=10.77.0.1 sport=8000 dport=35108 [ASSURED] id=2483254592",
  "[1796182702.418959]\t    [NEW] ipv4     2 udp      17 30 src=10.77.0.1 dst=10.77.0.2 sport=49777 dport=9999 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 sport=9999 dport=49777 id=1111523861",
];
const LISTING = [
  "ipv4     2 udp      17 29 src=10.77.0.1 dst=10.77.0.2 sport=49777 dport=9999 packets=3 bytes=1584 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 sport=9999 dport=49777 packets=0 bytes=0 mark=0 use=1 id=1111523861",
  "ipv4     2 tcp      6 119 TIME_WAIT src=10.77.0.1 dst=10.77.0.2 sport=35108 dport=8000 packets=8 bytes=502 src=10.77.0.2 dst=10.77.0.1 sport=8000 dport=35108 packets=6 bytes=11667 [ASSURED] mark=0 use=1 id=2483254592",
];

describe("discovery: conntrack events and listings", () => {
  it("parses an event and a listing line with accounting, exactly", () => {
    assert.deepEqual(parseConntrackLine(EVENTS[0]), {
      time: 1796182702.122557,
      event: "NEW",
      family: "ipv4",
      protocol: "tcp",
      state: "SYN_SENT",
      orig: { src: "10.77.0.1", dst: "10.77.0.2", sport: 35108, dport: 8000 },
      reply: { src: "10.77.0.2", dst: "10.77.0.1", sport: 8000, dport: 35108 },
      id: 2483254592,
    });
    assert.deepEqual(parseConntrackLine(LISTING[1]), {
      family: "ipv4",
      protocol: "tcp",
      state: "TIME_WAIT",
      orig: { src: "10.77.0.1", dst: "10.77.0.2", sport: 35108, dport: 8000 },
      reply: { src: "10.77.0.2", dst: "10.77.0.1", sport: 8000, dport: 35108 },
      origPackets: 8,
      origBytes: 502,
      replyPackets: 6,
      replyBytes: 11667,
      id: 2483254592,
    });
    assert.equal(
      parseConntrackLine("conntrack v1.4.7 (conntrack-tools): 7 flow events have been shown."),
      undefined,
    );
    assert.equal(
      parseConntrackLine("ipv4 2 icmp 1 29 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=1"),
      undefined,
    );
  });

  it("folds events and the final listing into records seen from the host: start, end, packets, bytes", () => {
    const ledger = new ConntrackLedger(new Set(["10.77.0.1"]), T0);
    ledger.baseline([]);
    for (const e of EVENTS) ledger.event(parseConntrackLine(e)!);
    ledger.poll(
      LISTING.map((l) => parseConntrackLine(l)!),
      2,
    );
    const [tcp, udp] = ledger.records();
    assert.deepEqual(
      [tcp.protocol, tcp.initiatedHere, tcp.remotePort, tcp.preexisting, tcp.packetsSent, tcp.bytesSent],
      ["tcp", true, 8000, false, 8, 502],
    );
    assert.deepEqual([tcp.packetsReceived, tcp.bytesReceived], [6, 11667]);
    assert.ok(Math.abs(tcp.start - 0.122557) < 1e-6 && Math.abs((tcp.end ?? 0) - 0.129595) < 1e-6);
    assert.deepEqual([udp.protocol, udp.packetsSent, udp.bytesSent, udp.bytesReceived], ["udp", 3, 1584, 0]);
  });

  it("judges a connection ss never saw on its whole life: a GET answered by 11 kB is web browsing", () => {
    const ledger = new ConntrackLedger(new Set(["10.77.0.1"]), T0);
    for (const e of EVENTS.slice(0, 3)) ledger.event(parseConntrackLine(e)!);
    ledger.poll([parseConntrackLine(LISTING[1])!], 2);
    const w: SampleWindow = {
      flows: [],
      times: [0, 1, 2],
      listening: new Set(),
      udpListening: new Set(),
      interfaceBytes: 0,
      connections: ledger.records(),
      seconds: 2,
    };
    const r = analyse(w, { windowMs: 2000, sampleEveryMs: 200, hints: false });
    assert.equal(r.flows.length, 1);
    const f = r.flows[0];
    assert.deepEqual(
      [f.applicationClass, f.features.observedBy, f.features.shortLived],
      ["web-browsing", "conntrack", true],
    );
    // Payload: IP bytes less 52 bytes of IPv4 + TCP (timestamps) headers per packet.
    assert.deepEqual(
      [f.features.connection?.requestBytes, f.features.connection?.responseBytes],
      [86, 11355],
    );
    assert.equal(r.sessions[0].tie, "unattributed connections to tcp 10.77.0.2:8000");
    assert.equal(r.recommendations[0].covers, "outbound tcp to 10.77.0.2:8000 (1 flow)");
  });
});
