// `netpersona doctor`: checks the environment a user needs and prints the fix for each missing piece.
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

import type { Command } from "commander";

import { run, which } from "../util/exec";

export interface Check {
  name: string;
  ok: boolean;
  /** Required pieces make `doctor` exit non-zero; optional ones only warn. */
  required: boolean;
  detail: string;
  fix?: string;
}

const SDK_VERSION = `v${require("@pulumi/pulumi/package.json").version as string}`;

/** Where `make pulumi` caches the engine for the pinned SDK version. */
export function cachedPulumiBin(): string {
  const root = process.env.NETPERSONA_CACHE ?? join(homedir(), ".cache", "netpersona");
  return join(root, `pulumi-${SDK_VERSION}`, "bin");
}

async function checkNode(): Promise<Check> {
  const [major, minor] = process.versions.node.split(".").map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return {
    name: "node",
    ok,
    required: true,
    detail: `v${process.versions.node}${major < 22 ? " (@pulumi/pulumi declares >=22; this project is tested on 20.19+)" : ""}`,
    fix: ok ? undefined : "install Node.js 20.19 or newer",
  };
}

async function checkPulumi(): Promise<Check> {
  const onPath = await which("pulumi");
  const cached = join(cachedPulumiBin(), "pulumi");
  const candidates = [onPath, cached].filter((p): p is string => !!p);
  for (const bin of candidates) {
    const r = await run([bin, "version"], { check: false, timeoutMs: 20_000 }).catch(() => undefined);
    const version = r?.stdout.trim();
    if (r?.code === 0 && version) {
      const where = bin === cached ? "built offline by `make pulumi`" : "found on PATH";
      const plugin = await which("pulumi-resource-pulumi-nodejs");
      return {
        name: "pulumi",
        ok: true,
        required: true,
        detail: `${version} at ${bin} (${where}); SDK ${SDK_VERSION}${plugin ? "" : "; dynamic-provider plugin not on PATH"}`,
        fix: plugin ? undefined : `put ${cachedPulumiBin()} on PATH (make pulumi prepares it)`,
      };
    }
  }
  return {
    name: "pulumi",
    ok: false,
    required: true,
    detail: "no pulumi CLI on PATH or in the cache",
    fix: "run `make pulumi` (builds the CLI offline from the Go module proxy) and add its bin folder to PATH",
  };
}

/** The Node.js language host, which `pulumi up` needs to run a project from its folder. Where it comes from:
 *  next to the `pulumi` found on PATH (a complete installation), or built offline by `make pulumi`. */
async function checkLanguageHost(): Promise<Check> {
  const onPath = await which("pulumi-language-nodejs");
  const cached = join(cachedPulumiBin(), "pulumi-language-nodejs");
  const found =
    onPath ??
    (await access(cached, constants.X_OK).then(
      () => cached,
      () => undefined,
    ));
  if (!found) {
    return {
      name: "language",
      ok: false,
      required: true,
      detail: "pulumi-language-nodejs missing: `pulumi up` cannot run a project from its folder",
      fix: `run \`make pulumi\` (builds it offline) and add ${cachedPulumiBin()} to PATH`,
    };
  }
  const where =
    found === cached || found.startsWith(cachedPulumiBin())
      ? "built offline by `make pulumi` from sdk/v3 v3.68.0"
      : "found on PATH";
  return {
    name: "language",
    ok: true,
    required: true,
    detail: `pulumi-language-nodejs at ${found} (${where})${onPath ? "" : "; not on PATH"}`,
    fix: onPath ? undefined : `put ${cachedPulumiBin()} on PATH`,
  };
}

async function checkPrivilege(): Promise<Check> {
  let ok = process.getuid?.() === 0;
  let detail = ok ? "running as root" : "not root";
  if (!ok) {
    const status = await readFile("/proc/self/status", "utf8").catch(() => "");
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
    const CAP_NET_ADMIN = 12n;
    if (capEff && (BigInt(`0x${capEff}`) >> CAP_NET_ADMIN) & 1n) {
      ok = true;
      detail = "CAP_NET_ADMIN effective";
    }
  }
  return {
    name: "privilege",
    ok,
    required: true,
    detail,
    fix: ok
      ? undefined
      : "run as root, or grant CAP_NET_ADMIN (e.g. sudo setcap cap_net_admin+ep $(which node))",
  };
}

async function checkTool(name: string, pkg: string, path?: string): Promise<Check> {
  const found = path
    ? await access(path, constants.X_OK).then(
        () => path,
        () => undefined,
      )
    : await which(name);
  return {
    name,
    ok: !!found,
    required: true,
    detail: found ?? "missing",
    fix: found ? undefined : `apt-get install -y ${pkg} (or: make system-deps)`,
  };
}

async function checkNetem(): Promise<Check> {
  const ns = `npdoc${process.pid}`;
  let ok = false;
  let detail: string;
  try {
    await run(["ip", "netns", "add", ns]);
    const r = await run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], {
      netns: ns,
      check: false,
    });
    ok = r.code === 0;
    detail = ok
      ? "available: `lab impair --delay` works"
      : `absent (${r.stderr.trim() || "unknown qdisc"}): no artificial delay; latency comes from queueing only`;
  } catch (err) {
    detail = `could not test: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    await run(["ip", "netns", "del", ns], { check: false }).catch(() => undefined);
  }
  return { name: "netem", ok, required: false, detail };
}

export async function runDoctor(): Promise<Check[]> {
  return Promise.all([
    checkNode(),
    checkPulumi(),
    checkLanguageHost(),
    checkPrivilege(),
    checkTool("ip", "iproute2"),
    checkTool("tc", "iproute2"),
    checkTool("nft", "nftables"),
    checkTool("sshd", "openssh-server", "/usr/sbin/sshd"),
    checkTool("ssh-keygen", "openssh-client"),
    checkTool("iperf3", "iperf3"),
    checkNetem(),
  ]);
}

export function formatChecks(checks: readonly Check[]): string {
  const lines = checks.map((c) => {
    const mark = c.ok ? "ok  " : c.required ? "FAIL" : "warn";
    return `${mark} ${c.name.padEnd(11)} ${c.detail}${c.fix ? `\n     ${" ".repeat(11)} fix: ${c.fix}` : ""}`;
  });
  const missing = checks.filter((c) => !c.ok && c.required).length;
  lines.push(missing === 0 ? "all required pieces present" : `${missing} required piece(s) missing`);
  return lines.join("\n");
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      "check the environment: node, pulumi and its language host, privileges, ip/tc/nft/sshd, netem",
    )
    .option("--json", "print the checks as JSON")
    .action(async (opts: { json?: boolean }) => {
      const checks = await runDoctor();
      process.stdout.write(opts.json ? `${JSON.stringify(checks, null, 2)}\n` : `${formatChecks(checks)}\n`);
      if (checks.some((c) => c.required && !c.ok)) process.exitCode = 1;
    });
}
