// The agents' metrics endpoint scraped by a real Prometheus (Debian's `prometheus`, lab "nmsp"): two agents in
// the lab hosts serve https://ADDR:9447/metrics (--metrics-listen); Prometheus scrapes both with a
// certificate of the monitoring role issued by `netpersona monitoring-cert`, and h2 once more with h1's agent
// certificate (refused: 403). A migration session on h2 is followed through Prometheus' HTTP API until
// `netpersona_session_weight` reaches 1, rising; undoing it fires the example rollback alert
// (examples/monitoring/alerts.yml, also checked and unit-tested by promtool); every query of the example
// Grafana dashboard is valid PromQL and the main ones return the agents' series.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import { run } from "../../provider/util/exec";
import * as fx from "../fixtures/session-agents";
import { follow, lastOf, startRequest, story } from "../session-helpers";

const LAB = "nmsp";
const ROOT = join(__dirname, "..", "..", "..");
const EXAMPLES = join(ROOT, "examples", "monitoring");
const METRICS_PORT = 9447;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET over HTTPS with the given client certificate (or none); resolves to status and body. */
function scrape(
  url: string,
  caPem: string,
  client?: { certPem: string; keyPem: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: caPem, ...(client && { cert: client.certPem, key: client.keyPem }), timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

describe("Prometheus scrapes two agents during a migration (lab nmsp, real Prometheus)", function () {
  this.timeout(300_000);
  let lab: fx.SessionLab | undefined;
  let src: fx.RunningAgent | undefined;
  let dst: fx.RunningAgent | undefined;
  let conn: AgentConnection;
  let prom: ChildProcess | undefined;
  let promUrl = "";
  let promLog = "";
  let monitoring: { certPem: string; keyPem: string };
  let certDir = "";
  const metricsUrl = (h: { address: string }) => `https://${h.address}:${METRICS_PORT}/metrics`;

  async function api(path: string, params: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(`${promUrl}${path}?${new URLSearchParams(params)}`);
    const doc = (await res.json()) as { status: string; data: unknown; error?: string };
    assert.equal(doc.status, "success", `${path} ${JSON.stringify(params)}: ${doc.error}`);
    return doc.data;
  }
  const query = async (q: string) =>
    ((await api("/api/v1/query", { query: q })) as { result: PromSeries[] }).result;
  async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > end)
        throw new Error(`${what}: not within ${ms / 1000} s\nprometheus:\n${promLog.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    await writeFile(join(lab.dir, "ca-key.pem"), lab.ca.keyPem, { mode: 0o600 });
    certDir = join(lab.dir, "monitoring");
    // The CLI a user runs to give Prometheus its certificate.
    const cli = await run([
      process.execPath,
      join(ROOT, "bin", "netpersona"),
      "monitoring-cert",
      "--ca-cert",
      join(lab.dir, "ca.pem"),
      "--ca-key",
      join(lab.dir, "ca-key.pem"),
      "--out",
      certDir,
      "--name",
      "lab prometheus",
      "--target",
      `${lab.source.address}:${METRICS_PORT}`,
    ]);
    assert.match(cli.stdout, /role monitoring, 30 days/);
    assert.match(cli.stdout, new RegExp(`targets: \\["${lab.source.address}:${METRICS_PORT}"\\]`));
    monitoring = {
      certPem: await readFile(join(certDir, "monitoring.pem"), "utf8"),
      keyPem: await readFile(join(certDir, "monitoring-key.pem"), "utf8"),
    };
    const extra = (h: { address: string }) => ["--metrics-listen", `${h.address}:${METRICS_PORT}`];
    src = await fx.startLabAgent(lab, lab.source, 0, extra(lab.source));
    dst = await fx.startLabAgent(lab, lab.destination, 0, extra(lab.destination));
    conn = fx.connect(lab, dst);

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const tls = (cert: string, key: string) =>
      `    scheme: https\n    tls_config:\n      ca_file: ${join(certDir, "ca.pem")}\n      cert_file: ${cert}\n      key_file: ${key}\n`;
    const config = [
      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s",
      `rule_files:\n  - ${join(EXAMPLES, "alerts.yml")}`,
      "scrape_configs:",
      "  - job_name: netpersona",
      tls(join(certDir, "monitoring.pem"), join(certDir, "monitoring-key.pem")) +
        `    static_configs:\n      - targets: ["${lab.source.address}:${METRICS_PORT}", "${lab.destination.address}:${METRICS_PORT}"]`,
      "  - job_name: agent-certificate",
      tls(join(lab.dir, "h1.pem"), join(lab.dir, "h1.key")) +
        `    static_configs:\n      - targets: ["${lab.destination.address}:${METRICS_PORT}"]`,
      "",
    ].join("\n");
    const promDir = join(lab.dir, "prometheus");
    await mkdir(promDir, { recursive: true });
    await writeFile(join(promDir, "prometheus.yml"), config);
    await run(["promtool", "check", "config", join(promDir, "prometheus.yml")]);
    prom = spawn(
      "prometheus",
      [
        `--config.file=${join(promDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(promDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prom.stdout?.on("data", (b: Buffer) => (promLog += b.toString()));
    prom.stderr?.on("data", (b: Buffer) => (promLog += b.toString()));
    await until("prometheus ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
  });

  after(async () => {
    conn?.close();
    if (prom && prom.exitCode === null) {
      await new Promise<void>((resolve) => {
        prom!.once("exit", () => resolve());
        prom!.kill("SIGTERM");
      });
    }
    await fx.killAgent(dst, "SIGTERM");
    await fx.killAgent(src, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  it("netpersona monitoring-cert issues a certificate naming exactly the monitoring role, key mode 0600", async () => {
    const cert = new X509Certificate(monitoring.certPem);
    assert.equal(cert.subjectAltName, "URI:urn:netpersona:role:monitoring");
    assert.ok(cert.checkIssued(new X509Certificate(lab!.ca.certPem)));
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, String(days));
    const { stdout } = await run(["stat", "-c", "%a", join(certDir, "monitoring-key.pem")]);
    assert.equal(stdout.trim(), "600");
  });

  it("scrapes both agents with the monitoring certificate; h1's agent certificate gets 403", async () => {
    type Target = { labels: { job: string; instance: string }; health: string; lastError: string };
    const targets = await until("all three targets scraped", async () => {
      const t = ((await api("/api/v1/targets")) as { activeTargets: Target[] }).activeTargets;
      return t.length === 3 && t.every((x) => x.health !== "unknown") ? t : undefined;
    });
    const health = Object.fromEntries(targets.map((t) => [`${t.labels.job} ${t.labels.instance}`, t]));
    const m = (h: { address: string }) => health[`netpersona ${h.address}:${METRICS_PORT}`];
    assert.equal(m(lab!.source).health, "up", m(lab!.source).lastError);
    assert.equal(m(lab!.destination).health, "up", m(lab!.destination).lastError);
    const refused = health[`agent-certificate ${lab!.destination.address}:${METRICS_PORT}`];
    assert.equal(refused.health, "down");
    assert.match(refused.lastError, /server returned HTTP status 403 Forbidden/);
    const up = await query('up{job="agent-certificate"}');
    assert.deepEqual(
      up.map((s) => s.value?.[1]),
      ["0"],
    );
    const info = await query("netpersona_agent_info");
    assert.deepEqual(
      info.map((s) => s.metric.instance).sort(),
      [lab!.source, lab!.destination].map((h) => `${h.address}:${METRICS_PORT}`).sort(),
    );
  });

  it("refuses the metrics endpoint to an agent certificate (403, the reason), without a certificate (handshake)", async () => {
    const ca = lab!.ca.certPem;
    const agentCert = {
      certPem: await readFile(join(lab!.dir, "h1.pem"), "utf8"),
      keyPem: await readFile(join(lab!.dir, "h1.key"), "utf8"),
    };
    const byAgent = await scrape(metricsUrl(lab!.destination), ca, agentCert);
    assert.deepEqual(byAgent, {
      status: 403,
      body: "role 'agent' may not read /metrics: only monitoring and the provider may scrape an agent's metrics\n",
    });
    await assert.rejects(scrape(metricsUrl(lab!.destination), ca), (e: NodeJS.ErrnoException) =>
      /certificate required|ECONNRESET|socket hang up/i.test(`${e.code} ${e.message}`),
    );
    const byProvider = await scrape(metricsUrl(lab!.destination), ca, lab!.client);
    assert.equal(byProvider.status, 200);
    assert.match(byProvider.body, /^# HELP netpersona_session_weight /m);
    const wrongPath = await scrape(metricsUrl(lab!.destination).replace("/metrics", "/x"), ca, monitoring);
    assert.equal(wrongPath.status, 404);
    assert.match(dst!.output(), /metrics: \S+ refused: role 'agent' may not read \/metrics/);
  });

  it("a migration session on h2: PromQL sees netpersona_session_weight rise to 1", async () => {
    const persona = { congestion_control: "bbr", mtu: 1440, qos: { class: "standard" } };
    const policy = {
      probeIntervalMs: 250,
      detectionWindowMs: 2000,
      dwell: { enterIntervals: 2, exitIntervals: 3, minChangeGapMs: 0 },
      schedule: { steps: [0.25, 0.5, 0.75, 1], stepDwellMs: 3000 },
      convergence: { quietIntervals: 2 },
    };
    const req = startRequest(lab!, src!.endpoint, "prom", persona, {
      interval_ms: 250,
      policy_json: JSON.stringify(policy),
    });
    await fx.grantFeedback(lab!, src!, dst!, req);
    const startedAt = Date.now() / 1000;
    await conn.startSession(req);
    const events = await follow(conn, "prom");
    assert.equal(lastOf(events).state, "SESSION_STATE_CONVERGED", story(events));
    const dstInstance = `${lab!.destination.address}:${METRICS_PORT}`;
    const at1 = await until("weight 1 in Prometheus", async () => {
      const r = await query('netpersona_session_weight{session="prom"} == 1');
      return r.length === 1 ? r : undefined;
    });
    assert.deepEqual(at1[0].metric, {
      __name__: "netpersona_session_weight",
      instance: dstInstance,
      job: "netpersona",
      peer: lab!.source.address,
      session: "prom",
    });
    const values = await until("the range ending at 1", async () => {
      const range = (await api("/api/v1/query_range", {
        query: 'netpersona_session_weight{session="prom"}',
        start: String(startedAt - 2),
        end: String(Date.now() / 1000),
        step: "1s",
      })) as { result: PromSeries[] };
      const v = range.result[0].values!.map(([, x]) => Number(x));
      return v.at(-1) === 1 ? v : undefined;
    });
    const rising = values.every((v, i) => i === 0 || v >= values[i - 1]);
    assert.ok(rising, `weight must not fall: ${values.join(" ")}`);
    assert.ok(values[0] < 1 && values.at(-1) === 1, values.join(" "));
    const steps = [...new Set(values)];
    assert.ok(
      steps.filter((v) => v > 0 && v < 1).length >= 2,
      `intermediate weights seen: ${steps.join(" ")}`,
    );
    // State, decisions and the measurements the session was decided on, all through PromQL.
    // Weight 1 comes with the last advance; the state turns converged a few quiet intervals later.
    const state = await until("state converged in Prometheus", async () => {
      const r = await query('netpersona_session_state{session="prom"} == 1');
      return r.length === 1 && r[0].metric.state === "converged" ? r : undefined;
    });
    assert.equal(state[0].metric.instance, dstInstance);
    const advances = await query(
      'netpersona_session_decisions_total{kind="advance",instance="' + dstInstance + '"}',
    );
    assert.equal(Number(advances[0].value?.[1]), events.filter((e) => e.kind === "advance").length);
    const rtt = await query(
      `netpersona_peer_rtt_seconds{instance="${dstInstance}",source="session",quantile="0.5"}`,
    );
    assert.equal(rtt[0].metric.peer, lab!.source.address);
    assert.ok(Number(rtt[0].value?.[1]) > 0 && Number(rtt[0].value?.[1]) < 1, JSON.stringify(rtt));
    // The source measured the destination for its feedback stream (StreamMetrics).
    const fed = await query(
      `netpersona_peer_loss_ratio{instance="${lab!.source.address}:${METRICS_PORT}",source="stream"}`,
    );
    assert.deepEqual(
      fed.map((s) => [s.metric.peer, s.value?.[1]]),
      [[lab!.destination.address, "0"]],
    );
    const tx = await query(
      `rate(netpersona_interface_transmit_bytes_total{instance="${dstInstance}"}[10s]) > 0`,
    );
    assert.ok(tx.length >= 1, "the destination's interfaces sent bytes");
  });

  it("undoing the converged session fires the example alert NetpersonaSessionRolledBack", async () => {
    const undone = await conn.abortSession({
      session_id: "prom",
      reason: "monitoring test: undo",
      rollback: true,
    });
    assert.equal(undone.state, "SESSION_STATE_ROLLED_BACK");
    type Alert = { labels: Record<string, string>; state: string };
    const alert = await until("the rollback alert firing", async () => {
      const a = ((await api("/api/v1/alerts")) as { alerts: Alert[] }).alerts.find(
        (x) => x.labels.alertname === "NetpersonaSessionRolledBack" && x.state === "firing",
      );
      return a;
    });
    assert.deepEqual(
      [alert.labels.session, alert.labels.instance, alert.labels.severity],
      ["prom", `${lab!.destination.address}:${METRICS_PORT}`, "warning"],
    );
    const finished = await until("the finished counter", async () => {
      const r = await query('netpersona_sessions_finished_total{outcome="rolled_back"} > 0');
      return r.length === 1 ? r : undefined;
    });
    assert.equal(finished[0].value?.[1], "1");
  });

  it("every query of the example Grafana dashboard is valid PromQL; the main ones return series", async () => {
    const dash = JSON.parse(await readFile(join(EXAMPLES, "grafana-dashboard.json"), "utf8")) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 9);
    const empty: string[] = [];
    for (const { title, expr } of exprs) {
      const r = await query(expr.replace(/\$instance/g, ".*"));
      if (r.length === 0) empty.push(title);
    }
    // Jitter on a quiet veth is 0 (still a series); every panel has data after a migration.
    assert.deepEqual(empty, []);
  });

  it("promtool: the example alert rules are valid and their unit tests pass", async () => {
    const check = await run(["promtool", "check", "rules", join(EXAMPLES, "alerts.yml")]);
    assert.match(check.stdout, /SUCCESS: 3 rules found/);
    const t = await run(["promtool", "test", "rules", "alerts.test.yml"], { cwd: EXAMPLES });
    assert.match(t.stdout, /SUCCESS/);
  });
});
