// `netpersona review`: a preview's JSON as a pull-request comment. The renderer is pure; the command is run
// as a user runs it (a file, standard input, and wrong inputs with their messages).
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";

import {
  personaChanges,
  personaRisks,
  renderReview,
  type PreviewDocument,
} from "../../provider/report/review";
import { REPO } from "../e2e";

const CLI = join(REPO, "bin", "netpersona");
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const urn = (type: string, name: string) =>
  `urn:pulumi:dev::p::pulumi-nodejs:dynamic/netpersona:${type}::${name}`;

const before = {
  congestionControl: "cubic",
  mtu: 1500,
  mtuScope: "route",
  dns: { servers: ["10.0.0.53", "10.0.1.53"] },
};
const after = {
  congestionControl: "bbr",
  mtu: 1400,
  mtuScope: "route",
  dns: { servers: ["10.0.1.53", "10.0.0.53"] },
};

const PREVIEW: PreviewDocument = {
  changeSummary: { same: 3, update: 2 },
  steps: [
    { op: "same", urn: "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev" },
    {
      op: "update",
      urn: urn("Persona", "web"),
      oldState: { outputs: { ...before, netpersonaVersion: "0.1.0" } },
      newState: { inputs: { ...after, netpersonaVersion: "0.1.0" } },
    },
    {
      op: "update",
      urn: urn("PersonaAttachment", "h1"),
      oldState: { outputs: { endpoint: "10.0.1.10:7443", persona: before } },
      newState: {
        inputs: {
          endpoint: "10.0.1.10:7443",
          persona: after,
          plan: ["route default: congctl bbr, mtu lock 1400", "dns: nameserver order 10.0.1.53, 10.0.0.53"],
        },
      },
    },
    { op: "same", urn: urn("Agent", "h1") },
    { op: "same", urn: urn("StackCa", "ca") },
  ],
};

describe("netpersona review", () => {
  it("lists each changed persona field with its value before and after", () => {
    assert.deepEqual(personaChanges(before, after), [
      { field: "congestionControl", before: "cubic", after: "bbr" },
      { field: "mtu", before: 1500, after: 1400 },
      { field: "dns.servers", before: ["10.0.0.53", "10.0.1.53"], after: ["10.0.1.53", "10.0.0.53"] },
    ]);
  });

  it("flags a lowered MTU, a new egress, a new first DNS server and a congestion control change", () => {
    const changes = personaChanges(
      { ...before, routes: { preferredGateway: "10.0.1.1" } },
      { ...after, routes: { preferredGateway: "10.0.1.2" } },
    );
    assert.deepEqual(personaRisks("h1", changes), [
      "h1: MTU lowered to 1400 (from 1500): larger packets on the covered routes are fragmented or refused; check the path MTU",
      "h1: egress changes (preferredGateway 10.0.1.1 → 10.0.1.2): the default route moves; existing connections take the new path",
      "h1: DNS order changes: 10.0.1.53 is asked first (was 10.0.0.53)",
      "h1: congestion control cubic → bbr on the covered routes: new connections only; running transfers keep theirs",
    ]);
    assert.deepEqual(personaRisks("h1", personaChanges({ mtu: 1400 }, { mtu: 9000 })), []);
  });

  it("renders the whole review as Markdown", () => {
    assert.equal(
      renderReview(PREVIEW),
      [
        "## netpersona: planned network changes",
        "",
        "Resources: 2 to update.",
        "",
        "### Risks",
        "",
        "- h1 (10.0.1.10:7443): MTU lowered to 1400 (from 1500): larger packets on the covered routes are fragmented or refused; check the path MTU",
        "- h1 (10.0.1.10:7443): DNS order changes: 10.0.1.53 is asked first (was 10.0.0.53)",
        "- h1 (10.0.1.10:7443): congestion control cubic → bbr on the covered routes: new connections only; running transfers keep theirs",
        "",
        "### Hosts",
        "",
        "#### PersonaAttachment h1 (10.0.1.10:7443): update",
        "",
        "| field | before | after |",
        "| --- | --- | --- |",
        "| congestionControl | `cubic` | `bbr` |",
        "| mtu | `1500` | `1400` |",
        '| dns.servers | `["10.0.0.53","10.0.1.53"]` | `["10.0.1.53","10.0.0.53"]` |',
        "",
        "Kernel plan:",
        "",
        "```",
        "route default: congctl bbr, mtu lock 1400",
        "dns: nameserver order 10.0.1.53, 10.0.0.53",
        "```",
        "",
        "### Personas",
        "",
        "#### Persona web: update",
        "",
        "| field | before | after |",
        "| --- | --- | --- |",
        "| congestionControl | `cubic` | `bbr` |",
        "| mtu | `1500` | `1400` |",
        '| dns.servers | `["10.0.0.53","10.0.1.53"]` | `["10.0.1.53","10.0.0.53"]` |',
        "",
      ].join("\n"),
    );
  });

  it("says when a value is known only after an upstream update, and when nothing changes", () => {
    const doc: PreviewDocument = {
      changeSummary: { same: 2 },
      steps: [
        {
          op: "update",
          urn: urn("PersonaAttachment", "h2"),
          oldState: { outputs: { endpoint: "10.0.2.10:7443", persona: { mtu: 1500 } } },
          newState: { inputs: { endpoint: UNKNOWN, persona: { mtu: UNKNOWN } } },
        },
      ],
    };
    const md = renderReview(doc);
    assert.match(md, /\| mtu \| `1500` \| `\(known after the upstream update\)` \|/);
    assert.match(md, /Kernel plan: not in this preview/);
    const noted = structuredClone(doc);
    noted.steps![0].newState!.inputs!.planNote =
      "the agent at 10.0.2.10:7443 could not be asked (14 UNAVAILABLE: No connection established): no kernel plan. If the agent is down, `pulumi refresh` records it and `pulumi up` then restarts it";
    assert.match(
      renderReview(noted),
      /Kernel plan: the agent at 10\.0\.2\.10:7443 could not be asked \(14 UNAVAILABLE: No connection established\): no kernel plan\. If the agent is down, `pulumi refresh` records it and `pulumi up` then restarts it\.\n/,
    );
    assert.match(
      renderReview({ steps: [], changeSummary: { same: 4 } }),
      /No resource changes\.\n\n### Risks\n\n- none found\n\n### Hosts\n\nNo host's network changes\.\n$/,
    );
  });

  it("the command reads a file or standard input; wrong input is named with the fix", async () => {
    const run = (args: string[], input: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin?.end(input);
      });
    const ok = await run(["review"], JSON.stringify(PREVIEW));
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, renderReview(PREVIEW));
    const text = await run(["review"], "Previewing update (dev):\n");
    assert.equal(text.code, 1);
    assert.equal(
      text.stderr,
      "netpersona: standard input is not JSON: give the output of `pulumi preview --json` (not the text of `pulumi preview`)\n",
    );
    const missing = await run(["review", "/nonexistent/preview.json"], "");
    assert.equal(missing.stderr, "netpersona: cannot read /nonexistent/preview.json: ENOENT\n");
    const noSteps = await run(["review"], "{}");
    assert.equal(
      noSteps.stderr,
      'netpersona: standard input has no "steps": give the output of `pulumi preview --json`\n',
    );
  });
});
