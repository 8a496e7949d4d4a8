// The hardened service (issue 13, item 8). The systemd unit's sandbox, as text: systemd itself does not run
// on this machine (no /run/systemd/system), so the unit cannot be started here. The supervisor's log,
// bounded by rotation, with a real supervisor on a lab host (root, lab "x13v") started over SSH as the
// install starts it. The gRPC server's transport limits, in process (port 0, mTLS): an oversized request is
// RESOURCE_EXHAUSTED before any handler runs.
import { strict as assert } from "node:assert";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import * as grpc from "@grpc/grpc-js";

import { connectAgent, type AgentConnection } from "../../provider/agent/rpc/client";
import { serverCredentials } from "../../provider/agent/rpc/tls";
import type { AgentError } from "../../provider/agent/rpc/errors";
import type { HostController } from "../../provider/agent/host/api";
import { SERVER_LIMITS, serverOptions } from "../../provider/agent/rpc/limits";
import { createAgentServer, type AgentServer } from "../../provider/agent/server";
import { StateStore } from "../../provider/agent/state";
import { unitFile, type InstallSpec } from "../../provider/bootstrap/install";
import { createCa, issueAgentCert, issueClientCert } from "../../provider/pki";
import { connectionSchema, SshSession } from "../../provider/ssh/connection";
import { REPO } from "../e2e";
import { createLab, destroyLab, type LabInventory } from "../lab-fixture";

const spec: InstallSpec = {
  installDir: "/opt/netpersona",
  stateDir: "/var/lib/netpersona",
  nodePath: "/usr/bin/node",
  listen: "10.0.1.10:7443",
  serviceManager: "systemd",
  unitName: "netpersona-agent",
};

describe("security: the hardened service", function () {
  describe("systemd unit (text only: systemd does not run on this machine)", () => {
    it("bounds capabilities to the network, forbids new privileges, and makes the system read-only", () => {
      assert.equal(
        existsSync("/run/systemd/system"),
        false,
        "systemd runs here now: start the unit in a test",
      );
      const service = unitFile(spec).split("[Service]\n")[1].split("\n\n")[0].split("\n");
      assert.deepEqual(service, [
        "ExecStart=/usr/bin/node --max-semi-space-size=1 --lite-mode /opt/netpersona/netpersona-agent.js --listen 10.0.1.10:7443 --state-dir /var/lib/netpersona --ca /opt/netpersona/ca.pem --cert /opt/netpersona/agent.pem --key /opt/netpersona/agent-key.pem",
        "Environment=MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=32768",
        "Restart=always",
        "KillMode=process",
        "RestartSec=1",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/netpersona -/etc/resolv.conf",
        "PrivateTmp=yes",
        "ProtectHome=read-only",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
      ]);
      const lab = unitFile({ ...spec, resolvConfPath: "/etc/netns/h1/resolv.conf" });
      assert.match(lab, /^ReadWritePaths=\/var\/lib\/netpersona -\/etc\/netns\/h1\/resolv\.conf$/m);
      // Never the install directory: the agent's code and key stay read-only to the agent itself.
      assert.doesNotMatch(unitFile(spec), /ReadWritePaths=.*\/opt\/netpersona/);
    });
  });

  describe("supervisor log rotation (lab x13v, started over SSH)", () => {
    const LAB = "x13v";
    let inv: LabInventory;
    let ssh: SshSession;

    before(async () => {
      inv = await createLab({ name: LAB, hosts: 1 });
      const h = inv.hosts[0];
      ssh = await SshSession.open(
        connectionSchema.parse({
          host: h.address,
          privateKey: readFileSync(h.privateKeyPath, "utf8"),
          hostKey: h.hostPublicKey,
        }),
      );
    });

    after(async () => {
      ssh?.dispose();
      await destroyLab(LAB);
    });

    it("keeps the log under about twice the limit while the agent writes without pause", async () => {
      const dir = join(inv.stateDir, "sup");
      const log = join(dir, "agent.log");
      const pidFile = join(dir, "supervisor.pid");
      await ssh.run(["mkdir", "-p", dir]);
      // A stand-in agent that writes ~1 MB/s.
      const chatty = "setInterval(() => console.log('x'.repeat(1000)), 1)";
      await ssh.run([
        process.execPath,
        join(REPO, "dist", "agent", "netpersona-supervisor.js"),
        "--pid-file",
        pidFile,
        "--log-file",
        log,
        "--log-max-bytes",
        "65536",
        "--log-check-ms",
        "100",
        "--",
        process.execPath,
        "-e",
        chatty,
      ]);
      try {
        const sizes: number[] = [];
        for (let i = 0; i < 20; i++) {
          await sleep(100);
          if (existsSync(log)) sizes.push(statSync(log).size);
        }
        assert.ok(existsSync(`${log}.1`), "no rotated log");
        // The check runs every 100 ms: the log passes the limit by at most what ~100-200 ms of output adds.
        assert.ok(Math.max(...sizes) < 65536 + 400_000, `log sizes: ${sizes.join(" ")}`);
        assert.ok(statSync(`${log}.1`).size > 65536);
        // The rotation note opens a log: the current one, or (after a further rotation) the previous one.
        assert.match(
          `${readFileSync(log, "utf8")}\n${readFileSync(`${log}.1`, "utf8")}`,
          /^supervisor: log rotated at \d+ bytes \(limit 65536\); previous in \S+\/agent\.log\.1$/m,
        );
      } finally {
        const pid = readFileSync(pidFile, "utf8").trim();
        await ssh.run(["kill", "-TERM", pid], { check: false });
      }
    });
  });

  describe("gRPC server limits (in process, mTLS)", () => {
    let dir: string;
    let server: AgentServer;
    let conn: AgentConnection;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "x13-grpc-"));
      const ca = await createCa({ commonName: "x13 unit" });
      const agentCert = await issueAgentCert(ca, { commonName: "a", ips: ["127.0.0.1"] });
      const client = await issueClientCert(ca, { commonName: "c" });
      server = await createAgentServer({
        host: {} as HostController, // no RPC here reaches the host
        store: await StateStore.open(join(dir, "state")),
        version: "t",
        log: () => undefined,
        safeApply: { env: { startWatchdog: () => 0, runProbes: async () => [] } },
      } as Parameters<typeof createAgentServer>[0]);
      const port = await server.listen("127.0.0.1:0", serverCredentials({ caPem: ca.certPem, ...agentCert }));
      conn = connectAgent({ endpoint: `127.0.0.1:${port}`, caPem: ca.certPem, ...client });
    });

    after(async () => {
      conn?.close();
      await server?.close(100);
      await rm(dir, { recursive: true, force: true });
    });

    it("sets every transport limit on the server", () => {
      assert.deepEqual(serverOptions(), {
        "grpc.max_concurrent_streams": 32,
        "grpc.max_receive_message_length": 1048576,
        "grpc.max_send_message_length": 8388608,
        "grpc.keepalive_time_ms": 60000,
        "grpc.keepalive_timeout_ms": 20000,
        "grpc.max_connection_idle_ms": 600000,
        "grpc-node.max_session_memory": 10,
      });
    });

    it("refuses a request over the receive limit with RESOURCE_EXHAUSTED before any handler", async () => {
      const req = (bytes: number) => ({
        session_id: "x13",
        peer_address: "not an address",
        source_agent: "10.0.0.1:7443",
        policy: { policy_json: "x".repeat(bytes) },
      });
      await assert.rejects(conn.startSession(req(SERVER_LIMITS.maxReceiveBytes + 1)), (e: AgentError) => {
        assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
        assert.match(e.message, /^Received message larger than max \(\d+ vs 1048576\)$/);
        return true;
      });
      // Just under the limit: the handler runs and refuses the request for what it says.
      await assert.rejects(conn.startSession(req(SERVER_LIMITS.maxReceiveBytes - 4096)), (e: AgentError) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        return true;
      });
    });
  });
});
