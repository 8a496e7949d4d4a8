// Reachability probes run before and after a change: the gateway answers ping, the controller accepts a TCP
// connection (or answers ping), the first DNS server answers a UDP query. Each probe runs in the managed
// namespace: in-process when the agent lives there, else through a node child under `ip netns exec`.
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, isIP } from "node:net";
import { join } from "node:path";

import { run } from "../../util/exec";
import type { HostController } from "../host/api";

export interface ProbeSpec {
  /** Ping this gateway; "auto": the gateway of the default route at probe time. */
  gateway?: string;
  /** The controller: TCP connect to host:port, or ping when no port is given. */
  controller?: { host: string; port?: number };
  /** Query this name (type A) over UDP at the first nameserver of the live resolv.conf at probe time. */
  dnsName?: string;
  /** Per probe; default 2000. */
  timeoutMs?: number;
}

/** A probe with its concrete target, resolved from the live host before it runs. */
export interface ProbeTarget {
  name: "gateway" | "controller" | "dns";
  kind: "ping" | "tcp" | "dns";
  host: string;
  port?: number;
  dnsName?: string;
}

export interface ProbeResult extends ProbeTarget {
  ok: boolean;
  detail: string;
}

function checkHost(host: string): string {
  if (isIP(host) === 0) throw new Error(`probe target '${host}' is not an IP address`);
  return host;
}

async function ping(host: string, timeoutMs: number, netns?: string): Promise<[boolean, string]> {
  const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const res = await run(["ping", "-n", "-c", "1", "-W", secs, checkHost(host)], { netns, check: false });
  return [res.code === 0, res.code === 0 ? "ping answered" : `no ping answer from ${host}`];
}

function tcp(host: string, port: number, timeoutMs: number): Promise<[boolean, string]> {
  return new Promise((resolve) => {
    const sock = connect({ host: checkHost(host), port, timeout: timeoutMs });
    const done = (ok: boolean, detail: string) => {
      sock.destroy();
      resolve([ok, detail]);
    };
    sock.once("connect", () => done(true, `tcp ${host}:${port} connected`));
    sock.once("timeout", () => done(false, `tcp ${host}:${port}: no answer in ${timeoutMs} ms`));
    sock.once("error", (e) => done(false, `tcp ${host}:${port}: ${e.message}`));
  });
}

/** A minimal DNS query (RFC 1035): header, one question, type A, class IN. */
export function dnsQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".");
  if (labels.some((l) => !/^[A-Za-z0-9-]{1,63}$/.test(l)))
    throw new Error(`dns probe: '${name}' is not a host name`);
  const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  return Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]);
}

/** One query to `server` for `name`: [answered, detail]. NOERROR and NXDOMAIN are answers. */
export function dns(server: string, name: string, timeoutMs: number): Promise<[boolean, string]> {
  return new Promise((resolve) => {
    const id = randomBytes(2).readUInt16BE(0);
    const sock = createSocket(isIP(checkHost(server)) === 6 ? "udp6" : "udp4");
    const timer = setTimeout(() => done(false, `dns ${server}: no answer in ${timeoutMs} ms`), timeoutMs);
    let finished = false;
    const done = (ok: boolean, detail: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      resolve([ok, detail]);
    };
    sock.on("error", (e) => done(false, `dns ${server}: ${e.message}`));
    sock.on("message", (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2] & 0x80) === 0) return;
      const rcode = msg[3] & 15;
      // NOERROR and NXDOMAIN are answers; SERVFAIL, REFUSED and the rest mean the server does not resolve.
      done(rcode === 0 || rcode === 3, `dns ${server}: rcode ${rcode}`);
    });
    // A send that fails at once (no route: ENETUNREACH) fails the probe at once, not after the timeout.
    sock.send(dnsQuery(id, name), 53, server, (err) => {
      if (err) done(false, `dns ${server}: ${err.message}`);
    });
  });
}

/** Runs probes in this process's namespace. */
export async function runProbesHere(targets: ProbeTarget[], timeoutMs: number): Promise<ProbeResult[]> {
  return Promise.all(
    targets.map(async (t) => {
      const [ok, detail] =
        t.kind === "ping"
          ? await ping(t.host, timeoutMs)
          : t.kind === "tcp"
            ? await tcp(t.host, t.port as number, timeoutMs)
            : await dns(t.host, t.dnsName as string, timeoutMs);
      return { ...t, ok, detail };
    }),
  );
}

/** Runs probes in `netns` (through probe-main.js under `ip netns exec`), or here when `netns` is unset. */
export async function runProbes(
  targets: ProbeTarget[],
  timeoutMs: number,
  netns?: string,
): Promise<ProbeResult[]> {
  if (targets.length === 0) return [];
  if (!netns) return runProbesHere(targets, timeoutMs);
  const main = join(__dirname, "probe-main.js");
  const res = await run([process.execPath, main, JSON.stringify({ targets, timeoutMs })], {
    netns,
    timeoutMs: timeoutMs * 2 + 10_000,
  });
  return JSON.parse(res.stdout) as ProbeResult[];
}

/** The concrete probe targets for the host as it is now (gateway "auto" and DNS follow the live host). */
export async function probeTargets(controller: HostController, spec: ProbeSpec = {}): Promise<ProbeTarget[]> {
  const live = await controller.readCurrent();
  const out: ProbeTarget[] = [];
  const gw = spec.gateway === "auto" ? live.routes?.preferredGateway : spec.gateway;
  if (gw) out.push({ name: "gateway", kind: "ping", host: gw });
  const c = spec.controller;
  if (c)
    out.push({
      name: "controller",
      kind: c.port ? "tcp" : "ping",
      host: c.host,
      ...(c.port && { port: c.port }),
    });
  const server = live.dns?.servers[0];
  if (spec.dnsName && server) out.push({ name: "dns", kind: "dns", host: server, dnsName: spec.dnsName });
  return out;
}
