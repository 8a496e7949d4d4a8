// The life of a persona example in another Pulumi language (YAML, Python) through the CLI and the provider
// plugin, against one lab host: the config every such example takes, and the same five steps for each —
// preview names the bad fields and leaves the host alone, up applies the persona (the kernel has it), a
// second preview is clean, the state holds no plaintext secret and no serialized code, destroy leaves the
// host as it was.
import * as assert from "node:assert/strict";

import { labAgentPaths } from "../provider/lab";
import type { CliProject } from "./cli-project";
import { defaultRoute, hostState, type HostState } from "./host-state";
import type { LabHost, LabInventory } from "./lab-fixture";

/** The lab host as the examples' config takes it (examples/persona-yaml, examples/persona-python). */
export function exampleHostConfig(inv: LabInventory, h: LabHost): Record<string, { value: string }> {
  return {
    host: { value: h.address },
    sshPort: { value: String(h.sshPort) },
    sshUser: { value: h.user },
    sshPrivateKeyPath: { value: h.privateKeyPath },
    hostKey: { value: h.hostPublicKey },
    // Where its agent lives, as `lab status --json` lists it and labAgentArgs uses it.
    agentDir: { value: labAgentPaths(inv, h).agentDir },
    resolvConfPath: { value: labAgentPaths(inv, h).resolvConfPath },
  };
}

export interface ExampleLife {
  project: () => CliProject;
  host: () => LabHost;
  /** The host before the example ran. */
  original: () => HostState;
  /** What the failing preview prints, one pattern per bad field. */
  badFields: RegExp[];
  /** The config that makes it valid: [key, value]. */
  fix: [string, string][];
}

/** Defines the five steps as `it`s of the enclosing `describe`. */
export function personaExampleSteps(x: ExampleLife): void {
  it("preview names the bad fields and creates nothing", async () => {
    const r = await x.project().preview({ check: false });
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      /using pulumi-resource-netpersona from \$PATH at \S+node_modules\/\.bin\/pulumi-resource-netpersona/,
    );
    for (const p of x.badFields) assert.match(out, p);
    assert.deepEqual(await hostState(x.host()), x.original());
  });

  it("up bootstraps the agent and applies the persona: the kernel has it", async () => {
    for (const [key, value] of x.fix) await x.project().pulumi(["config", "set", key, value]);
    const up = await x.project().up();
    assert.match(up.stdout, /\+ 5 created/);
    const outs = await x.project().outputs();
    assert.ok(Array.isArray(outs.summary) && (outs.summary as string[]).some((l) => /MTU 1400/.test(l)));
    assert.equal(typeof outs.hostname, "string");
    const route = await defaultRoute(x.host());
    assert.match(route, /mtu lock 1400/); // mtuScope left out: the provider's default, route
    assert.match(route, /congctl bbr/);
  });

  it("a second preview is clean", async () => {
    const r = await x.project().pulumi(["preview", "--expect-no-changes", "--diff"], { check: false });
    assert.equal(r.code, 0, r.stdout);
  });

  it("the state holds no plaintext secret and no serialized code", async () => {
    const state = JSON.stringify(await x.project().exportState());
    assert.equal(state.includes("PRIVATE KEY"), false, "a private key in plaintext in the state");
    assert.equal(state.includes("__provider"), false, "serialized provider code in the state");
    assert.match(state, /"type":"netpersona:index:PersonaAttachment"/);
  });

  it("destroy removes everything and leaves the host as it was", async () => {
    const d = await x.project().destroy();
    assert.match(d.stdout, /- 5 deleted/);
    assert.deepEqual(await hostState(x.host()), x.original());
  });
}
