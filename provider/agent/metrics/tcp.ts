// Live TCP flows from `ss -tin` and their aggregate per peer address.
import { isIP } from "node:net";

import { runHere } from "./netns";
import { aggregateFlows, parseSsTcpInfo, type TcpAggregate, type TcpFlow } from "../../util/ss";

/** Every TCP socket with its tcp_info, in the process's namespace or in `netns`. */
export async function readTcpFlows(netns?: string): Promise<TcpFlow[]> {
  return parseSsTcpInfo((await runHere(["ss", "-tin"], netns)).stdout);
}

/** The form ss prints: compressed IPv6, IPv4-mapped addresses as plain IPv4. */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const a = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!mapped) return a;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/** The flows towards `address` (any port, established or not) summed into one aggregate. */
export function tcpTowards(flows: readonly TcpFlow[], address: string): TcpAggregate {
  const want = canonicalAddress(address);
  return aggregateFlows(flows.filter((f) => canonicalAddress(f.peer.address) === want));
}
