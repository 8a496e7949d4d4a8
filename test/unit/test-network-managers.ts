// Who owns the interfaces (provider/agent/host/managers.ts), against fixture file systems and injected process
// lists: NetworkManager keyfiles and unmanaged-devices, systemd-networkd [Match] Name= globs, netplan
// definitions and renderers; the warnings a running manager earns; and GetInfo / PlanPersona of an in-process
// agent (fake host) carrying them. No root, no real manager: those do not run on these machines (no systemd).
import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import type { HostController } from "../../provider/agent/host/api";
import {
  defaultRouteDevices,
  detectManagers,
  globMatch,
  revertWarnings,
} from "../../provider/agent/host/managers";
import { connectAgent } from "../../provider/agent/rpc/client";
import { serverCredentials } from "../../provider/agent/rpc/tls";
import { createAgentServer } from "../../provider/agent/server";
import { StateStore } from "../../provider/agent/state";
import type { Persona } from "../../provider/persona/schema";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

const NM_FILES = {
  "etc/NetworkManager/NetworkManager.conf":
    "[main]\nplugins=keyfile\n\n[keyfile]\nunmanaged-devices=interface-name:veth*;mac:00:11:22:33:44:55\n",
  "etc/NetworkManager/system-connections/uplink.nmconnection":
    "[connection]\nid=uplink\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n",
};

describe("network managers on the host", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "nms-root-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("globs as systemd and netplan match names", () => {
    assert.ok(globMatch("en*", "enp0s3"));
    assert.ok(globMatch("eth[0-1]", "eth1"));
    assert.ok(!globMatch("eth[!0]", "eth0"));
    assert.ok(globMatch("wl?", "wl0"));
    assert.ok(!globMatch("eth0", "eth01"));
    assert.ok(globMatch("br.100", "br.100") && !globMatch("br.100", "brx100"));
  });

  it("finds nothing on a host without them", async () => {
    assert.deepEqual(
      await detectManagers({ root, interfaces: ["eth0"], processes: async () => ["sshd"] }),
      [],
    );
  });

  it("NetworkManager: running, the profile naming eth0, veth* unmanaged, eth1 without a profile", async () => {
    await tree(root, NM_FILES);
    const found = await detectManagers({
      root,
      interfaces: ["eth0", "eth1", "veth9", "lo"],
      processes: async () => ["systemd", "NetworkManager"],
    });
    assert.deepEqual(found, [
      {
        name: "NetworkManager",
        running: true,
        configFiles: [
          join(root, "etc/NetworkManager/NetworkManager.conf"),
          join(root, "etc/NetworkManager/system-connections/uplink.nmconnection"),
        ],
        interfaces: ["eth0"],
        renderer: "",
        notes: [
          "veth9 is listed in unmanaged-devices",
          "no profile names eth1: NetworkManager still manages a device it is not told to leave alone (it may create an automatic connection)",
        ],
      },
    ]);
    const persona: Persona = { mtuScope: "link", mtu: 1400, congestionControl: "bbr" };
    assert.deepEqual(revertWarnings(found, ["eth0"], persona), [
      "warning: NetworkManager runs and manages eth0: on a reapply, a link change or a DHCP renewal it sets its own configuration there again and may revert this persona's congestionControl (a per-route congctl), mtu (the link's). Give it the same settings (netpersona export --format nmstate) or leave eth0 to netpersona",
    ]);
    assert.deepEqual(revertWarnings(found, ["eth1"], persona), [], "no profile names eth1");
    assert.deepEqual(
      revertWarnings(found, ["eth0"], { mtuScope: "route", qos: { class: "telephony" } }),
      [],
      "QoS is the agent's own nft table",
    );
    const stopped = found.map((m) => ({ ...m, running: false }));
    assert.deepEqual(
      revertWarnings(stopped, ["eth0"], persona),
      [],
      "a manager that does not run reverts nothing now",
    );
  });

  it("systemd-networkd: [Match] Name= globs from /etc and /lib; netplan with the NetworkManager renderer", async () => {
    await tree(root, {
      "etc/systemd/network/10-uplink.network": "[Match]\nName=en* eth0\n\n[Network]\nDHCP=yes\n",
      "lib/systemd/network/80-container-host0.network": "[Match]\nName=host0\n",
      "etc/netplan/50-cloud-init.yaml":
        'network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    uplink:\n      match: {name: "ens*"}\n      set-name: ens3\n      mtu: 9000\n    eth1: {dhcp4: true}\n',
    });
    const found = await detectManagers({
      root,
      interfaces: ["ens3", "eth0", "eth1"],
      processes: async () => ["systemd-network"],
    });
    assert.deepEqual(
      found.map((m) => [m.name, m.running, m.interfaces, m.renderer]),
      [
        ["systemd-networkd", true, ["ens3", "eth0"], ""],
        ["netplan", false, ["ens3", "eth1"], "NetworkManager"],
      ],
    );
    assert.deepEqual(found[1].notes, [
      "netplan renders to NetworkManager (not running); `netplan apply` re-applies its files",
    ]);
    assert.deepEqual(
      revertWarnings(found, ["eth0"], {
        mtuScope: "route",
        dns: { servers: ["10.0.0.53"], search: [], options: [] },
      }),
      [
        "warning: systemd-networkd runs and manages eth0: on a reapply, a link change or a DHCP renewal it sets its own configuration there again and may revert this persona's dns. Give it the same settings (netpersona export --format networkd) or leave eth0 to netpersona",
      ],
    );
  });

  it("an unreadable netplan file is a note, not a failure", async () => {
    await tree(root, { "etc/netplan/01-bad.yaml": "network: [\n" });
    const [n] = await detectManagers({ root, interfaces: ["eth0"], processes: async () => [] });
    assert.equal(n.name, "netplan");
    assert.match(n.notes[0], /^.*01-bad\.yaml is not valid YAML/);
  });

  it("GetInfo lists them; PlanPersona warns for the persona's interfaces (in-process agent, fake host)", async () => {
    await tree(root, NM_FILES);
    const defaults = await defaultRouteDevices();
    const ifs = [...new Set(["eth0", ...defaults])];
    const live: Persona = { mtuScope: "route", mtu: 1500 };
    const host: HostController = {
      snapshot: async () => ({}),
      readCurrent: async () => live,
      plan: async (p) =>
        p.mtu === live.mtu ? [] : [{ field: "mtu", description: `mtu ${p.mtu}`, command: ["ip"] }],
      apply: async () => ({ changed: false, steps: [], live }),
      restore: async () => undefined,
    };
    const ca = await createCa({ commonName: "nms unit" });
    const agentCert = await issueAgentCert(ca, { commonName: "a", ips: ["127.0.0.1"] });
    const store = await StateStore.open(join(root, "state"));
    const server = await createAgentServer({
      host,
      store,
      version: "t",
      log: () => undefined,
      managers: (o) =>
        detectManagers({ ...o, interfaces: ifs, root, processes: async () => ["NetworkManager"] }),
    });
    const port = await server.listen("127.0.0.1:0", serverCredentials({ caPem: ca.certPem, ...agentCert }));
    const conn = connectAgent({
      endpoint: `127.0.0.1:${port}`,
      caPem: ca.certPem,
      ...(await issueClientCert(ca, { commonName: "c" })),
    });
    try {
      const info = await conn.getInfo();
      assert.deepEqual(
        info.network_managers.map((m) => [m.name, m.running, m.interfaces]),
        [["NetworkManager", true, ["eth0"]]],
      );
      // The machine's own default route decides GetInfo's warning: eth0 named by the profile, or not.
      assert.equal(info.network_manager_warnings.length, defaults.includes("eth0") ? 1 : 0);
      const p = await conn.planPersonaWithWarnings({
        mtu: 1400,
        routes: { preferred_device: "eth0" },
      } as never);
      assert.deepEqual(
        p.steps.map((s) => s.field),
        ["mtu"],
      );
      assert.deepEqual(p.warnings, [
        "warning: NetworkManager runs and manages eth0: on a reapply, a link change or a DHCP renewal it sets its own configuration there again and may revert this persona's routes, mtu (a per-route mtu lock). Give it the same settings (netpersona export --format nmstate) or leave eth0 to netpersona",
      ]);
      const none = await conn.planPersonaWithWarnings({
        mtu: 1500,
        routes: { preferred_device: "eth0" },
      } as never);
      assert.deepEqual([none.steps, none.warnings], [[], []], "nothing to change: nothing to revert");
    } finally {
      conn.close();
      await server.close(100);
    }
  });
});
