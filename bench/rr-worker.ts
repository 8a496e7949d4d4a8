// Request/response workload for the disruption benchmark, run inside a lab host's namespace:
//   node rr-worker.js serve ADDR PORT                 answers each request (a 4-byte length, then that many
//                                                      bytes) with RESPONSE_BYTES bytes, on any connection
//   node rr-worker.js client ADDR PORT RATE SECONDS   opens a new TCP connection per request, RATE requests/s,
//                                                      for SECONDS; prints one JSON object at the end:
//   { "startUnixMs": ..., "requests": [[offsetMs, latencyMs or -1 when failed], ...] }
//   node rr-worker.js client NAME PORT RATE SECONDS RESOLV_CONF
//                                                      the same, but every request first resolves NAME (type A)
//                                                      with the servers RESOLV_CONF lists at that moment, in order,
//                                                      with its `options timeout:N attempts:N` (glibc defaults
//                                                      5 s, 2): as glibc reads /etc/resolv.conf again when it
//                                                      changes (a process under `ip netns exec` keeps the file it
//                                                      was started with, so it reads the path itself).
// A request fails when it is not answered within TIMEOUT_MS (lookup and connect included) or its connection errors.
import { readFileSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import net from "node:net";

const REQUEST_BYTES = 512;
const RESPONSE_BYTES = 16 * 1024;
const TIMEOUT_MS = 2000;

function serve(address: string, port: number): void {
  const server = net.createServer((sock) => {
    let need = -1;
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (need < 0 && buf.length >= 4) need = buf.readUInt32BE(0) + 4;
      if (need > 0 && buf.length >= need) {
        sock.end(Buffer.alloc(RESPONSE_BYTES, 0x61));
        need = 0;
      }
    });
    sock.on("error", () => sock.destroy());
  });
  server.listen(port, address, () => process.stdout.write("ready\n"));
}

/** The first A record of `name`, asked as glibc would with the resolv.conf at `path` as it is now. */
async function lookup(name: string, path: string): Promise<string> {
  const text = readFileSync(path, "utf8");
  const servers = [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]).slice(0, 3);
  const opt = (key: string, dflt: number) => Number(new RegExp(`${key}:(\\d+)`).exec(text)?.[1] ?? dflt);
  const resolver = new Resolver({ timeout: opt("timeout", 5) * 1000, tries: opt("attempts", 2) });
  resolver.setServers(servers);
  const [address] = await resolver.resolve4(name);
  return address;
}

function once(target: string, port: number, resolvConf?: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  if (!resolvConf) return exchange(target, port, t0);
  const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), TIMEOUT_MS).unref());
  const answered = lookup(target, resolvConf).then(
    (address) => exchange(address, port, t0, TIMEOUT_MS - Number(process.hrtime.bigint() - t0) / 1e6),
    () => -1,
  );
  return Promise.race([answered, timeout]);
}

function exchange(address: string, port: number, t0: bigint, timeoutMs = TIMEOUT_MS): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok ? Number(process.hrtime.bigint() - t0) / 1e6 : -1);
    };
    const sock = net.connect({ host: address, port }, () => {
      const req = Buffer.alloc(4 + REQUEST_BYTES, 0x62);
      req.writeUInt32BE(REQUEST_BYTES, 0);
      sock.write(req);
    });
    const timer = setTimeout(() => finish(false), Math.max(1, timeoutMs));
    sock.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= RESPONSE_BYTES) finish(true);
    });
    sock.on("error", () => finish(false));
    sock.on("close", () => finish(got >= RESPONSE_BYTES));
  });
}

async function client(
  address: string,
  port: number,
  rate: number,
  seconds: number,
  resolvConf?: string,
): Promise<void> {
  const startUnixMs = Date.now();
  const t0 = process.hrtime.bigint();
  const pending: Promise<[number, number]>[] = [];
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const at = (i * 1000) / rate;
    const now = Number(process.hrtime.bigint() - t0) / 1e6;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
    const offset = Number(process.hrtime.bigint() - t0) / 1e6;
    pending.push(
      once(address, port, resolvConf).then((lat) => [Math.round(offset), Math.round(lat * 100) / 100]),
    );
  }
  const requests = await Promise.all(pending);
  process.stdout.write(`${JSON.stringify({ startUnixMs, requests })}\n`);
}

function main(argv: string[]): void {
  const [mode, address, portText, rateText, secondsText, resolvConf] = argv;
  const port = Number(portText);
  const named = mode === "client" && resolvConf !== undefined && /^[a-z0-9.-]{1,253}$/i.test(address);
  if ((net.isIPv4(address) === false && !named) || !(port > 0 && port < 65536)) {
    throw new Error(
      "usage: rr-worker serve|client IPV4 PORT [RATE SECONDS] | client NAME PORT RATE SECONDS RESOLV_CONF",
    );
  }
  if (mode === "serve") return serve(address, port);
  const rate = Number(rateText);
  const seconds = Number(secondsText);
  if (mode !== "client" || !(rate > 0 && rate <= 1000) || !(seconds > 0 && seconds <= 600)) {
    throw new Error("usage: rr-worker client IPV4 PORT RATE(1-1000) SECONDS(1-600)");
  }
  client(address, port, rate, seconds, resolvConf).then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}

main(process.argv.slice(2));
