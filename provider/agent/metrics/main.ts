// `node dist/provider/agent/metrics/main.js COMMAND ...`: the metrics library from a shell, printing JSON
// lines. Run it inside a host's namespace (`ip netns exec NS node ...`) to measure from that host.
//   respond --listen ADDR:PORT... [--allow CIDR,...]       echo responder until SIGINT/SIGTERM (answers every
//                                                          source unless --allow; rate-limited per source)
//   probe   --peer NAME=ADDR:PORT... --count N [--interval-ms 100 --timeout-ms 1000 --window N --size B]
//   sample  --peer NAME=ADDR:PORT... --samples N [--interval-ms 1000 --probe-interval-ms 100
//           --window 100 --interface DEV... --no-tcp --no-pmtu]
//   pmtu    ADDRESS [--tries 2 --max N]
import { isIP } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

import { parseAllowList } from "../session/echo-allow";
import { startEchoResponder } from "./echo";
import { probePathMtu } from "./pmtu";
import { EchoProber, type EchoPeer } from "./prober";
import { MetricsSampler } from "./sampler";
import { parseEndpoint } from "../../util/ss";

const print = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

function endpoint(text: string): { address: string; port: number } {
  const e = parseEndpoint(text);
  if (!e || e.port < 0 || e.port > 65535)
    throw new Error(`'${text}' is not ADDRESS:PORT (IPv6 as [ADDR]:PORT)`);
  return e;
}

function peers(list: string[] | undefined): EchoPeer[] {
  if (!list?.length) throw new Error("name at least one --peer NAME=ADDRESS:PORT");
  return list.map((p) => {
    const eq = p.indexOf("=");
    if (eq < 1) throw new Error(`--peer '${p}': use NAME=ADDRESS:PORT`);
    return { name: p.slice(0, eq), ...endpoint(p.slice(eq + 1)) };
  });
}

const num = (v: string | undefined, dflt: number, what: string) => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${what}: '${v}' is not a non-negative number`);
  return n;
};

async function main(argv: string[]): Promise<void> {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      listen: { type: "string", multiple: true },
      allow: { type: "string" },
      peer: { type: "string", multiple: true },
      interface: { type: "string", multiple: true },
      count: { type: "string" },
      samples: { type: "string" },
      "interval-ms": { type: "string" },
      "probe-interval-ms": { type: "string" },
      "timeout-ms": { type: "string" },
      window: { type: "string" },
      size: { type: "string" },
      tries: { type: "string" },
      max: { type: "string" },
      "no-tcp": { type: "boolean" },
      "no-pmtu": { type: "boolean" },
    },
  });
  const [command, arg] = positionals;
  if (command === "respond") {
    if (!o.listen?.length) throw new Error("name at least one --listen ADDRESS:PORT");
    // A hand-run measurement tool: every source unless --allow (the agent's responder has its own rule).
    const list = o.allow === undefined ? undefined : parseAllowList(o.allow).list;
    const allowed = (a: string) => list?.check(a, isIP(a) === 6 ? "ipv6" : "ipv4") ?? true;
    const rs = await Promise.all(o.listen.map((l) => startEchoResponder({ ...endpoint(l), allowed })));
    print({ listening: rs.map((r) => `${r.address}:${r.port}`) });
    await new Promise<void>((resolve) => ["SIGINT", "SIGTERM"].forEach((s) => process.once(s, resolve)));
    print({ counts: rs.map((r) => r.counts()) });
    await Promise.all(rs.map((r) => r.close()));
  } else if (command === "probe") {
    const count = num(o.count, 100, "count");
    const timeoutMs = num(o["timeout-ms"], 1000, "timeout-ms");
    const intervalMs = num(o["interval-ms"], 100, "interval-ms");
    const prober = new EchoProber(peers(o.peer), {
      intervalMs,
      timeoutMs,
      window: num(o.window, count, "window"),
      payloadBytes: num(o.size, 64, "size"),
    });
    await prober.open();
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(intervalMs);
      prober.sendRound();
    }
    await sleep(timeoutMs + 50);
    print({ peers: prober.stats() });
    await prober.close();
  } else if (command === "sample") {
    const samples = num(o.samples, 1, "samples");
    const sampler = new MetricsSampler({
      peers: peers(o.peer),
      intervalMs: num(o["interval-ms"], 1000, "interval-ms"),
      probeIntervalMs: num(o["probe-interval-ms"], 100, "probe-interval-ms"),
      window: num(o.window, 100, "window"),
      timeoutMs: num(o["timeout-ms"], 1000, "timeout-ms"),
      interfaces: o.interface,
      tcp: !o["no-tcp"],
      pmtu: o["no-pmtu"] ? false : { tries: num(o.tries, 2, "tries") },
    });
    let n = 0;
    for await (const s of sampler) {
      print(s);
      if (++n >= samples) break;
    }
    await sampler.stop();
  } else if (command === "pmtu" && arg) {
    print(
      await probePathMtu(arg, {
        tries: num(o.tries, 2, "tries"),
        max: o.max ? num(o.max, 0, "max") : undefined,
      }),
    );
  } else {
    throw new Error(
      "usage: main.js respond|probe|sample|pmtu ... (see the head of provider/agent/metrics/main.ts)",
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`netpersona metrics: ${e.message}\n`);
      process.exit(2);
    },
  );
}
