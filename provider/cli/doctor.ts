// `netpersona doctor`: checks the environment a user needs and prints the fix for each missing piece.
import { constants } from "node:fs";
import { access, readdir, readFile, realpath } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { dirname, join } from "node:path";

import type { Command } from "commander";

import { run, which } from "../util/exec";

export interface Check {
  name: string;
  ok: boolean;
  /** Required pieces make `doctor` exit non-zero; optional ones only warn. */
  required: boolean;
  /** Informational (the YAML and Python pieces unless `--yaml`/`--python` asks for them): missing is a note. */
  note?: boolean;
  detail: string;
  fix?: string;
}

const SDK_VERSION = `v${require("@pulumi/pulumi/package.json").version as string}`;
/** This package's version: the provider plugin and the Python SDK must have the same. */
const PACKAGE_VERSION = require("../../../package.json").version as string;

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

async function executable(path: string): Promise<string | undefined> {
  return access(path, constants.X_OK).then(
    () => path,
    () => undefined,
  );
}

/** A language host on PATH or built by `make pulumi` next to the cached engine. */
async function findLanguageHost(name: string): Promise<{ found?: string; onPath: boolean; cached: boolean }> {
  const onPath = await which(name);
  const found = onPath ?? (await executable(join(cachedPulumiBin(), name)));
  return { found, onPath: !!onPath, cached: !!found && found.startsWith(cachedPulumiBin()) };
}

/** The YAML language host, which Pulumi YAML programs (examples/persona-yaml, migration-yaml) need. */
async function checkYamlHost(required: boolean): Promise<Check> {
  const { found, onPath, cached } = await findLanguageHost("pulumi-language-yaml");
  if (!found)
    return {
      name: "yaml",
      ok: false,
      required,
      note: !required,
      detail: "pulumi-language-yaml missing: Pulumi YAML programs cannot run (TypeScript ones can)",
      fix: `run \`make pulumi\` (builds it offline, about 4 minutes the first time) and add ${cachedPulumiBin()} to PATH`,
    };
  const where = cached ? "built offline by `make pulumi` from pulumi-yaml v1.25.0" : "found on PATH";
  return {
    name: "yaml",
    ok: true,
    required,
    note: !required,
    detail: `pulumi-language-yaml at ${found} (${where})${onPath ? "" : "; not on PATH"}`,
    fix: onPath ? undefined : `put ${cachedPulumiBin()} on PATH`,
  };
}

/** The Python language host and, for the one `make pulumi` builds (v3.68.0's), its executor beside it. */
async function checkPythonHost(required: boolean): Promise<Check> {
  const { found, onPath, cached } = await findLanguageHost("pulumi-language-python");
  const exec = found && (await executable(join(dirname(found), "pulumi-language-python-exec")));
  if (!found || (cached && !exec))
    return {
      name: "python",
      ok: false,
      required,
      note: !required,
      detail: found
        ? `pulumi-language-python at ${found} but no pulumi-language-python-exec beside it`
        : "pulumi-language-python missing: Python programs cannot run (TypeScript ones can)",
      fix: `run \`make pulumi\` (builds both offline) and add ${cachedPulumiBin()} to PATH`,
    };
  const where = cached ? "built offline by `make pulumi` from sdk/v3 v3.68.0" : "found on PATH";
  return {
    name: "python",
    ok: true,
    required,
    note: !required,
    detail: `pulumi-language-python at ${found} (${where})${onPath ? "" : "; not on PATH"}`,
    fix: onPath ? undefined : `put ${cachedPulumiBin()} on PATH`,
  };
}

/** The versions of `pulumi` and `pulumi_netpersona` installed in a virtualenv: from their metadata folders
 *  (`*.dist-info` of a wheel, `*.egg-info` of pip's legacy `setup.py install`), and for pulumi_netpersona from
 *  the pulumi-plugin.json it ships (the plugin version it asks the engine for). */
async function pythonPackages(venv: string): Promise<{ pulumi?: string; netpersona?: string }> {
  const lib = join(venv, "lib");
  const pythons = (await readdir(lib).catch(() => [] as string[])).filter((d) => /^python3/.test(d));
  const out: { pulumi?: string; netpersona?: string } = {};
  for (const py of pythons) {
    const site = join(lib, py, "site-packages");
    for (const entry of await readdir(site).catch(() => [] as string[])) {
      const m = /^(pulumi|pulumi_netpersona)-([^-]+?)(-py[\d.]+)?\.(dist-info|egg-info)$/.exec(entry);
      if (m?.[1] === "pulumi") out.pulumi = m[2];
      if (m?.[1] === "pulumi_netpersona") out.netpersona = m[2];
    }
    const plugin = await readFile(join(site, "pulumi_netpersona", "pulumi-plugin.json"), "utf8").then(
      (t) => (JSON.parse(t) as { version?: string }).version,
      () => undefined,
    );
    if (plugin) out.netpersona = plugin;
  }
  return out;
}

/** The Python environment of a Python program: the active virtualenv ($VIRTUAL_ENV) or the one
 *  scripts/python-deps.sh caches, with `pulumi` and `pulumi_netpersona` of this package's version. The Python
 *  host `make pulumi` builds runs the python3 on PATH, so the virtualenv must be active. */
async function checkPythonVenv(required: boolean): Promise<Check> {
  const sdk = SDK_VERSION.slice(1);
  const root = process.env.NETPERSONA_CACHE ?? join(homedir(), ".cache", "netpersona");
  const cachedVenv = join(root, `python-pulumi-${sdk}`, "venv");
  const candidates = [process.env.VIRTUAL_ENV, cachedVenv].filter((v): v is string => !!v);
  const base = { name: "python-venv", required, note: !required };
  const makeIt = `bash scripts/python-deps.sh (in the repository: makes ${cachedVenv}), or pip install pulumi==${sdk} and a copy of sdk/python into your virtualenv`;
  for (const venv of candidates) {
    const { pulumi, netpersona } = await pythonPackages(venv);
    if (!pulumi && !netpersona) continue;
    const has = `pulumi ${pulumi ?? "missing"}, pulumi_netpersona ${netpersona ?? "missing"}`;
    if (!pulumi || netpersona !== PACKAGE_VERSION)
      return {
        ...base,
        ok: false,
        detail: `${venv}: ${has}${netpersona && netpersona !== PACKAGE_VERSION ? ` (this package is ${PACKAGE_VERSION})` : ""}`,
        fix: makeIt,
      };
    const python3 = await which("python3");
    const active = !!python3 && python3 === join(venv, "bin", "python3");
    return {
      ...base,
      ok: true,
      detail: `${venv}: ${has}${active ? " (active)" : "; not active"}`,
      fix: active
        ? undefined
        : `activate it (. ${venv}/bin/activate): the Python host runs the python3 on PATH`,
    };
  }
  return {
    ...base,
    ok: false,
    detail: `no virtualenv with pulumi and pulumi_netpersona (looked in ${candidates.join(", ")})`,
    fix: makeIt,
  };
}

/** The version of the netpersona plugin whose executable is `bin`: the package.json of its package (the npm
 *  package's bin/, or the tarball's root wrapper with package/ beside it). */
async function pluginVersion(bin: string): Promise<string | undefined> {
  const dir = dirname(await realpath(bin).catch(() => bin));
  for (const pkg of [join(dir, "..", "package.json"), join(dir, "package", "package.json")]) {
    const v = await readFile(pkg, "utf8").then(
      (t) => (JSON.parse(t) as { name?: string; version?: string }).version,
      () => undefined,
    );
    if (v) return v;
  }
  return undefined;
}

/** The provider plugin YAML and Python programs need: on PATH, or installed into Pulumi's plugin cache from its
 *  tarball, at this package's version (the engine asks for that version; it cannot download it). */
async function checkPlugin(required: boolean): Promise<Check> {
  const onPath = await which("pulumi-resource-netpersona");
  const pathVersion = onPath ? await pluginVersion(onPath) : undefined;
  // The engine's default PULUMI_HOME is in the user's home from the password database, not $HOME.
  const plugins = join(process.env.PULUMI_HOME ?? join(userInfo().homedir, ".pulumi"), "plugins");
  const installed = (await readdir(plugins, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory() && /^resource-netpersona-v/.test(e.name))
    .map((e) => e.name.replace(/^resource-netpersona-v/, ""));
  const parts = [
    onPath ? `on PATH at ${onPath} (${pathVersion ?? "version unknown"})` : "not on PATH",
    installed.length ? `installed in ${plugins}: ${installed.join(", ")}` : `none installed in ${plugins}`,
  ];
  const ok = pathVersion === PACKAGE_VERSION || installed.includes(PACKAGE_VERSION);
  return {
    name: "plugin",
    ok,
    required,
    note: !required,
    detail: `pulumi-resource-netpersona ${PACKAGE_VERSION}: ${parts.join("; ")}`,
    fix: ok
      ? undefined
      : `bash scripts/plugin-tarball.sh, then pulumi plugin install resource netpersona ${PACKAGE_VERSION} --file out/pulumi-resource-netpersona-v${PACKAGE_VERSION}-linux-amd64.tar.gz (or put node_modules/.bin of a project with the package on PATH)`,
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

export interface DoctorOptions {
  /** Pulumi YAML programs are wanted: their language host and the plugin are required. */
  yaml?: boolean;
  /** Python programs are wanted: their language host, virtualenv and the plugin are required. */
  python?: boolean;
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<Check[]> {
  return Promise.all([
    checkNode(),
    checkPulumi(),
    checkLanguageHost(),
    checkYamlHost(!!opts.yaml),
    checkPythonHost(!!opts.python),
    checkPythonVenv(!!opts.python),
    checkPlugin(!!opts.yaml || !!opts.python),
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
    const mark = c.ok ? "ok  " : c.required ? "FAIL" : c.note ? "note" : "warn";
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
      "check the environment: node, pulumi and its language hosts, the provider plugin, privileges, ip/tc/nft/sshd, netem",
    )
    .option("--json", "print the checks as JSON")
    .option("--yaml", "require what Pulumi YAML programs need (YAML language host, provider plugin)")
    .option(
      "--python",
      "require what Python programs need (Python language host, virtualenv, provider plugin)",
    )
    .action(async (opts: { json?: boolean; yaml?: boolean; python?: boolean }) => {
      const checks = await runDoctor({ yaml: opts.yaml, python: opts.python });
      process.stdout.write(opts.json ? `${JSON.stringify(checks, null, 2)}\n` : `${formatChecks(checks)}\n`);
      if (checks.some((c) => c.required && !c.ok)) process.exitCode = 1;
    });
}
