// Benchmark (not a test): wall time of `lab up` for 2, 10 and 50 hosts, and of `lab down` after it.
// Each lab is verified before it counts: every host's sshd answered, and one real ssh login succeeds.
// Prints one JSON object: { "labUp": [{ hosts, upMs, downMs, msPerHost }...], machine: {...} }.
import os from "node:os";

import { labDown, labUp } from "../provider/lab";
import { run } from "../provider/util/exec";

export interface LabUpSample {
  hosts: number;
  networks: number;
  upMs: number;
  downMs: number;
  msPerHost: number;
}

async function sshOnce(inv: Awaited<ReturnType<typeof labUp>>): Promise<void> {
  const h = inv.hosts[inv.hosts.length - 1];
  const argv = [
    "ssh",
    "-F",
    "/dev/null",
    "-i",
    h.privateKeyPath,
    "-o",
    `UserKnownHostsFile=${inv.knownHostsPath}`,
  ];
  argv.push("-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${h.user}@${h.address}`, "true");
  await run(argv);
}

export async function benchLabUp(
  sizes: number[] = [2, 10, 50],
): Promise<{ labUp: LabUpSample[]; machine: object }> {
  const samples: LabUpSample[] = [];
  for (const hosts of sizes) {
    const name = `bench-${hosts}`;
    await labDown(name);
    let upMs = 0;
    try {
      const t0 = process.hrtime.bigint();
      const inv = await labUp({ name, hosts });
      upMs = Number(process.hrtime.bigint() - t0) / 1e6;
      await sshOnce(inv);
    } finally {
      const t1 = process.hrtime.bigint();
      await labDown(name);
      const downMs = Number(process.hrtime.bigint() - t1) / 1e6;
      if (upMs > 0)
        samples.push({
          hosts,
          networks: 2,
          upMs: Math.round(upMs),
          downMs: Math.round(downMs),
          msPerHost: Math.round(upMs / hosts),
        });
    }
  }
  return { labUp: samples, machine: { cpus: os.cpus().length, kernel: os.release(), node: process.version } };
}

if (require.main === module) {
  benchLabUp()
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err) => {
      process.stderr.write(`bench lab-up: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
