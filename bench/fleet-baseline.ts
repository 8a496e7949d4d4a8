// The fleet baseline: the same agent bootstrap as the Agent resource (check node, copy the agent bundle and
// certificates, start it, wait until it answers over mTLS), done by a plain sequential script of ssh/scp
// commands, one host after the other. It stands in for @pulumi/command remote.Command, whose provider plugin
// cannot be built here (the Go module proxy refuses github.com/pulumi/pulumi-command/provider: 403).
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";

import { connectAgent } from "../provider/agent/rpc/client";
import type { LabHost, LabInventory } from "../provider/lab";
import { issueAgentCert } from "../provider/pki";
import { run } from "../provider/util/exec";
import { AGENT_BUNDLE, AGENT_PORT, benchPki } from "./agents";
import { elapsedMs } from "./stats";

export const START_SCRIPT = path.join(__dirname, "..", "..", "bench", "baseline-start.sh");
/** ssh joins the remote command into one string for the remote shell: only plain words may go in it. */
const WORD = /^[A-Za-z0-9_.:/=@+-]+$/;

export function sshBase(inv: LabInventory, h: LabHost, tool: "ssh" | "scp"): string[] {
  const port = tool === "ssh" ? "-p" : "-P";
  return [
    tool,
    "-F",
    "/dev/null",
    "-i",
    h.privateKeyPath,
    port,
    String(h.sshPort),
    "-o",
    `UserKnownHostsFile=${inv.knownHostsPath}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
  ];
}

async function ssh(inv: LabInventory, h: LabHost, remote: string[]): Promise<string> {
  for (const w of remote)
    if (!WORD.test(w)) throw new Error(`baseline: '${w}' is not a plain word for a remote command`);
  return (await run([...sshBase(inv, h, "ssh"), `${h.user}@${h.address}`, "--", ...remote])).stdout;
}

export async function waitAnswer(endpoint: string, pki: Awaited<ReturnType<typeof benchPki>>): Promise<void> {
  const client = connectAgent({
    endpoint,
    caPem: pki.ca.certPem,
    certPem: pki.client.certPem,
    keyPem: pki.client.keyPem,
    deadlineMs: 2000,
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await client.getInfo();
        return;
      } catch (e) {
        if (i >= 100)
          throw new Error(`baseline: agent at ${endpoint} never answered: ${(e as Error).message}`, {
            cause: e,
          });
        await sleep(100);
      }
    }
  } finally {
    client.close();
  }
}

/** Bootstraps the agent on every host of the lab, one after the other; returns the wall time in ms. */
export async function baselineBootstrap(inv: LabInventory): Promise<number> {
  const t0 = process.hrtime.bigint();
  const pki = await benchPki();
  const node = process.execPath;
  for (const h of inv.hosts) {
    const dir = `${inv.stateDir}/baseline/${h.name}`;
    await ssh(inv, h, [node, "--version"]);
    await ssh(inv, h, ["mkdir", "-p", `${dir}/state`]);
    const cert = await issueAgentCert(pki.ca, { commonName: h.name, ips: [h.address] });
    const local = path.join(inv.stateDir, "baseline-certs", h.name);
    await run(["mkdir", "-p", local]);
    const files: [string, string][] = [
      ["ca.pem", pki.ca.certPem],
      ["cert.pem", cert.certPem],
      ["key.pem", cert.keyPem],
    ];
    const { writeFile } = await import("node:fs/promises");
    for (const [name, pem] of files) await writeFile(path.join(local, name), pem, { mode: 0o600 });
    const copy = [AGENT_BUNDLE, START_SCRIPT, ...files.map(([n]) => path.join(local, n))];
    await run([...sshBase(inv, h, "scp"), "-q", ...copy, `${h.user}@${h.address}:${dir}/`]);
    const agent = [
      node,
      `${dir}/netpersona-agent.js`,
      "--listen",
      `${h.address}:${AGENT_PORT}`,
      "--state-dir",
      `${dir}/state`,
    ];
    agent.push("--ca", `${dir}/ca.pem`, "--cert", `${dir}/cert.pem`, "--key", `${dir}/key.pem`);
    agent.push(`--netns-resolv-conf=/etc/netns/${h.netns}/resolv.conf`);
    await ssh(inv, h, ["sh", `${dir}/baseline-start.sh`, `${dir}/agent.log`, ...agent]);
    await waitAnswer(`${h.address}:${AGENT_PORT}`, pki);
  }
  return elapsedMs(t0);
}
