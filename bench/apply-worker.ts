// Runs measureApplyVerify inside a host's namespace, as the agent daemon does (no `ip netns exec` per command):
//   ip netns exec NS node apply-worker.js RESOLV_CONF ROUNDS PERSONA_A_JSON PERSONA_B_JSON
// Prints the ApplyTimings as JSON.
import { createHostController } from "../provider/agent/host";
import { measureApplyVerify } from "../provider/agent/safe-apply/timing";
import { personaSchema } from "../provider/persona/schema";

async function main([resolvConfPath, rounds, a, b]: string[]): Promise<void> {
  const n = Number(rounds);
  if (!resolvConfPath?.startsWith("/etc/netns/") || !(Number.isInteger(n) && n >= 2 && n <= 100)) {
    throw new Error("usage: apply-worker /etc/netns/NS/resolv.conf ROUNDS(2-100) PERSONA_A PERSONA_B");
  }
  const host = createHostController({ resolvConfPath, dnsBackend: "file" });
  const pa = personaSchema.parse(JSON.parse(a));
  const pb = personaSchema.parse(JSON.parse(b));
  process.stdout.write(`${JSON.stringify(await measureApplyVerify(host, pa, pb, n))}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
