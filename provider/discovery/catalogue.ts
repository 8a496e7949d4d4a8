// The catalogue of recommended personas per application class, grounded in published guidance:
// - QoS: RFC 4594 ("Configuration Guidelines for DiffServ Service Classes"), section 4 and figure 2.
// - Congestion control: BBR (Cardwell et al., ACM Queue 2016; draft-ietf-ccwg-bbr) keeps throughput on lossy
//   or long paths where loss-based control backs off; CUBIC (RFC 9438) is the well-tested default on short,
//   clean paths.
// - MTU: keep the path MTU that the kernel measured (RFC 8899/4821 packetization-layer PMTUD; RFC 8900:
//   fragmentation is fragile), so large transfers never rely on fragmentation or on ICMP getting through.
import type { PersonaInput, QosClass } from "../persona/schema";
import type { AppClass, ClassifiedFlow } from "./types";

export interface CatalogueEntry {
  qos: QosClass;
  qosReason: string;
  /** Whether packet size matters for this class (large transfers) or not (small messages). */
  mtuMatters: boolean;
}

export const CATALOGUE: Record<Exclude<AppClass, "other">, CatalogueEntry> = {
  "video-streaming": {
    qos: "multimedia-streaming",
    qosReason:
      "RFC 4594 §4.6 Multimedia Streaming (AF31): variable-rate elastic streaming media such as video on demand, buffered by the player",
    mtuMatters: true,
  },
  "database-access": {
    qos: "low-latency-data",
    qosReason:
      "RFC 4594 §4.7 Low-Latency Data (AF21): client/server transactions that need a fast response (ERP, transactional applications)",
    mtuMatters: false,
  },
  "web-browsing": {
    qos: "low-latency-data",
    qosReason:
      "RFC 4594 §4.7 Low-Latency Data (AF21): a short request answered by a larger response while a user waits (its own example is loading a web page)",
    mtuMatters: false,
  },
  "bulk-transfer": {
    qos: "high-throughput-data",
    qosReason:
      "RFC 4594 §4.8 High-Throughput Data (AF11): store-and-forward and bulk transfers (FTP, backups) that want throughput, not low delay",
    mtuMatters: true,
  },
  interactive: {
    qos: "oam",
    qosReason:
      "RFC 4594 §3.3 OAM (CS2): operator sessions such as SSH and Telnet; keystrokes are tiny and must not queue behind bulk data",
    mtuMatters: false,
  },
};

/** Path thresholds: loss above LOSSY_RETRANS or RTT above LONG_RTT_MS selects BBR. */
export const LOSSY_RETRANS = 0.01;
export const LONG_RTT_MS = 50;

export interface PathView {
  retransRatio: number;
  rttMs?: number;
  pmtu?: number;
}

/** The path the class's flows saw: bytes-weighted retransmission ratio, worst RTT, smallest path MTU. */
export function pathOf(flows: readonly ClassifiedFlow[]): PathView {
  let sent = 0;
  let retrans = 0;
  let rttMs: number | undefined;
  let pmtu: number | undefined;
  for (const f of flows) {
    sent += f.features.bytesSent;
    retrans += f.features.retransRatio * f.features.bytesSent;
    if (f.features.rttMs !== undefined) rttMs = Math.max(rttMs ?? 0, f.features.rttMs);
    if (f.features.pmtu !== undefined) pmtu = Math.min(pmtu ?? Infinity, f.features.pmtu);
  }
  return { retransRatio: sent > 0 ? retrans / sent : 0, rttMs, pmtu };
}

/** The persona for a class on the path its flows saw, and why, field by field. */
export function recommendPersona(
  cls: Exclude<AppClass, "other">,
  path: PathView,
): { persona: PersonaInput; reason: string } {
  const entry = CATALOGUE[cls];
  const lossy = path.retransRatio > LOSSY_RETRANS;
  const long = (path.rttMs ?? 0) > LONG_RTT_MS;
  const cc = lossy || long ? "bbr" : "cubic";
  const seen = `${(path.retransRatio * 100).toFixed(2)}% retransmitted${path.rttMs !== undefined ? `, RTT up to ${path.rttMs.toFixed(1)} ms` : ""}`;
  const ccReason =
    cc === "bbr"
      ? `BBR: the path is ${[lossy && "lossy", long && "long"].filter(Boolean).join(" and ")} (${seen}); BBR models bandwidth and RTT instead of backing off on every loss`
      : `CUBIC: the path is short and clean (${seen}); CUBIC (RFC 9438) is the proven default there`;
  const persona: PersonaInput = { congestionControl: cc, qos: { class: entry.qos } };
  let mtuReason = "MTU left alone: its messages are far smaller than a packet";
  if (entry.mtuMatters && path.pmtu !== undefined) {
    const mtu = Math.max(576, Math.min(9000, path.pmtu));
    persona.mtu = mtu;
    mtuReason = `MTU ${mtu}: the path MTU the kernel measured for these flows, so full-size segments never need fragmentation (RFC 8899, RFC 8900)`;
  } else if (entry.mtuMatters) {
    mtuReason = "MTU left alone: the kernel reported no path MTU for these flows";
  }
  return { persona, reason: `${entry.qosReason}. ${ccReason}. ${mtuReason}.` };
}
