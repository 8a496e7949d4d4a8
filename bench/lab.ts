// Labs for the benchmarks: names start with `b` (the benchmarks' prefix), and a lab is always removed,
// also when the part fails.
import { labDown, labUp, type LabInventory } from "../provider/lab";
import { checkLabName } from "../provider/util/names";

export type { LabInventory };

/** Runs `fn` against a fresh lab `name` (1-12 of a-z 0-9 -, starting with `b`); removes it afterwards. */
export async function withLab<T>(
  name: string,
  hosts: number,
  fn: (inv: LabInventory) => Promise<T>,
): Promise<T> {
  checkLabName("lab", name);
  if (!name.startsWith("b")) throw new Error(`bench lab '${name}': benchmark labs are named b...`);
  await labDown(name); // leftovers of an interrupted run
  try {
    // One retry: on a loaded machine a DNS responder can miss lab up's first check.
    const inv = await labUp({ name, hosts }).catch(() => labUp({ name, hosts }));
    return await fn(inv);
  } finally {
    await labDown(name);
  }
}

/** The first host on `network` (hosts are dealt round-robin: h1 source, h2 destination, ...). */
export function hostOn(inv: LabInventory, network: string, nth = 0) {
  const h = inv.hosts.filter((x) => x.network === network)[nth];
  if (!h) throw new Error(`lab ${inv.name}: no host #${nth + 1} on network ${network}`);
  return h;
}
