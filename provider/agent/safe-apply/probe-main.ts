// Entry point: runs probes inside the namespace it was started in (`ip netns exec NS node probe-main.js JSON`)
// and prints the results as JSON.
import { runProbesHere, type ProbeTarget } from "./probes";

async function main(): Promise<void> {
  const arg = JSON.parse(process.argv[2] ?? "{}") as { targets?: ProbeTarget[]; timeoutMs?: number };
  const results = await runProbesHere(arg.targets ?? [], arg.timeoutMs ?? 2000);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`probe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
