// Runs a real Pulumi program through the real CLI (built offline by `make pulumi`) with a local file
// backend and a passphrase, never Pulumi Cloud. Used by the tests, the demo and the benchmarks.
//
// The program is either an example folder (its compiled index.js under dist/examples/<name>) or an inline
// function. The Automation API hosts the program in this process and hands the engine its address, so no
// separate language-host binary is needed. Each project gets a work folder inside the repository (.e2e/ by
// default), so the dynamic-provider process resolves `pulumi-netpersona` from the repository's node_modules.
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import {
  LocalWorkspace,
  type OutputMap,
  type PreviewResult,
  type Stack,
  type UpResult,
} from "@pulumi/pulumi/automation";

import { cachedPulumiBin } from "../cli/doctor";

const execFileP = promisify(execFile);

export const REPO = resolve(__dirname, "..", "..", "..");
export const PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE ?? "netpersona-local-passphrase";

/** The environment of a Pulumi CLI on a local file backend (never Pulumi Cloud), with the engine that
 *  `make pulumi` caches on PATH. */
export function localPulumiEnv(backend: string, home: string, passphrase: string): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PATH: `${cachedPulumiBin()}:${process.env.PATH ?? ""}`,
  };
}

export interface ProjectOptions {
  /** Unique name; also the Pulumi project name. */
  name: string;
  /** Folder that holds the project's work folder (default: .e2e in the repository). */
  root?: string;
  /** Either an example folder name under examples/, or an inline program. */
  example?: string;
  program?: () => Promise<Record<string, unknown> | void>;
  /** Stack config (key → value); `secret: true` values are encrypted with the passphrase. */
  config?: Record<string, { value: string; secret?: boolean }>;
}

export interface CapturedRun {
  stdout: string;
  stderr: string;
}

/** A real Pulumi stack with a local backend, torn down by `dispose()`. */
export class PulumiProject {
  readonly dir: string;
  private constructor(
    readonly stack: Stack,
    dir: string,
    private readonly envVars: Record<string, string>,
  ) {
    this.dir = dir;
  }

  static async create(opts: ProjectOptions): Promise<PulumiProject> {
    // The serialized providers require the package by name; in this repository that resolves through
    // node_modules/pulumi-netpersona -> .. (made by `make`, re-made here because `npm install` prunes it).
    const self = join(REPO, "node_modules", "pulumi-netpersona");
    if (!existsSync(self)) symlinkSync("..", self);
    const root = opts.root ?? join(REPO, ".e2e");
    const dir = join(root, opts.name);
    rmSync(dir, { recursive: true, force: true });
    const backend = join(dir, "backend");
    mkdirSync(backend, { recursive: true });
    const home = join(root, "pulumi-home");
    mkdirSync(home, { recursive: true });
    const program = opts.program ?? exampleProgram(opts.example ?? opts.name);
    writeFileSync(join(dir, "Pulumi.yaml"), `name: ${opts.name}\nruntime: nodejs\n`);
    const envVars = localPulumiEnv(backend, home, PASSPHRASE);
    process.env.PATH = envVars.PATH;
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "e2e", projectName: opts.name, program: program as () => Promise<OutputMap> },
      { workDir: dir, envVars },
    );
    for (const [key, { value, secret }] of Object.entries(opts.config ?? {})) {
      await stack.setConfig(key, { value, secret: !!secret });
    }
    return new PulumiProject(stack, dir, envVars);
  }

  async preview(): Promise<PreviewResult & CapturedRun> {
    const out = capture();
    const r = await this.stack.preview({ diff: true, onOutput: out.push, color: "never" });
    return { ...r, stdout: out.text(), stderr: "" };
  }

  /** A preview that must plan no change at all (ProgramTest's second step). */
  async previewNoChanges(): Promise<PreviewResult & CapturedRun> {
    const r = await this.preview();
    const changes = Object.entries(r.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
    if (changes.length > 0) {
      throw new Error(`expected no changes, got ${JSON.stringify(r.changeSummary)}\n${r.stdout}`);
    }
    return r;
  }

  /** `pulumi up` without --diff, whose display hides the providers' progress lines. */
  async up(onOutput?: (text: string) => void): Promise<UpResult & CapturedRun> {
    const out = capture();
    const push = onOutput ? (s: string) => (out.push(s), onOutput(s)) : out.push;
    const r = await this.stack.up({ onOutput: push, color: "never" });
    return { ...r, stdout: out.text(), stderr: "" };
  }

  async refresh(): Promise<CapturedRun & { summary: Record<string, number> }> {
    const out = capture();
    const r = await this.stack.refresh({ onOutput: out.push, color: "never" });
    return { stdout: out.text(), stderr: "", summary: r.summary.resourceChanges ?? {} };
  }

  async destroy(): Promise<CapturedRun> {
    const out = capture();
    await this.stack.destroy({ onOutput: out.push, color: "never" });
    return { stdout: out.text(), stderr: "" };
  }

  async outputs(): Promise<Record<string, unknown>> {
    const o = await this.stack.outputs();
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
  }

  /** `pulumi stack export`: the deployment as stored in the backend. */
  async exportState(): Promise<{ deployment: { resources?: Array<Record<string, unknown>> } }> {
    // As a user runs it: secrets stay encrypted (the Automation API's exportStack shows them).
    const { stdout } = await execFileP("pulumi", ["stack", "export", "--stack", "e2e"], {
      cwd: this.dir,
      env: { ...process.env, ...this.envVars },
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout);
  }

  /** Destroys what is left (best effort), removes the stack and its folder. */
  async dispose(): Promise<void> {
    try {
      await this.stack.destroy({ color: "never" });
    } catch {
      /* already destroyed or never created */
    }
    await this.stack.workspace.removeStack("e2e").catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function exampleProgram(example: string): () => Promise<Record<string, unknown>> {
  return async () => {
    const file = join(REPO, "dist", "examples", example, "index.js");
    delete require.cache[require.resolve(file)];
    const mod = require(file);
    const exported = typeof mod.default === "function" ? await mod.default() : mod;
    return { ...exported };
  };
}

function capture(): { push: (s: string) => void; text: () => string } {
  const chunks: string[] = [];
  return { push: (s: string) => void chunks.push(s), text: () => chunks.join("") };
}
