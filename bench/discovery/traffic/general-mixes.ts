// The general mixes (general.ts): every class from at least three different tools, all concurrent on h1,
// on non-standard ports, with one dominant transfer (iperf3) and clients that open a connection per request.
// GENERAL_DEV is the only one the rules and the calibration were tuned on. GENERAL_FROZEN was written and
// committed before any tuning on it, differs in every knob (ports, rates, sizes, periods, seeds, which host
// serves, flows into h1 as well as out), and is scored once: its single scoring is recorded in
// docs/discovery.md. GENERAL_SHORT is what the lab test runs (a subset, short window).
import type { GeneralMix } from "./general";

export const GENERAL_DEV: GeneralMix = {
  name: "general-dev",
  seed: 31,
  generators: [
    { tool: "pgbench", server: "h2", client: "h1", port: 15432, rate: 25, clients: 2 },
    { tool: "pgbench-connect", server: "h2", client: "h1", port: 15433, rate: 8 },
    { tool: "redis-cli", server: "h3", client: "h1", port: 16379, rate: 15 },
    { tool: "redis-benchmark-k0", server: "h2", client: "h1", port: 16380, rate: 60, gap: [2, 4] },
    { tool: "mariadb-cli", server: "h3", client: "h1", port: 13306, rate: 12 },
    { tool: "mysqlslap", server: "h3", client: "h1", port: 13307, rate: 30, gap: [2, 5] },
    { tool: "node-http-keepalive", server: "h2", client: "h1", port: 18080, gap: [1, 5] },
    { tool: "curl-per-object", server: "h2", client: "h1", port: 18081, gap: [1, 4] },
    { tool: "node-http2", server: "h3", client: "h1", port: 18082, gap: [1, 5] },
    { tool: "node-http-keepalive", server: "h1", client: "h3", port: 18083, gap: [2, 6] },
    { tool: "iperf3", server: "h2", client: "h1", port: 15201, rate: 120 },
    { tool: "scp", server: "h2", client: "h1", port: 22, rate: 15 },
    { tool: "rsync-ssh", server: "h3", client: "h1", port: 22, rate: 10 },
    { tool: "curl-download", server: "h2", client: "h1", port: 18084, rate: 8 },
    { tool: "ssh-typing", server: "h2", client: "h1", port: 22, rate: 6 },
    { tool: "ssh-line-mode", server: "h3", client: "h1", port: 22, rate: 7 },
    { tool: "socat-shell", server: "h2", client: "h1", port: 12323, rate: 5 },
    { tool: "node-http-segments", server: "h3", client: "h1", port: 19090, size: 1000, period: 2 },
    { tool: "curl-segments", server: "h2", client: "h1", port: 18085, size: 800, period: 2.5 },
    { tool: "udp-stream", server: "h2", client: "h1", port: 19500, rate: 2500 },
  ],
};

/** FROZEN: committed before any tuning on it; do not edit (write a new mix instead). */
export const GENERAL_FROZEN: GeneralMix = {
  name: "general-frozen",
  seed: 977,
  generators: [
    { tool: "pgbench", server: "h3", client: "h1", port: 25810, rate: 40, clients: 3 },
    { tool: "pgbench-connect", server: "h2", client: "h1", port: 25811, rate: 5 },
    { tool: "redis-cli", server: "h1", client: "h3", port: 26400, rate: 30 },
    {
      tool: "redis-benchmark-k0",
      server: "h3",
      client: "h1",
      port: 26401,
      rate: 120,
      gap: [1, 3],
      clients: 3,
    },
    { tool: "mariadb-cli", server: "h2", client: "h1", port: 23406, rate: 25 },
    { tool: "mysqlslap", server: "h1", client: "h3", port: 23407, rate: 60, gap: [1, 4], clients: 3 },
    { tool: "node-http-keepalive", server: "h3", client: "h1", port: 28090, gap: [0.5, 3], size: 900 },
    { tool: "curl-per-object", server: "h3", client: "h1", port: 28091, gap: [2, 6], clients: 10 },
    { tool: "node-http2", server: "h2", client: "h1", port: 28092, gap: [1, 4], size: 800 },
    { tool: "curl-per-object", server: "h1", client: "h2", port: 28093, gap: [1, 3], clients: 4 },
    { tool: "iperf3", server: "h3", client: "h1", port: 25301, rate: 180 },
    { tool: "scp", server: "h3", client: "h1", port: 22, rate: 25 },
    { tool: "rsync-ssh", server: "h2", client: "h1", port: 22, rate: 6 },
    { tool: "curl-download", server: "h3", client: "h1", port: 28094, rate: 30 },
    { tool: "ssh-typing", server: "h3", client: "h1", port: 22, rate: 9 },
    { tool: "ssh-line-mode", server: "h2", client: "h1", port: 22, rate: 4 },
    { tool: "ssh-typing", server: "h1", client: "h3", port: 22, rate: 4 },
    { tool: "socat-shell", server: "h3", client: "h1", port: 22323, rate: 8 },
    { tool: "node-http-segments", server: "h2", client: "h1", port: 29090, size: 2048, period: 4 },
    { tool: "curl-segments", server: "h3", client: "h1", port: 28095, size: 512, period: 1.5 },
    { tool: "udp-stream", server: "h3", client: "h1", port: 29500, rate: 4000 },
  ],
};

/** The lab test's mix: one or two tools per class, everything at once, a dominant transfer, short window. */
export const GENERAL_SHORT: GeneralMix = {
  name: "general-short",
  seed: 5,
  generators: [
    { tool: "pgbench", server: "h2", client: "h1", port: 35432, rate: 20, clients: 2 },
    { tool: "redis-benchmark-k0", server: "h2", client: "h1", port: 36379, rate: 60, gap: [1, 3] },
    { tool: "curl-per-object", server: "h2", client: "h1", port: 38081, gap: [1, 3] },
    { tool: "node-http2", server: "h3", client: "h1", port: 38082, gap: [1, 3] },
    { tool: "iperf3", server: "h2", client: "h1", port: 35201, rate: 100 },
    { tool: "scp", server: "h2", client: "h1", port: 22, rate: 10 },
    { tool: "ssh-typing", server: "h2", client: "h1", port: 22, rate: 6 },
    { tool: "socat-shell", server: "h3", client: "h1", port: 32323, rate: 6 },
    { tool: "curl-segments", server: "h3", client: "h1", port: 38085, size: 800, period: 2 },
    { tool: "udp-stream", server: "h3", client: "h1", port: 39500, rate: 2000 },
  ],
};
