// Starts one DNS responder per lab network inside the router namespace, and queries them.
import dgram from "node:dgram";
import { openSync, closeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";

import { start } from "../util/exec";
import type { LabPlan } from "./plan";

/** The names every responder of a lab answers: `<host>.<lab>.lab`, `router.<lab>.lab`, `resolver.<lab>.lab`. */
export function labNames(plan: LabPlan, own: string): Record<string, string> {
  const names: Record<string, string> = {};
  for (const h of plan.hosts) names[`${h.name}.${plan.name}.lab`] = h.address;
  names[`router.${plan.name}.lab`] = plan.uplink.routerAddress;
  // Each responder answers this with its own address, so a client can tell which one it asked.
  names[`resolver.${plan.name}.lab`] = own;
  return names;
}

/** Sends one A query from this process's namespace; resolves the answered address, null for no answer. */
export function queryA(server: string, name: string, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 65536);
    const qname = Buffer.concat([
      ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`DNS query for ${name} to ${server} timed out`));
    }, timeoutMs);
    sock.on("message", (msg) => {
      if (msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      sock.close();
      const answers = msg.readUInt16BE(6);
      resolve(answers > 0 ? [...msg.subarray(msg.length - 4)].join(".") : null);
    });
    sock.send(Buffer.concat([header, qname]), 53, server);
  });
}

/** Starts the responders (detached, logging to the state folder); returns their configs. */
export async function startResponders(plan: LabPlan, stateDir: string) {
  const script = path.join(__dirname, "dns-responder.js");
  const out: { network: string; address: string; names: Record<string, string> }[] = [];
  for (const n of plan.networks) {
    const names = labNames(plan, n.dns);
    const config = path.join(stateDir, `dns-${n.name}.json`);
    await writeFile(config, JSON.stringify({ address: n.dns, names }));
    const log = openSync(path.join(stateDir, `dns-${n.name}.log`), "a");
    const child = start([process.execPath, script, config], {
      netns: plan.router,
      detached: true,
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    child.unref();
    await writeFile(path.join(stateDir, `dns-${n.name}.pid`), `${child.pid}\n`);
    out.push({ network: n.name, address: n.dns, names });
  }
  for (const r of out) await waitResponder(r.address, `resolver.${plan.name}.lab`);
  return out;
}

async function waitResponder(address: string, name: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      if ((await queryA(address, name, 250)) === address) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `DNS responder ${address} did not answer: ${last instanceof Error ? last.message : String(last)}`,
  );
}
