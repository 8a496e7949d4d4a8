// Persona through the real Pulumi engine: preview, up, a second preview with no changes, refresh, update,
// a failing check that names the field, destroy.
import * as assert from "node:assert/strict";

import { Persona } from "../../sdk";
import { E2EProject } from "../e2e";

describe("Persona end to end (real engine, local backend)", function () {
  let project: E2EProject | undefined;
  let mtu = 1400;
  let badField: Record<string, unknown> | undefined;
  let anonymous = false;

  before(async () => {
    project = await E2EProject.create({
      name: "persona-e2e",
      program: async () => {
        const p = new Persona("web", {
          personaName: "web",
          congestionControl: "bbr",
          mtu,
          qos: { class: "low-latency-data" },
          dns: { servers: ["2001:DB8:0:0::53", "10.0.0.53"], search: ["Corp.Example.com."] },
          routes: { prefixes: [{ prefix: "10.9.0.0/16" }, { prefix: "10.1.0.0/16", metric: 5 }] },
          ...(badField as object),
        });
        // The README's Quick start shape: no personaName (check must not hand the engine an undefined).
        const anon = anonymous ? new Persona("anon", { mtu: 1400 }) : undefined;
        return {
          definition: p.definition,
          summary: p.summary,
          dscp: p.dscp,
          id: p.id,
          ...(anon && { anonName: anon.personaName, anonDefinition: anon.definition }),
        };
      },
    });
  });

  after(async () => project?.dispose());

  it("previews the creation, then creates the normalised persona", async () => {
    const pre = await project!.preview();
    assert.equal(pre.changeSummary.create, 2); // the stack and the persona
    const up = await project!.up();
    assert.equal(up.summary.result, "succeeded");
    const out = await project!.outputs();
    assert.deepEqual(out.definition, {
      congestionControl: "bbr",
      mtu: 1400,
      mtuScope: "route",
      qos: { class: "low-latency-data" },
      dns: { servers: ["2001:db8::53", "10.0.0.53"], search: ["corp.example.com"], options: [] },
      routes: { prefixes: [{ prefix: "10.1.0.0/16", metric: 5 }, { prefix: "10.9.0.0/16" }] },
    });
    assert.equal(out.dscp, 18);
    assert.deepEqual(out.summary, [
      "congestion control bbr on the covered routes",
      "MTU 1400 (per-route mtu lock)",
      "QoS low-latency-data: DSCP AF21 (18)",
      "DNS 2001:db8::53, 10.0.0.53 search corp.example.com",
      "route 10.1.0.0/16 metric 5",
      "route 10.9.0.0/16",
    ]);
  });

  it("plans no change on a second preview, and refresh finds no drift", async () => {
    await project!.previewNoChanges();
    const r = await project!.refresh();
    assert.deepEqual(
      Object.keys(r.summary).filter((k) => k !== "same"),
      [],
    );
  });

  it("updates in place when a field changes", async () => {
    mtu = 1300;
    const pre = await project!.preview();
    assert.equal(pre.changeSummary.update, 1);
    assert.match(pre.stdout, /mtu\s*:\s*1400 => 1300/);
    await project!.up();
    assert.equal(((await project!.outputs()).definition as { mtu: number }).mtu, 1300);
  });

  it("fails preview with a message naming the field and the fix", async () => {
    badField = { mtu: 70000, congestionControl: "vegas", routes: { prefixes: [{ prefix: "10.1.2.3/16" }] } };
    await assert.rejects(project!.preview(), (err: Error) => {
      const problem = (prop: string, value: string, reason: string) =>
        `error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web': property ${prop} value {${value}} has a problem: ${reason}\n`;
      assert.ok(
        err.message.includes(problem("mtu", "70000", "must be at most 9000 (jumbo frames)")),
        err.message,
      );
      assert.ok(
        err.message.includes(problem("congestionControl", "vegas", "must be one of: cubic, bbr, reno")),
        err.message,
      );
      // The engine resolves `property` only as a top-level key (a nested path would print "{<nil>}"), so a
      // nested field is named in the reason.
      assert.ok(
        err.message.includes(
          "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web' has a problem: routes.prefixes[0].prefix: host bits are set or the form is not canonical: did you mean 10.1.0.0/16?\n",
        ),
        err.message,
      );
      assert.doesNotMatch(err.message, /<nil>/);
      return true;
    });
    badField = undefined;
  });

  it("fails preview for wrong types, bad IPs, unknown keys and a malicious interface name, naming each", async () => {
    badField = {
      mtu: "big",
      dns: { servers: ["10.0.0.300"] },
      routes: { preferredDevice: "eth0; rm -rf /", prefixes: [] },
      colour: "blue",
      ...JSON.parse('{"__proto__": {"admin": true}}'),
    };
    await assert.rejects(project!.preview(), (err: Error) => {
      const lines = err.message.split("\n").filter((l) => l.startsWith("error: pulumi-nodejs:dynamic/"));
      assert.deepEqual([...new Set(lines)].sort(), [
        "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web' has a problem: __proto__: field '__proto__' is not allowed (it would replace the object's prototype): remove it",
        "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web' has a problem: dns.servers[0]: must be an IPv4 or IPv6 address, e.g. 10.0.0.1",
        "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web' has a problem: routes.preferredDevice: must be an interface name: 1-15 letters, digits, '_', '.', '-', not starting with '-' or '.'",
        "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web': property colour value {blue} has a problem: unknown field 'colour': remove it or check its spelling",
        "error: pulumi-nodejs:dynamic/netpersona:Persona resource 'web': property mtu value {big} has a problem: must be a whole number of bytes between 576 and 9000",
      ]);
      return true;
    });
    badField = undefined;
  });

  it("creates a Persona without personaName (the Quick start's shape)", async () => {
    anonymous = true;
    const up = await project!.up();
    assert.equal(up.summary.result, "succeeded");
    const out = await project!.outputs();
    assert.equal(out.anonName, undefined); // null outputs are not kept as stack outputs
    assert.deepEqual(out.anonDefinition, { mtu: 1400, mtuScope: "route" });
    await project!.previewNoChanges();
  });

  it("destroys", async () => {
    const d = await project!.destroy();
    assert.match(d.stdout, /- +pulumi-nodejs:dynamic\/netpersona:Persona web deleted/);
    assert.deepEqual(await project!.outputs(), {});
  });
});
