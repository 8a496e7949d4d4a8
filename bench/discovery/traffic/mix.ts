// Runs a labelled traffic mix in a lab with real programs: iperf3 (bulk), PostgreSQL + pgbench (database),
// node HTTP server + browsing client (web), paced HTTP segments (video), ssh typing (interactive).
// Every flow a generator makes is labelled by its server endpoint, so discovery can be scored.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";

import type { LabHost, LabInventory } from "../../../provider/lab";
import { start } from "../../../provider/util/exec";
import type { AppClass, FlowKey } from "../../../provider/discovery/types";
import { sleep, sshOptions } from "./common";
import { postgresBin, startPostgres, stopPostgres, type PostgresServer } from "./postgres";
import type { MixSpec } from "./mixes";

export interface Label {
  address: string;
  port: number;
  applicationClass: AppClass;
}

export interface RunningMix {
  labels: Label[];
  stop(): Promise<void>;
}

/** The class of the generator whose server endpoint is one end of `key`, if any. */
export function labelOf(labels: readonly Label[], key: FlowKey): AppClass | undefined {
  return labels.find(
    (l) =>
      (l.address === key.remoteAddress && l.port === key.remotePort) ||
      (l.address === key.localAddress && l.port === key.localPort),
  )?.applicationClass;
}

function hostOf(inv: LabInventory, name: string): LabHost {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`lab ${inv.name} has no host ${name}`);
  return h;
}

function sshArgv(inv: LabInventory, to: LabHost): string[] {
  return ["ssh", ...sshOptions(inv), `${to.user}@${to.address}`, "--", "cat"];
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once("exit", () => r()));
  c.kill("SIGTERM");
  await Promise.race([exited, sleep(3000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** Starts every generator of `spec` for `seconds` (clients stop on their own or at `stop()`). */
export async function startMix(inv: LabInventory, spec: MixSpec, seconds: number): Promise<RunningMix> {
  const children: ChildProcess[] = [];
  const pgs: PostgresServer[] = [];
  const labels: Label[] = [];
  const node = (host: LabHost, program: string, argv: (string | number)[]) =>
    children.push(
      start([process.execPath, join(__dirname, `${program}.js`), ...argv.map(String)], { netns: host.netns }),
    );
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    await Promise.all(pgs.map(stopPostgres));
  };
  try {
    for (const b of spec.bulk) {
      const srv = hostOf(inv, b.server);
      children.push(start(["iperf3", "-s", "-p", String(b.port), "-B", srv.address], { netns: srv.netns }));
      labels.push({ address: srv.address, port: b.port, applicationClass: "bulk-transfer" });
    }
    for (const d of spec.database) {
      const srv = hostOf(inv, d.server);
      pgs.push(await startPostgres(srv.netns, srv.address, d.port));
      labels.push({ address: srv.address, port: d.port, applicationClass: "database-access" });
    }
    for (const w of [...spec.web, ...spec.video]) {
      const srv = hostOf(inv, w.server);
      node(srv, "http-server", ["--host", srv.address, "--port", w.port]);
      const cls: AppClass = "period" in w ? "video-streaming" : "web-browsing";
      labels.push({ address: srv.address, port: w.port, applicationClass: cls });
    }
    await sleep(700);
    for (const b of spec.bulk) {
      const [srv, cli] = [hostOf(inv, b.server), hostOf(inv, b.client)];
      const argv = [
        "iperf3",
        "-c",
        srv.address,
        "-p",
        String(b.port),
        "-t",
        String(seconds),
        "-b",
        `${b.mbit}M`,
      ];
      children.push(start([...argv, ...(b.reverse ? ["-R"] : [])], { netns: cli.netns }));
    }
    const bin = spec.database.length ? await postgresBin() : "";
    for (const d of spec.database) {
      const [srv, cli] = [hostOf(inv, d.server), hostOf(inv, d.client)];
      const argv = [`${bin}/pgbench`, "-h", srv.address, "-p", String(d.port), "-U", "postgres", "-n"];
      argv.push("-c", String(d.clients), "-j", "1", "-T", String(seconds), "-R", String(d.tps));
      children.push(start([...argv, ...(d.selectOnly ? ["-S"] : []), "postgres"], { netns: cli.netns }));
    }
    spec.web.forEach((w, k) => {
      const [srv, cli] = [hostOf(inv, w.server), hostOf(inv, w.client)];
      node(cli, "web-client", [
        ...["--host", srv.address, "--port", w.port, "--seed", spec.seed * 100 + k, "--parallel", w.parallel],
        ...["--gapMin", w.gap[0], "--gapMax", w.gap[1], "--objMin", w.objects[0], "--objMax", w.objects[1]],
        ...["--kbMin", w.kb[0], "--kbMax", w.kb[1]],
      ]);
    });
    spec.video.forEach((v, k) => {
      const [srv, cli] = [hostOf(inv, v.server), hostOf(inv, v.client)];
      const argv = ["--host", srv.address, "--port", v.port, "--kb", v.kb, "--period", v.period];
      node(cli, "video-client", [...argv, "--seed", spec.seed * 100 + k]);
    });
    spec.interactive.forEach((t, k) => {
      const [srv, cli] = [hostOf(inv, t.server), hostOf(inv, t.client)];
      if (!labels.some((l) => l.address === srv.address && l.port === srv.sshPort))
        labels.push({ address: srv.address, port: srv.sshPort, applicationClass: "interactive" });
      node(cli, "typist", ["--seed", spec.seed * 100 + k, "--cps", t.cps, "--", ...sshArgv(inv, srv)]);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { labels, stop };
}
