// Runs a Pulumi project the way a user does: the package packed with `npm pack`, installed with
// `npm install <tarball>` into a folder outside the repository, and the real `pulumi` CLI (engine and
// Node.js language host from `make pulumi`) run in that folder with a local file backend and a passphrase.
// Nothing here resolves the package through the repository: the project sees only what the tarball holds.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { localPulumiEnv } from "../provider/automation/project";
import { run, type RunResult } from "../provider/util/exec";
import { REPO } from "./e2e";

/** Where user projects live: never inside the repository. */
export const CLI_ROOT = process.env.NETPERSONA_CLI_ROOT ?? join(tmpdir(), "netpersona-cli");
export const PASSPHRASE = "netpersona-cli-passphrase";
const STACK = "dev";

let tarball: Promise<string> | undefined;

/** The package as `npm pack` makes it from the built tree (once per test process). */
export function packedTarball(): Promise<string> {
  tarball ??= (async () => {
    const dest = join(CLI_ROOT, `pack-${process.pid}`);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    // --ignore-scripts: dist/ is already built by `make build`; `prepare` would build it again.
    await run(["npm", "pack", "--ignore-scripts", "--pack-destination", dest], {
      cwd: REPO,
      timeoutMs: 120_000,
    });
    const file = readdirSync(dest).find((f) => f.endsWith(".tgz"));
    if (!file) throw new Error(`npm pack wrote no tarball into ${dest}`);
    return join(dest, file);
  })();
  return tarball;
}

/** The source of a new TypeScript project as `pulumi new typescript` makes it (the examples' package.json and
 *  tsconfig.json), under CLI_ROOT/sources, with the given files; returns its folder. */
export function scratchProject(name: string, files: Record<string, string>): string {
  const dir = join(CLI_ROOT, "sources", name);
  rmSync(dir, { recursive: true, force: true });
  const base: Record<string, string> = {
    "Pulumi.yaml": `name: ${name}\nruntime: nodejs\n`,
    "package.json": readFileSync(join(REPO, "examples", "persona-basic", "package.json"), "utf8"),
    "tsconfig.json": readFileSync(join(REPO, "examples", "persona-basic", "tsconfig.json"), "utf8"),
  };
  for (const [file, text] of Object.entries({ ...base, ...files })) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

export interface CliProjectOptions {
  /** Folder name under CLI_ROOT; also the stack's backend folder name. */
  name: string;
  /** A folder to copy as the project (an example of this repository, or any folder). */
  from: string;
  /** Stack config (key → value); `secret: true` values are encrypted with the passphrase. */
  config?: Record<string, { value: string; secret?: boolean }>;
}

/** `pulumi preview --json`, as `netpersona review` reads it. */
export type { PreviewDocument as PreviewJson, PreviewStep } from "../provider/report/review";
import type { PreviewDocument as PreviewJson } from "../provider/report/review";

/** A project folder outside the repository with the package installed from its tarball. */
export class CliProject {
  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(opts: CliProjectOptions): Promise<CliProject> {
    const dir = join(CLI_ROOT, opts.name);
    const backend = join(CLI_ROOT, `${opts.name}.backend`);
    for (const d of [dir, backend]) rmSync(d, { recursive: true, force: true });
    mkdirSync(backend, { recursive: true });
    cpSync(opts.from, dir, {
      recursive: true,
      filter: (src) => !/\/(node_modules|bin)$/.test(src) || !statSync(src).isDirectory(),
    });
    const home = join(CLI_ROOT, "pulumi-home");
    mkdirSync(home, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...localPulumiEnv(backend, home, PASSPHRASE) };
    const project = new CliProject(dir, env);
    // As the README says: npm install the tarball (plus whatever the project's package.json lists).
    await project.exec(
      ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", await packedTarball()],
      {
        timeoutMs: 300_000,
      },
    );
    await project.pulumi(["stack", "init", STACK]);
    for (const [key, { value, secret }] of Object.entries(opts.config ?? {})) {
      await project.pulumi(["config", "set", key, value, ...(secret ? ["--secret"] : ["--plaintext"])]);
    }
    return project;
  }

  /** Any command in the project folder with the project's environment. */
  exec(argv: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(argv, {
      cwd: this.dir,
      env: this.env,
      check: opts.check,
      timeoutMs: opts.timeoutMs ?? 900_000,
    });
  }

  /** `pulumi ARGS --non-interactive --color never`; rejects on a non-zero exit unless check is false. */
  pulumi(args: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec(["pulumi", ...args, "--non-interactive", "--color", "never"], opts);
  }

  /** `pulumi preview --json`: the steps a reviewer approves. */
  async previewJson(extra: string[] = []): Promise<PreviewJson> {
    const r = await this.pulumi(["preview", "--json", ...extra], { check: false });
    try {
      return JSON.parse(r.stdout) as PreviewJson;
    } catch {
      throw new Error(`pulumi preview --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  /** `pulumi preview --diff` as a person reads it. */
  preview(opts: { check?: boolean } = {}): Promise<RunResult> {
    return this.pulumi(["preview", "--diff"], opts);
  }

  /** `pulumi preview --expect-no-changes`: fails when anything would change. */
  previewNoChanges(): Promise<RunResult> {
    return this.pulumi(["preview", "--expect-no-changes", "--diff"]);
  }

  up(opts: { check?: boolean; extra?: string[] } = {}): Promise<RunResult> {
    return this.pulumi(["up", "--yes", "--skip-preview", ...(opts.extra ?? [])], { check: opts.check });
  }

  refresh(opts: { extra?: string[] } = {}): Promise<RunResult> {
    return this.pulumi(["refresh", "--yes", "--skip-preview", ...(opts.extra ?? [])]);
  }

  destroy(): Promise<RunResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview"]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.pulumi(["stack", "output", "--json", "--show-secrets"])).stdout);
  }

  /** `pulumi stack export`: the deployment as stored (secrets stay encrypted). */
  async exportState(): Promise<{ deployment: { resources?: Array<Record<string, unknown>> } }> {
    return JSON.parse((await this.pulumi(["stack", "export"])).stdout);
  }

  /** Destroys what is left (best effort) and removes the stack, the backend and the folder. */
  async dispose(): Promise<void> {
    if (existsSync(this.dir)) {
      await this.pulumi(["destroy", "--yes", "--skip-preview"], { check: false });
      await this.pulumi(["stack", "rm", "--yes", "--force", STACK], { check: false });
    }
    const backend = (this.env.PULUMI_BACKEND_URL ?? "").replace(/^file:\/\//, "");
    rmSync(this.dir, { recursive: true, force: true });
    if (backend) rmSync(backend, { recursive: true, force: true });
  }
}
