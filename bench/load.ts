// Background load for the convergence benchmark: back-to-back short TCP flows (iperf3, 2 s each, no -C so
// each new flow takes the congestion control of its route) from one lab host to another, until stopped.
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

import type { LabHost } from "../provider/lab";
import { start } from "../provider/util/exec";

const PORT = 5202;

export function startLoad(from: LabHost, to: LabHost): { stop(): Promise<void>; flows(): number } {
  let stopped = false;
  let flows = 0;
  let current: ChildProcess | undefined;
  const server = start(["iperf3", "-s", "-B", to.address, "-p", String(PORT)], { netns: to.netns });
  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)));
  const loop = (async () => {
    await sleep(300); // the server binds
    while (!stopped) {
      current = start(["iperf3", "-c", to.address, "-p", String(PORT), "-t", "2"], { netns: from.netns });
      await exited(current);
      flows++;
      if (!stopped) await sleep(50);
    }
  })();
  return {
    flows: () => flows,
    stop: async () => {
      stopped = true;
      current?.kill();
      await loop;
      server.kill();
      await exited(server);
    },
  };
}
