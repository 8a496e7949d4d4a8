// Exact plans through the real `pulumi` CLI, from a user's folder (the package installed from its tarball),
// against a lab host: for each upstream change, the operations of `pulumi preview --json` are asserted exactly,
// then `pulumi up --json` must perform exactly those. Then refresh: clean on an untouched host, each kind of
// hand-made change reported as exactly that field, and a dead agent (kill -9 of the agent and its supervisor)
// recorded as `running: false` and brought back by `pulumi up`.
import * as assert from "node:assert/strict";
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";

import { run } from "../../provider/util/exec";
import { CliProject, scratchProject, type PreviewJson } from "../cli-project";
import { defaultRoute } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

const LAB = "x12plan";
const T = "pulumi-nodejs:dynamic/netpersona:";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Agent, Persona, PersonaAttachment, StackCa, labAgentArgs, labInventory } from "pulumi-netpersona";

const config = new pulumi.Config();
const inv = labInventory(config.require("lab"));
const base = labAgentArgs(inv, inv.hosts[0]);
const ca = new StackCa("ca", { rotation: config.get("rotation") ?? "" });
const persona = new Persona("web", config.requireObject<Record<string, unknown>>("persona"));
const agent = new Agent("h1", {
  ...base,
  ca,
  port: config.getNumber("agentPort"),
  connection: { ...base.connection, dialErrorLimit: config.getNumber("dialErrorLimit") },
});
const attachment = new PersonaAttachment("h1", { agent, persona });
export const running = agent.running;
export const live = attachment.live;
`;

const short = (urn: string) => urn.split("::").slice(2).join("::").replace(T, "");
/** A replacement is one operation to a reader, whichever steps the engine uses to carry it out. */
const REPLACE_STEPS = new Set(["replace", "create-replacement", "delete-replaced"]);

/** "op Type::name" for every step that is not `same`, sorted (a replacement once, as `replace`). */
function opsOf(steps: Array<{ op: string; urn: string }>): string[] {
  const out = new Set(
    steps
      .filter((s) => s.op !== "same" && s.op !== "read")
      .map((s) => `${REPLACE_STEPS.has(s.op) ? "replace" : s.op} ${short(s.urn)}`),
  );
  return [...out].sort();
}

const ops = (j: PreviewJson) => opsOf(j.steps);

/**
 * What `pulumi up --json` / `pulumi refresh --json` did: with --skip-preview they print the engine's events,
 * one JSON object a line; every finished step is a `resOutputsEvent`. (Debug diagnostics in that stream are
 * never looked at.)
 */
function performed(stdout: string, what: string): { ops: string[]; summary: Record<string, unknown> } {
  const steps: Array<{ op: string; urn: string }> = [];
  let summary: Record<string, unknown> | undefined;
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as {
      resOutputsEvent?: {
        metadata: { op: string; urn: string; old?: { outputs?: unknown }; new?: { outputs?: unknown } };
      };
      summaryEvent?: Record<string, unknown>;
    };
    const m = e.resOutputsEvent?.metadata;
    // A refresh reports every resource as `refresh`: it changed the state when the outputs differ.
    if (m?.op === "refresh")
      steps.push({ urn: m.urn, op: isDeepStrictEqual(m.old?.outputs, m.new?.outputs) ? "same" : "update" });
    else if (m) steps.push(m);
    if (e.summaryEvent) summary = e.summaryEvent;
  }
  if (!summary) throw new Error(`${what} printed no summary event:\n${stdout.slice(-3000)}`);
  return { ops: opsOf(steps), summary };
}

describe("exact plans through the pulumi CLI: preview says what up does", function () {
  let inv: LabInventory;
  let project: CliProject;
  let persona: Record<string, unknown>;
  const timings: string[] = [];

  const setPersona = (p: Record<string, unknown>) =>
    project.pulumi(["config", "set", "persona", JSON.stringify(p), "--plaintext"]);

  /** preview --json, then up --json: both must show exactly `expected`. */
  async function planAndApply(expected: string[]): Promise<void> {
    const started = Date.now();
    const preview = await project.previewJson();
    assert.deepEqual(
      ops(preview),
      expected,
      `preview:\n${JSON.stringify(preview.diagnostics ?? [], null, 1)}`,
    );
    const r = await project.pulumi(["up", "--yes", "--skip-preview", "--json"], { check: false });
    assert.equal(r.code, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.deepEqual(
      performed(r.stdout, "pulumi up --json").ops,
      expected,
      "up did something else than the preview planned",
    );
    // And nothing is left to do.
    assert.deepEqual(ops(await project.previewJson()), []);
    timings.push(`${expected.join(", ") || "(nothing)"}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  /** `pulumi refresh --json`: the resources whose recorded state changed. */
  async function refreshOps(): Promise<{ ops: string[] }> {
    const r = await project.pulumi(["refresh", "--yes", "--skip-preview", "--json"]);
    return performed(r.stdout, "pulumi refresh --json");
  }

  async function stateOf(suffix: string): Promise<Record<string, unknown>> {
    const st = await project.exportState();
    const r = (st.deployment.resources ?? []).find((x) => String(x.urn).endsWith(suffix))!;
    return r.outputs as Record<string, unknown>;
  }
  const attachmentState = () => stateOf("PersonaAttachment::h1");

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 1 });
    const h = inv.hosts[0];
    persona = {
      personaName: "web",
      congestionControl: "bbr",
      mtu: 1400,
      qos: { class: "low-latency-data" },
      dns: { servers: inv.dnsResponders.map((r) => r.address).slice(0, 2), options: ["timeout:1"] },
      // No device and no per-prefix gateway: the kernel fills them in, and that is not drift.
      routes: { preferredGateway: h.gateway, prefixes: [{ prefix: "10.99.0.0/16", metric: 5 }] },
    };
    project = await CliProject.create({
      name: "x12-plans",
      from: scratchProject("x12-plans", { "index.ts": PROGRAM }),
      config: { lab: { value: LAB }, persona: { value: JSON.stringify(persona) } },
    });
  });

  after(async () => {
    console.log(`      timings:\n        ${timings.join("\n        ")}`);
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("creates the stack; a second preview and a refresh find nothing", async () => {
    await planAndApply([
      "create Agent::h1",
      "create Persona::web",
      "create PersonaAttachment::h1",
      "create StackCa::ca",
      "create pulumi:pulumi:Stack::x12-plans-dev",
    ]);
    assert.deepEqual((await refreshOps()).ops, [], "refresh right after up reports drift");
    assert.deepEqual(ops(await project.previewJson()), []);
  });

  const fieldChanges: Array<[string, (p: Record<string, unknown>) => Record<string, unknown>]> = [
    ["mtu", (p) => ({ ...p, mtu: 1380 })],
    ["congestionControl", (p) => ({ ...p, congestionControl: "cubic" })],
    ["qos", (p) => ({ ...p, qos: { class: "standard" } })],
    [
      "dns (order)",
      (p) => {
        const dns = p.dns as { servers: string[] };
        return { ...p, dns: { ...dns, servers: [...dns.servers].reverse() } };
      },
    ],
    [
      "routes (prefix metric)",
      (p) => ({
        ...p,
        routes: { ...(p.routes as object), prefixes: [{ prefix: "10.99.0.0/16", metric: 7 }] },
      }),
    ],
  ];
  for (const [field, change] of fieldChanges) {
    it(`Persona ${field} change → Persona update + PersonaAttachment update, no replace`, async () => {
      persona = change(persona);
      await setPersona(persona);
      await planAndApply(["update Persona::web", "update PersonaAttachment::h1"]);
    });
  }

  it("refresh right after those ups is clean", async () => {
    assert.deepEqual((await refreshOps()).ops, []);
  });

  it("each hand-made change is reported by refresh as exactly that field; up puts it back", async () => {
    const h = inv.hosts[0];
    const resolv = `/etc/netns/${h.netns}/resolv.conf`;
    const hand: Array<[string, () => Promise<unknown>]> = [
      [
        "mtu",
        async () => {
          const via = /via (\S+)/.exec(await defaultRoute(h))![1];
          await run(
            ["ip", "route", "change", "default", "via", via, "congctl", "cubic", "mtu", "lock", "1300"],
            {
              netns: h.netns,
            },
          );
        },
      ],
      [
        "congestionControl",
        async () => {
          const via = /via (\S+)/.exec(await defaultRoute(h))![1];
          await run(
            ["ip", "route", "change", "default", "via", via, "congctl", "reno", "mtu", "lock", "1380"],
            {
              netns: h.netns,
            },
          );
        },
      ],
      ["qos", () => run(["nft", "delete", "table", "inet", "netpersona"], { netns: h.netns })],
      [
        "dns",
        async () => {
          const lines = readFileSync(resolv, "utf8").split("\n");
          const ns = lines.filter((l) => l.startsWith("nameserver"));
          writeFileSync(
            resolv,
            [...lines.filter((l) => !l.startsWith("nameserver")), ...ns.reverse()].join("\n"),
          );
        },
      ],
    ];
    for (const [field, act] of hand) {
      const before = (await attachmentState()).persona as Record<string, unknown>;
      await act();
      const r = await refreshOps();
      assert.deepEqual(r.ops, ["update PersonaAttachment::h1"], `${field}: refresh`);
      const after = (await attachmentState()).persona as Record<string, unknown>;
      const differs = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
      );
      assert.deepEqual(differs, [field], `${field}: ${JSON.stringify(after)}`);
      await planAndApply(["update PersonaAttachment::h1"]);
      assert.deepEqual((await refreshOps()).ops, [], `${field}: refresh after up`);
    }
  });

  it("connection change (dial settings) → Agent update only", async () => {
    await project.pulumi(["config", "set", "dialErrorLimit", "12", "--plaintext"]);
    await planAndApply(["update Agent::h1"]);
  });

  it("agent port change → Agent update + PersonaAttachment update (same host: re-applied, not replaced)", async () => {
    await project.pulumi(["config", "set", "agentPort", "7444", "--plaintext"]);
    await planAndApply(["update Agent::h1", "update PersonaAttachment::h1"]);
  });

  it("Agent upgrade (new package version and bundle) → Agent update only", async () => {
    const pkgDir = join(project.dir, "node_modules", "pulumi-netpersona");
    const pkgFile = join(pkgDir, "package.json");
    const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { version: string };
    pkg.version = `${pkg.version}-x12.1`;
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    const agentDir = join(pkgDir, "dist", "agent");
    const bundle = readdirSync(agentDir).find((f) => f === "netpersona-agent.js")!;
    appendFileSync(join(agentDir, bundle), "\n// rebuilt\n");
    await planAndApply(["update Agent::h1"]);
  });

  it("StackCa rotation → StackCa replace, Agent update, PersonaAttachment update", async () => {
    await project.pulumi(["config", "set", "rotation", "2", "--plaintext"]);
    const preview = await project.previewJson();
    const planned = ops(preview);
    const r = await project.pulumi(["up", "--yes", "--skip-preview", "--json"], { check: false });
    assert.equal(r.code, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    const done = performed(r.stdout, "pulumi up --json").ops;
    if (!isDeepStrictEqual(planned, done))
      console.log(
        r.stdout
          .split("\n")
          .filter((l) => l.includes("resOutputsEvent") || l.includes("resourcePreEvent"))
          .map((l) => {
            const e = JSON.parse(l);
            const m = (e.resOutputsEvent ?? e.resourcePreEvent).metadata;
            return `${m.op} ${m.urn} keys=${JSON.stringify(m.keys)} diffs=${JSON.stringify(m.diffs)}`;
          })
          .join("\n"),
      );
    assert.deepEqual(planned, done, "up did something else than the preview planned");
    assert.deepEqual(planned, ["replace StackCa::ca", "update Agent::h1", "update PersonaAttachment::h1"]);
    assert.deepEqual(ops(await project.previewJson()), []);
  });

  it("a dead agent (agent and supervisor killed) is drift: refresh records running: false, up restarts it", async () => {
    const installDir = `${inv.stateDir}/agents/${inv.hosts[0].name}/opt`;
    const pids = (await run(["pgrep", "-f", `${installDir}/`], { check: false })).stdout
      .split("\n")
      .filter(Boolean);
    assert.ok(pids.length >= 2, `agent and supervisor processes: ${pids.join(" ")}`);
    await run(["kill", "-9", ...pids]);
    const r = await refreshOps();
    assert.deepEqual(r.ops, ["update Agent::h1"]);
    // Stack outputs change only on up: the refreshed state says it.
    assert.equal((await stateOf("Agent::h1")).running, false);
    await planAndApply(["update Agent::h1"]);
    assert.equal((await stateOf("Agent::h1")).running, true);
    assert.equal((await project.outputs()).running, true);
    assert.deepEqual((await refreshOps()).ops, []);
  });
});
