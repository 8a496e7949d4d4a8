// Table-driven tests of the host's pure planners, renderers and parsers, from data files (as nmstate does for
// its diffs). test/fixtures/plan/<planner>/<case>/ holds the inputs (current.*, desired.*) and the expected
// output (plan.* or parsed.json), or error.txt with the exact message when the input must be refused.
// Plans are compared as their steps (field, description, argv), never as functions. No root, no kernel.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { personaSchema, type Persona } from "../../provider/persona/schema";
import { normalizePersona } from "../../provider/persona/validate";
import type { Action } from "../../provider/agent/host/actions";
import { parseResolv, renderResolv } from "../../provider/agent/host/dns";
import { resolvedCommands, resolvedDesired } from "../../provider/agent/host/dns-resolved";
import { planCcSysctl, planLinkMtu } from "../../provider/agent/host/links";
import { parseNft, renderNft } from "../../provider/agent/host/nft";
import { planEcmp, planRoutes } from "../../provider/agent/host/route-applier";
import { parseRoutes, renderRoute } from "../../provider/agent/host/routes";
import { currentPersona } from "../../provider/agent/host/state";
import { htbActions, htbCommands } from "../../provider/agent/host/tc";

const FIXTURES = path.join(__dirname, "../../../test/fixtures/plan");

interface Planner {
  /** The input files of a case, in the order `run` takes them (`.json` parsed, anything else as text). */
  inputs: string[];
  /** The expected output file; `error.txt` instead when the case must be refused. */
  expected: string;
  run(...inputs: never[]): unknown;
}

const steps = (actions: Action[]) => actions.map((a) => a.step);
/** A desired persona as the controller hands it to the planners: validated and normalised. */
const persona = (p: unknown): Persona => normalizePersona(personaSchema.parse(p));

const PLANNERS: Record<string, Planner> = {
  planRoutes: {
    inputs: ["desired.json", "current.json"],
    expected: "plan.json",
    run: (desired: unknown, current: Parameters<typeof planRoutes>[1]) =>
      steps(planRoutes(persona(desired), current)),
  },
  planEcmp: {
    inputs: ["desired.json", "current.json"],
    expected: "plan.json",
    run: (desired: Parameters<typeof planEcmp>[0], current: Parameters<typeof planEcmp>[1]) =>
      steps(planEcmp(desired, current)),
  },
  planLinkMtu: {
    inputs: ["desired.json", "current.json"],
    expected: "plan.json",
    run: (desired: Parameters<typeof planLinkMtu>[0], current: Parameters<typeof planLinkMtu>[1]) =>
      steps(planLinkMtu(desired, current)),
  },
  planCcSysctl: {
    inputs: ["desired.json", "current.json"],
    expected: "plan.json",
    run: (desired: string | null, current: Parameters<typeof planCcSysctl>[1]) =>
      steps(planCcSysctl(desired ?? undefined, current)),
  },
  planHtb: {
    inputs: ["desired.json", "current.json"],
    expected: "plan.json",
    run: (desired: Parameters<typeof htbActions>[0], current: { htb: never[]; roots: never[] }) =>
      steps(htbActions(desired, current.htb, current.roots)),
  },
  htbCommands: {
    inputs: ["desired.json"],
    expected: "plan.json",
    run: (desired: { dev: string; priority: number }) => htbCommands(desired.dev, desired.priority),
  },
  renderNft: {
    inputs: ["desired.json"],
    expected: "plan.nft",
    run: (desired: Parameters<typeof renderNft>[0]) => renderNft(desired),
  },
  parseNft: {
    inputs: ["current.json"],
    expected: "parsed.json",
    run: (current: unknown) => parseNft(JSON.stringify(current)),
  },
  renderRoute: {
    inputs: ["desired.json"],
    expected: "plan.json",
    run: (desired: Parameters<typeof renderRoute>[0]) => renderRoute(desired),
  },
  parseRoutes: {
    inputs: ["family.json", "current.json", "current.txt"],
    expected: "parsed.json",
    run: (family: 4 | 6, json: unknown, text: string) => parseRoutes(family, JSON.stringify(json), text),
  },
  currentPersona: {
    inputs: ["desired.json", "current.json"],
    expected: "parsed.json",
    run: (desired: unknown, current: Parameters<typeof currentPersona>[0]) =>
      currentPersona(current, desired === null ? undefined : persona(desired)),
  },
  parseResolv: {
    inputs: ["current.conf"],
    expected: "parsed.json",
    run: (current: string) => parseResolv(current) ?? null,
  },
  renderResolv: {
    inputs: ["desired.json"],
    expected: "plan.conf",
    run: (desired: Parameters<typeof renderResolv>[0]) => renderResolv(desired),
  },
  resolvedDesired: {
    inputs: ["desired.json"],
    expected: "plan.json",
    run: (desired: { link: string; dns: Parameters<typeof resolvedDesired>[1] }) =>
      resolvedDesired(desired.link, desired.dns),
  },
  resolvedCommands: {
    inputs: ["desired.json"],
    expected: "plan.json",
    run: (desired: Parameters<typeof resolvedCommands>[0]) => resolvedCommands(desired),
  },
};

const dirs = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

function read(file: string): unknown {
  const text = readFileSync(file, "utf8");
  return file.endsWith(".json") ? JSON.parse(text) : text;
}

/** PLAN_FIXTURES_WRITE=1 writes the expected file of a case that has none (never overwrites one): read it and
 *  check it by hand before committing it. */
const WRITE = process.env.PLAN_FIXTURES_WRITE === "1";

function runCase(planner: Planner, dir: string): void {
  const missing = planner.inputs.filter((f) => !existsSync(path.join(dir, f)));
  assert.deepEqual(missing, [], `missing input files in ${dir}`);
  const args = planner.inputs.map((f) => read(path.join(dir, f)) as never);
  const errorFile = path.join(dir, "error.txt");
  const expectedFile = path.join(dir, planner.expected);
  let out: unknown;
  try {
    out = planner.run(...args);
  } catch (err) {
    const message = (err as Error).message;
    if (WRITE && !existsSync(errorFile) && !existsSync(expectedFile))
      writeFileSync(errorFile, `${message}\n`);
    assert.ok(existsSync(errorFile), `refused, but ${dir} has no error.txt: ${message}`);
    assert.equal(message, readFileSync(errorFile, "utf8").replace(/\n$/, ""));
    return;
  }
  assert.ok(!existsSync(errorFile), `expected a refusal (error.txt) but got ${JSON.stringify(out)}`);
  const json = planner.expected.endsWith(".json");
  if (WRITE && !existsSync(expectedFile)) {
    writeFileSync(expectedFile, json ? `${JSON.stringify(out, null, 2)}\n` : String(out));
  }
  if (json) assert.deepEqual(JSON.parse(JSON.stringify(out)), read(expectedFile));
  else assert.equal(out, read(expectedFile));
}

describe("host planners, renderers and parsers: tables from test/fixtures/plan", () => {
  const planners = dirs(FIXTURES);

  it("every planner folder has a runner and every runner has at least four cases", () => {
    assert.deepEqual(
      planners.filter((p) => !(p in PLANNERS)),
      [],
    );
    const few = Object.keys(PLANNERS).filter(
      (p) => !planners.includes(p) || dirs(path.join(FIXTURES, p)).length < 4,
    );
    assert.deepEqual(few, []);
  });

  for (const name of planners.filter((p) => p in PLANNERS)) {
    for (const c of dirs(path.join(FIXTURES, name))) {
      it(`${name}: ${c}`, () => runCase(PLANNERS[name], path.join(FIXTURES, name, c)));
    }
  }
});
