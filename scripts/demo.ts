// `make demo`: the project's main job, end to end on this machine.
// A lab with a source and a destination network; agents bootstrapped; examples/migration deployed with
// `pulumi up` through the real engine while a live iperf3 flow runs; mid-session a degradation is injected
// (loss, then a PMTU black hole); the session adapts and converges; a summary is printed and an SVG chart
// is written to out/demo/; then everything is destroyed and the lab removed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { PulumiProject, REPO } from "../provider/automation/project";
import { labDown, labImpair, labUp } from "../provider/lab";
import { renderSessionSvg } from "../provider/report/svg";
import type { HistoryEntry } from "../provider/resources/migration";
import { start } from "../provider/util/exec";

const LAB = "demo";
const OUT = join(REPO, "out", "demo");
const LINK = "destination:source"; // the path the destination's traffic to the node's peer takes

function log(line: string): void {
  process.stdout.write(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Injects the degradations as the session reaches them: loss first, then (after the engine answered it)
 *  a PMTU black hole. Driven by the progress lines that `pulumi up` prints. */
function injector(): (text: string) => void {
  let stage = 0;
  let busy = false;
  return (text: string) => {
    process.stdout.write(text);
    if (busy) return;
    const next = async () => {
      if (stage === 0 && /session \S+ on .*blending/.test(text)) {
        stage = 1;
        await new Promise((r) => setTimeout(r, 2000));
        log(`injecting 12% loss on ${LINK}`);
        await labImpair(LAB, { link: LINK, loss: 12 });
      } else if (stage === 1 && /\[lossMedium\]/.test(text)) {
        stage = 2;
        log(`the engine reacted to loss; clearing it and making a PMTU black hole at 1100 on ${LINK}`);
        await labImpair(LAB, { link: LINK, clear: true });
        await labImpair(LAB, { link: LINK, mtu: 1100, pmtuBlackhole: true });
      } else if (stage === 2 && /\[pmtuBlackHole\]/.test(text)) {
        stage = 3;
        log("the engine lowered the MTU below the black hole; letting the blend converge");
      }
    };
    busy = true;
    next()
      .catch((err: Error) => log(`injection failed: ${err.message}`))
      .finally(() => (busy = false));
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync(OUT, { recursive: true });
  await labDown(LAB).catch(() => undefined);
  log(`lab up: ${LAB} (h1, h3 on source; h2 on destination)`);
  const inv = await labUp({ name: LAB, hosts: 3 });
  const [h1, h2] = inv.hosts;
  const flows = [start(["iperf3", "-s", "-B", h1.address, "-p", "5201"], { netns: h1.netns })];
  await new Promise((r) => setTimeout(r, 1000));
  flows.push(start(["iperf3", "-c", h1.address, "-p", "5201", "-t", "600", "-b", "8M"], { netns: h2.netns }));
  log(`live flow: iperf3 from h2 (${h2.address}) to h1 (${h1.address}) at 8 Mbit/s`);
  let project: PulumiProject | undefined;
  try {
    project = await PulumiProject.create({
      name: "migration",
      example: "migration",
      root: join(OUT, "stack"),
      config: { lab: { value: LAB }, stepDwellMs: { value: "6000" } },
    });
    log("pulumi up: agents, source persona, migration");
    const up = await project.up(injector());
    const out = await project.outputs();
    const history = out.history as HistoryEntry[];
    writeFileSync(join(OUT, "outputs.json"), `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(
      join(OUT, "session.svg"),
      renderSessionSvg(history, "netpersona demo: migration h1 → h2 with loss, then a PMTU black hole"),
    );
    const adjustments = history.filter((h) => h.changes.length > 0);
    log(
      `result: ${up.summary.result}; converged=${String(out.converged)} in ${Number(out.convergenceSeconds).toFixed(1)} s`,
    );
    for (const a of adjustments)
      log(
        `  ${a.time.slice(11, 19)} w=${a.weight.toFixed(2)} [${a.rule}] ${a.changes.join(", ")}: ${a.reason}`,
      );
    log(`final persona on h2: ${JSON.stringify(out.finalPersona)}`);
    log(`chart: ${join(OUT, "session.svg")}; outputs: ${join(OUT, "outputs.json")}`);
    log("pulumi destroy");
    await project.destroy();
  } finally {
    for (const f of flows) f.kill("SIGTERM");
    await project?.dispose().catch(() => undefined);
    await labDown(LAB);
    log(`lab removed; demo took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exit(1);
});
