// A two-namespace test bed for the kernel side (tests and benchmarks): a "host" namespace whose default route
// goes through a "gateway" namespace, which also holds the controller address and a second gateway address.
//
//   host (<prefix>h)  eth0 10.77.N.2/24 ── veth ── eth0 10.77.N.1/24 + 10.77.N.3/24  gateway (<prefix>g)
//   default via 10.77.N.1                                    lo 10.99.N.1/24 (the "controller" prefix)
import { run } from "../../util/exec";
import { checkIfname } from "../../util/names";

export interface Testbed {
  host: string;
  gw: string;
  hostAddr: string;
  gateway: string;
  gateway2: string;
  controllerAddr: string;
  controllerPrefix: string;
  destroy(): Promise<void>;
}

/** Builds the test bed; `prefix` like "npa-a" (namespaces `<prefix>h` and `<prefix>g`), `n` 1-250. */
export async function createTestbed(prefix: string, n: number): Promise<Testbed> {
  const host = checkIfname("netns", `${prefix}h`);
  const gw = checkIfname("netns", `${prefix}g`);
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error("testbed: n must be 1-250");
  const net = `10.77.${n}`;
  const bed: Testbed = {
    host,
    gw,
    hostAddr: `${net}.2`,
    gateway: `${net}.1`,
    gateway2: `${net}.3`,
    controllerAddr: `10.99.${n}.1`,
    controllerPrefix: `10.99.${n}.0/24`,
    destroy: async () => {
      for (const ns of [host, gw]) await run(["ip", "netns", "del", ns], { check: false });
      // A run killed between `link add` and moving the pair into the namespaces leaves it in the root one.
      await run(["ip", "link", "del", `${prefix}a`], { check: false });
    },
  };
  await bed.destroy(); // leftovers of an earlier, interrupted run
  try {
    await run(["ip", "netns", "add", host]);
    await run(["ip", "netns", "add", gw]);
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    await run(["ip", "link", "add", a, "type", "veth", "peer", "name", b]);
    await run(["ip", "link", "set", a, "netns", host]);
    await run(["ip", "link", "set", b, "netns", gw]);
    const cmds: [string, string[]][] = [
      [host, ["ip", "link", "set", a, "name", "eth0"]],
      [gw, ["ip", "link", "set", b, "name", "eth0"]],
      [host, ["ip", "addr", "add", `${bed.hostAddr}/24`, "dev", "eth0"]],
      [gw, ["ip", "addr", "add", `${bed.gateway}/24`, "dev", "eth0"]],
      [gw, ["ip", "addr", "add", `${bed.gateway2}/24`, "dev", "eth0"]],
      [gw, ["ip", "addr", "add", `${bed.controllerAddr}/24`, "dev", "lo"]],
      [host, ["ip", "link", "set", "lo", "up"]],
      [gw, ["ip", "link", "set", "lo", "up"]],
      [host, ["ip", "link", "set", "eth0", "up"]],
      [gw, ["ip", "link", "set", "eth0", "up"]],
      [host, ["ip", "route", "add", "default", "via", bed.gateway]],
    ];
    for (const [ns, argv] of cmds) await run(argv, { netns: ns });
  } catch (err) {
    await bed.destroy();
    throw err;
  }
  return bed;
}
