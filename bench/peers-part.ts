// Part 7, fleet peers: the Agent bootstrap by `pulumi up` beside the tools a user would pick instead, on the
// same lab sizes in the same run: Ansible (forks = N), `xargs -P N` over ssh + scp (the naive parallel
// floor) and the sequential ssh script. Ratios per repeat: pulumi / xargs (goal ≤ 1.5) and pulumi / Ansible
// (goal ≤ 0.5). Every tool copies the same files and starts the agent with the Agent resource's own command.
import { withLab } from "./lab";
import { ansibleBootstrap, ansiblePlaybook, ANSIBLE_CORE, xargsBootstrap } from "./fleet-peers";
import { baselineRun, pulumiRun } from "./fleet";
import type { PartOptions } from "./part";
import { figure, type Figure, type PartResult } from "./stats";

type Tool = "pulumi" | "ansible" | "xargs" | "script";

export async function benchPeers(o: PartOptions): Promise<PartResult> {
  const sizes = o.smoke ? [2] : [10, 30, 50];
  const bin = await ansiblePlaybook(o.log);
  const runs: { tool: Tool; n: number; repeat: number; wallS: number }[] = [];
  const failures: string[] = [];
  const timed = async (tool: Tool, n: number, repeat: number, f: () => Promise<number>) => {
    try {
      const wallS = await f();
      runs.push({ tool, n, repeat, wallS });
      o.log(`peers ${tool} N=${n} #${repeat}: ${wallS.toFixed(1)} s`);
    } catch (e) {
      failures.push(`${tool} N=${n} #${repeat}: ${(e as Error).message.slice(0, 300)}`);
      o.log(`peers ${tool} N=${n} #${repeat} FAILED: ${(e as Error).message.slice(0, 300)}`);
    }
  };
  for (const n of sizes) {
    for (let r = 1; r <= (n === sizes[0] ? o.repeat : 1); r++) {
      await timed("pulumi", n, r, async () => (await pulumiRun(n, "pulumi-agents", r, o)).wallS);
      await timed("ansible", n, r, () =>
        withLab(`bpa${n}`, n, async (inv) => (await ansibleBootstrap(inv, bin)) / 1000),
      );
      await timed("xargs", n, r, () =>
        withLab(`bpx${n}`, n, async (inv) => (await xargsBootstrap(inv)) / 1000),
      );
      await timed("script", n, r, async () => (await baselineRun(n, r, o)).wallS);
    }
  }
  const col = (t: Tool, n: number) => runs.filter((x) => x.tool === t && x.n === n);
  const ratio = (a: Tool, b: Tool, n: number) =>
    col(a, n).flatMap((x) =>
      col(b, n)
        .filter((y) => y.repeat === x.repeat)
        .map((y) => x.wallS / y.wallS),
    );
  const figures: Figure[] = [];
  for (const n of sizes) {
    figures.push(
      figure(
        `pulumi.${n}`,
        `N=${n}: pulumi up, agents only`,
        "s",
        col("pulumi", n).map((x) => x.wallS),
      ),
      figure(
        `ansible.${n}`,
        `N=${n}: Ansible, forks ${n}`,
        "s",
        col("ansible", n).map((x) => x.wallS),
      ),
      figure(
        `xargs.${n}`,
        `N=${n}: xargs -P ${n} ssh + scp`,
        "s",
        col("xargs", n).map((x) => x.wallS),
      ),
      figure(
        `script.${n}`,
        `N=${n}: sequential ssh script`,
        "s",
        col("script", n).map((x) => x.wallS),
      ),
      figure(`ratio.xargs.${n}`, `N=${n}: pulumi / xargs floor`, "ratio", ratio("pulumi", "xargs", n), {
        op: "<=",
        value: 1.5,
        text: "≤ 1.5",
      }),
      figure(`ratio.ansible.${n}`, `N=${n}: pulumi / Ansible`, "ratio", ratio("pulumi", "ansible", n), {
        op: "<=",
        value: 0.5,
        text: "≤ 0.5",
      }),
    );
  }
  return {
    title: "Fleet peers: pulumi up beside Ansible, xargs -P N and a sequential script",
    settings: {
      sizes,
      repeats: sizes.map((n) => (n === sizes[0] ? o.repeat : 1)),
      ansibleCore: ANSIBLE_CORE,
    },
    figures,
    notes: [
      "Every tool bootstraps the agent on N fresh lab hosts and the time ends when every agent answers GetInfo over mTLS. pulumi up = the real engine (agents only, a StackCa + N Agents: the 3-round-trip SSH bootstrap); its figure includes the engine's own start (about 7 s for an empty program on this machine).",
      `Ansible = ansible-core ${ANSIBLE_CORE} from PyPI in a venv in the benchmark's cache (never a dependency of the package), bench/ansible/bootstrap.yml (command node --version, file, copy ×2 loops, command start, wait_for port), forks = N, pipelining, ControlPersist, pinned host keys. xargs = one sh script per host (ssh node --version, ssh mkdir, one scp of the 5 files, ssh start) run by xargs -P N. The sequential script is the fleet part's baseline.`,
      "Same files, same start: every peer copies what the Agent resource uploads (the agent and supervisor bundles, ca.pem, agent.pem, agent-key.pem) and starts the agent with the Agent resource's own command (install.ts supervisorStartArgv: the supervisor, then node with agent-launch.ts's node flags and malloc settings), so no tool's agent starts lighter or heavier than the product's.",
      "Ratios are per repeat (the same repeat's runs, back to back). On the project's shared 2-core VM other jobs move every figure: read the ratios, not the absolute times.",
      failures.length ? `Failed runs (left out): ${failures.join("; ")}.` : "No run failed.",
    ],
    runs,
  };
}
