// examples/persona-basic through the `pulumi` CLI from its own folder (outside the repository, the package
// installed from its tarball), against lab hosts: agents bootstrapped over SSH, a persona
// applied and read back from the kernel, no change on a second preview, hand-made drift seen by refresh,
// no plaintext secret in the state, destroy leaves each host exactly as it was.
import * as assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

import { run } from "../../provider/util/exec";
import { join } from "node:path";

import { CliProject } from "../cli-project";
import { REPO } from "../e2e";
import { defaultRoute, hostState, type HostState } from "../host-state";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

describe("examples/persona-basic: Agent + PersonaAttachment end to end against a lab", function () {
  const LAB = "pbasic";
  let inv: LabInventory;
  let project: CliProject;
  const original: HostState[] = [];

  before(async () => {
    inv = await createLab({ name: LAB, hosts: 2 });
    for (const h of inv.hosts) original.push(await hostState(h));
    project = await CliProject.create({
      name: "persona-basic",
      from: join(REPO, "examples", "persona-basic"),
      config: { lab: { value: LAB } },
    });
  });

  after(async () => {
    await project?.dispose();
    await destroyLab(LAB);
  });

  it("previews the agents and attachments to create", async () => {
    const plan = await project.previewJson();
    assert.deepEqual(plan.steps.map((s) => `${s.op} ${s.urn.split("::").slice(2).join("::")}`).sort(), [
      "create pulumi-nodejs:dynamic/netpersona:Agent::h1",
      "create pulumi-nodejs:dynamic/netpersona:Agent::h2",
      "create pulumi-nodejs:dynamic/netpersona:Persona::web",
      "create pulumi-nodejs:dynamic/netpersona:PersonaAttachment::h1",
      "create pulumi-nodejs:dynamic/netpersona:PersonaAttachment::h2",
      "create pulumi-nodejs:dynamic/netpersona:StackCa::ca",
      "create pulumi:pulumi:Stack::persona-basic-dev",
    ]);
    const text = await project.preview();
    assert.match(
      text.stdout,
      /\+ pulumi-nodejs:dynamic\/netpersona:PersonaAttachment: \(create\)\n +\[urn=\S+PersonaAttachment::h1\]/,
    );
  });

  it("bootstraps the agents and applies the persona: the kernel has it", async () => {
    const up = await project.up();
    assert.match(up.stdout, /\+ 7 created/);
    assert.match(
      up.stdout,
      /\[netpersona\] Agent 10\.\d+\.\d+\.\d+: agent started; waiting for it to answer over mTLS/,
    );
    const dns = inv.dnsResponders.map((r) => r.address);
    for (const h of inv.hosts) {
      const route = await defaultRoute(h);
      assert.match(route, /congctl bbr/, route);
      assert.match(route, /mtu lock 1400/, route);
      const nft = (await run(["nft", "list", "table", "inet", "netpersona"], { netns: h.netns })).stdout;
      assert.match(nft, /ip dscp set af21/);
      const resolv = readFileSync(`/etc/netns/${h.netns}/resolv.conf`, "utf8");
      assert.deepEqual(
        resolv.split("\n").filter((l) => l.startsWith("nameserver")),
        dns.map((a) => `nameserver ${a}`),
      );
    }
    const out = await project.outputs();
    assert.deepEqual(out.hostnames, [await hostname(inv, 0), await hostname(inv, 1)]);
    assert.deepEqual(
      (out.live as Array<{ mtu: number }>).map((l) => l.mtu),
      [1400, 1400],
    );
  });

  it("plans no change on a second preview", async () => {
    await project.previewNoChanges();
  });

  it("a persona change previews each host's exact kernel plan, and `netpersona review` renders it", async () => {
    await project.pulumi(["config", "set", "mtu", "1360"]);
    const preview = await project.previewJson();
    const gateways = await Promise.all(
      inv.hosts.map(async (h) => /via (\S+)/.exec(await defaultRoute(h))![1]),
    );
    const line = (i: number, from: number, to: number) =>
      `routes: change route default via ${gateways[i]} dev eth0: mtu lock ${from} → mtu lock ${to}`;
    assert.deepEqual(
      preview.steps
        .filter((s) => s.op !== "same")
        .map((s) => [s.op, s.urn.split("::").pop(), s.newState?.inputs?.plan])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      [
        ["update", "h1", [line(0, 1400, 1360)]],
        ["update", "h2", [line(1, 1400, 1360)]],
        ["update", "web", undefined],
      ],
    );
    writeFileSync(join(project.dir, "preview.json"), JSON.stringify(preview));
    // As a reviewer's pipeline runs it: the command installed with the package.
    const review = (await project.exec(["npx", "netpersona", "review", "preview.json"])).stdout;
    const host = (i: number) => `h${i + 1} (${inv.hosts[i].address}:7443)`;
    const section = (i: number) =>
      [
        `#### PersonaAttachment ${host(i)}: update`,
        "",
        "| field | before | after |",
        "| --- | --- | --- |",
        "| mtu | `1400` | `1360` |",
        "",
        "Kernel plan:",
        "",
        "```",
        line(i, 1400, 1360),
        "```",
        "",
      ].join("\n");
    assert.equal(
      review,
      [
        "## netpersona: planned network changes",
        "",
        "Resources: 3 to update.",
        "",
        "### Risks",
        "",
        ...[0, 1].map(
          (i) =>
            `- ${host(i)}: MTU lowered to 1360 (from 1400): larger packets on the covered routes are fragmented or refused; check the path MTU`,
        ),
        "",
        "### Hosts",
        "",
        section(0),
        section(1),
        "### Personas",
        "",
        "#### Persona web: update",
        "",
        "| field | before | after |",
        "| --- | --- | --- |",
        "| mtu | `1400` | `1360` |",
        "",
      ].join("\n"),
    );
    await project.up();
    await project.previewNoChanges();
  });

  it("keeps every private key and password out of the state in plaintext", async () => {
    const exported = await project.exportState();
    assert.deepEqual(plaintextKeys(exported), []);
    const state = JSON.stringify(exported);
    const sshKey = readFileSync(inv.hosts[0].privateKeyPath, "utf8").split("\n")[1];
    assert.ok(!state.includes(sshKey), "the SSH private key is in the state in plaintext");
    assert.match(state, /"ciphertext"/);
  });

  it("shows a hand-made MTU change on refresh, and up puts the persona back", async () => {
    const h = inv.hosts[0];
    const route = await defaultRoute(h);
    const via = /via (\S+)/.exec(route)![1];
    await run(["ip", "route", "change", "default", "via", via, "congctl", "bbr", "mtu", "lock", "1300"], {
      netns: h.netns,
    });
    // Without a refresh, the next preview already carries the kernel plan that puts it back.
    const drift = await project.previewJson();
    assert.deepEqual(
      drift.steps
        .filter((s) => s.op !== "same")
        .map((s) => [s.op, s.urn.split("::").pop(), s.newState?.inputs?.plan]),
      [["update", "h1", [`routes: change route default via ${via} dev eth0: mtu lock 1300 → mtu lock 1360`]]],
    );
    await project.refresh();
    const state = JSON.stringify(await project.exportState());
    assert.match(state, /"mtu":1300/);
    const plan = await project.previewJson();
    assert.deepEqual(
      plan.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`),
      ["update h1"],
    );
    await project.up();
    assert.match(await defaultRoute(h), /mtu lock 1360/);
    await project.previewNoChanges();
  });

  it("an agent whose daemon died: preview warns it cannot be asked, refresh records it, up restarts it", async () => {
    const h = inv.hosts[1];
    const pids = await agentPids(h.netns);
    assert.ok(pids.length >= 2, `the supervisor and the agent run in ${h.netns}: ${pids.join(" ")}`);
    await run(["kill", "-9", ...pids.map(String)]);
    const preview = await project.preview();
    const warnings = `${preview.stdout}\n${preview.stderr}`
      .split("\n")
      .filter((l) => l.includes("[netpersona] PersonaAttachment") && l.includes("warning:"));
    assert.equal(warnings.length, 1, `${preview.stdout}\n${preview.stderr}`);
    assert.match(
      warnings[0],
      /warning: the agent at \S+ could not be asked \(No connection established\. Last error: Error: connect ECONNREFUSED \S+\): no kernel plan\. If the agent is down, `pulumi refresh` records it and `pulumi up` then restarts it$/,
    );
    assert.doesNotMatch(warnings[0], /Resolution note/);
    await project.refresh();
    const agents = (await project.exportState()).deployment.resources!.filter(
      (r) => String(r.type).endsWith("Agent") && String(r.urn).endsWith(`::${h.name}`),
    );
    assert.deepEqual(
      agents.map((r) => (r.outputs as { running?: boolean }).running),
      [false],
    );
    await project.up();
    assert.ok((await agentPids(h.netns)).length >= 2, "restarted over SSH");
    await project.previewNoChanges();
  });

  it("destroy restores each host exactly as it was before", async () => {
    await project.destroy();
    for (const [i, h] of inv.hosts.entries()) assert.deepEqual(await hostState(h), original[i], h.name);
  });
});

async function hostname(inv: LabInventory, i: number): Promise<string> {
  return (await run(["hostname"], { netns: inv.hosts[i].netns })).stdout.trim();
}

/** Where a PEM private key sits in the state outside a secret (urn, inputs/outputs, property path). */
function plaintextKeys(exported: { deployment: { resources?: Array<Record<string, unknown>> } }): string[] {
  const found: string[] = [];
  const walk = (v: unknown, where: string): void => {
    if (typeof v === "string") {
      if (v.includes("PRIVATE KEY")) found.push(where);
    } else if (v && typeof v === "object") {
      if ("4dabf18193072939515e22adb298388d" in v) return; // a secret: ciphertext only
      for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
    }
  };
  for (const r of exported.deployment.resources ?? []) {
    walk(r.inputs, `${String(r.urn).split("::").pop()} inputs`);
    walk(r.outputs, `${String(r.urn).split("::").pop()} outputs`);
  }
  return found;
}

/** The agent's processes (the supervisor and the daemon) in a lab host's namespace; sshd is left out. */
async function agentPids(netns: string): Promise<number[]> {
  const out = await run(["ip", "netns", "pids", netns]);
  const pids: number[] = [];
  for (const pid of out.stdout.split(/\s+/).filter(Boolean)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes("netpersona") && !cmd.includes("sshd")) pids.push(Number(pid));
  }
  return pids;
}
