// Fuzzing the live agent (root; lab "secf"): the agent bundle runs in h2's namespace and every RPC of its
// service — found in the descriptor set, so new ones are fuzzed too — is called with random valid-shaped,
// hostile, hand-encoded, truncated, random and over-size request bytes (test/proto-fuzz.ts), as the provider
// (mostly), as another host's agent, as monitoring, and with no certificate. Every call must end OK or with a
// typed refusal that says why; never UNKNOWN or INTERNAL. The agent must stay up, its memory and its state
// directory bounded. Reproduce a failure with the seed and path fast-check prints:
// NETPERSONA_FUZZ_SEED=<seed> npx mocha dist/test/lab/test-security-fuzz.js
import { strict as assert } from "node:assert";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";

import type { AgentConnection } from "../../provider/agent/rpc/client";
import type { AgentError } from "../../provider/agent/rpc/errors";
import { SERVER_LIMITS } from "../../provider/agent/rpc/limits";
import { dirBytes } from "../../provider/agent/runtime";
import { issueMonitoringCert, type CertifiedKey } from "../../provider/pki";
import * as fx from "../fixtures/session-agents";
import { SERVICE, fuzzRequest, rawCall, requestBytes, type FuzzRequest, type Outcome } from "../proto-fuzz";

const LAB = "secf";
const SEED = Number(process.env.NETPERSONA_FUZZ_SEED ?? 1313);
/** Cases per RPC; RPCs not listed (new ones included) get DEFAULT_RUNS. Slow RPCs (a real apply, a sampling
 *  window, probes) get fewer, cheap ones more: ≥ 2000 in all, a few minutes on a shared 2-core machine. */
const DEFAULT_RUNS = 400;
const RUNS: Record<string, number> = { ApplyPersona: 300, Discover: 200, RestoreSnapshot: 150 };
/** Per-call deadline: Discover's valid windows would run for seconds, everything else answers quickly. */
const DEADLINE_MS: Record<string, number> = { Discover: 400, ApplyPersona: 4000, RestoreSnapshot: 4000 };
/** Statuses a refusal may carry, besides DEADLINE_EXCEEDED (every call has a deadline) and CANCELLED (when
 *  the test cut a stream). Never UNKNOWN or INTERNAL: those mean a handler threw something untyped. */
const ALLOWED = new Set<grpc.status>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.PERMISSION_DENIED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ALREADY_EXISTS,
  grpc.status.OUT_OF_RANGE,
  grpc.status.DEADLINE_EXCEEDED,
]);
const MIB = 1024 * 1024;

type CallerName = "provider" | "agent" | "monitoring" | "none";
const CALLERS = fc.oneof(
  { weight: 14, arbitrary: fc.constant<CallerName>("provider") },
  { weight: 2, arbitrary: fc.constant<CallerName>("agent") },
  { weight: 2, arbitrary: fc.constant<CallerName>("monitoring") },
  { weight: 1, arbitrary: fc.constant<CallerName>("none") },
);

/** Cases the fuzzer found, kept as fixed examples of their RPC (each was a defect, fixed in the agent). */
const FOUND: Record<string, [CallerName, FuzzRequest[]][]> = {
  // Bytes that do not decode were INTERNAL "Error deserializing request" (grpc-js): now INVALID_ARGUMENT.
  GetInfo: [["provider", [fuzzRequest("wire", Buffer.from("effdccb005c328eda080ffd987da1c6a", "hex"))]]],
  // A 1 s window with the default 200 ms interval was INTERNAL "discover: sample interval 200 ms is too long".
  Discover: [["provider", [fuzzRequest("wire", Buffer.from([16, 0, 8, 1]))]]],
  // Session ids named after Object.prototype members found them: INTERNAL "Cannot read properties of undefined".
  AbortSession: [["provider", [fuzzRequest("truncated", Buffer.from("0a08746f537472696e67120141", "hex"))]]],
  GetSession: [["provider", [fuzzRequest("shaped", Buffer.from("0a095f5f70726f746f5f5f", "hex"))]]],
  // A peer without a name was INTERNAL "peers.0.name: use 1-64 of letters, digits, _.:@-" (from the prober).
  StreamMetrics: [
    ["provider", [fuzzRequest("shaped", Buffer.from("0a0b12093139322e302e322e3710fc89fbda081809", "hex"))]],
  ],
  // A refusal quoting an 800 KB id did not fit the client's header limit: DEADLINE_EXCEEDED, no message.
  RollbackApply: [
    [
      "provider",
      [
        fuzzRequest(
          "shaped",
          SERVICE.RollbackApply.requestSerialize({ apply_id: "\u00e9x".repeat(400_000) }),
        ),
      ],
    ],
  ],
};
const examples = (rpc: string): [CallerName, FuzzRequest[]][] => FOUND[rpc] ?? [];

async function vmRssBytes(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, `VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
}

/** Why the outcome breaks the rules, or undefined. `oversize`: a request was over the agent's message limit. */
export function badOutcome(caller: CallerName, o: Outcome, oversize: boolean): string | undefined {
  const name = grpc.status[o.code] ?? String(o.code);
  // Without a certificate the TLS handshake is refused: no call reaches the agent.
  // (DEADLINE_EXCEEDED: the handshake did not end before the call's deadline, on a busy machine.)
  if (caller === "none")
    return [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(o.code)
      ? undefined
      : `${name} without a certificate`;
  if (o.code === grpc.status.OK) return undefined;
  if (o.code === grpc.status.CANCELLED && o.cancelled) return undefined;
  // An over-size request may meet the connection's HTTP/2 memory bound (SERVER_LIMITS.maxSessionMemoryMiB)
  // before grpc-js's message limit: the stream is refused (REFUSED_STREAM), which the client reports so.
  if (oversize && o.code === grpc.status.UNAVAILABLE && o.details === "Stream refused by server")
    return undefined;
  if (!ALLOWED.has(o.code)) return `${name}: ${o.details}`;
  if (o.details.trim() === "") return `${name} without a message`;
  return undefined;
}

describe("fuzzing the live agent's RPCs (lab secf)", function () {
  let lab: fx.SessionLab | undefined;
  let agent: fx.RunningAgent | undefined;
  let provider: AgentConnection;
  let stateDir = "";
  let warmRss = 0;
  const clients: Partial<Record<CallerName, grpc.Client>> = {};
  let creds: Record<CallerName, grpc.ChannelCredentials>;
  let cases = 0;
  const methods = Object.keys(SERVICE);
  const codes = new Map<string, number>();

  const pid = () => agent!.child.pid!;
  const alive = () => {
    const c = agent!.child;
    assert.ok(
      c.exitCode === null && c.signalCode === null,
      `the agent died:\n${agent!.output().slice(-4000)}`,
    );
  };
  const clientFor = (who: CallerName) => {
    // A fresh channel for each certificate-less call, so that each one really reaches the agent's handshake.
    if (who === "none") return new grpc.Client(agent!.endpoint, creds.none);
    return (clients[who] ??= new grpc.Client(agent!.endpoint, creds[who]));
  };

  /** Undoes what a successful call left running: an apply awaiting confirmation, a session. */
  async function tidy(rpc: string, o: Outcome): Promise<void> {
    const m = SERVICE[rpc];
    if (o.code !== grpc.status.OK || o.responses.length === 0) return;
    if (rpc === "ApplyPersona" || rpc === "StartSession") {
      const res = m.responseDeserialize(o.responses[0]) as {
        apply_id?: string;
        confirm_deadline_unix_ms?: string;
        id?: string;
      };
      if (res.confirm_deadline_unix_ms && res.confirm_deadline_unix_ms !== "0")
        await provider.rollbackApply(res.apply_id!).catch(() => undefined);
      if (res.id)
        await provider
          .abortSession({ session_id: res.id, reason: "fuzz", rollback: true })
          .catch(() => undefined);
    }
  }

  async function fuzz(rpc: string, numRuns: number, seed: number): Promise<number> {
    const m = SERVICE[rpc];
    const one = requestBytes(m);
    const messages = m.requestStream ? fc.array(one, { minLength: 1, maxLength: 3 }) : one.map((r) => [r]);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(CALLERS, messages, async (caller, reqs) => {
        const client = clientFor(caller);
        const o = await rawCall(
          client,
          m,
          reqs.map((r) => r.bytes),
          DEADLINE_MS[rpc] ?? 2000,
        );
        if (caller === "none") client.close();
        n++;
        const key = `${rpc} ${caller} ${grpc.status[o.code]}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        const bad = badOutcome(
          caller,
          o,
          reqs.some((r) => r.bytes.length > SERVER_LIMITS.maxReceiveBytes),
        );
        assert.equal(
          bad,
          undefined,
          `${rpc} as ${caller} with ${reqs.map((r) => `${r.kind} ${r.bytes.length} B`).join(", ")}: ${bad}`,
        );
        alive();
        await tidy(rpc, o);
      }),
      {
        numRuns,
        seed,
        endOnFailure: process.env.NETPERSONA_FUZZ_SHRINK === undefined,
        examples: examples(rpc),
      },
    );
    return n;
  }

  before(async () => {
    lab = await fx.createSessionLab(LAB);
    agent = await fx.startLabAgent(lab, lab.destination);
    stateDir = join(lab.dir, `state-${lab.destination.name}`);
    provider = fx.connect(lab, agent);
    const h1: CertifiedKey = {
      certPem: await readFile(join(lab.dir, "h1.pem"), "utf8"),
      keyPem: await readFile(join(lab.dir, "h1.key"), "utf8"),
    };
    const mon = await issueMonitoringCert(lab.ca, { commonName: "fuzz monitoring" });
    const ssl = (k?: CertifiedKey) =>
      grpc.credentials.createSsl(
        Buffer.from(lab!.ca.certPem),
        k && Buffer.from(k.keyPem),
        k && Buffer.from(k.certPem),
      );
    creds = { provider: ssl(lab.client), agent: ssl(h1), monitoring: ssl(mon), none: ssl() };
    assert.match(
      await readFile(`/proc/${pid()}/cmdline`, "utf8"),
      /netpersona-agent\.js/,
      "the child is the agent itself",
    );
    // Warm-up: a few cases of every RPC, so that the baseline holds what a working agent holds.
    for (const [i, rpc] of methods.entries()) await fuzz(rpc, 5, SEED - 1 - i);
    warmRss = await vmRssBytes(pid());
    console.log(
      `      fuzz seed ${SEED}; agent pid ${pid()}, VmRSS after warm-up ${(warmRss / MIB).toFixed(1)} MiB`,
    );
  });

  after(async () => {
    if (process.env.NETPERSONA_FUZZ_LOG && agent)
      await writeFile(process.env.NETPERSONA_FUZZ_LOG, agent.output());
    for (const c of Object.values(clients)) c.close();
    provider?.close();
    await fx.killAgent(agent, "SIGTERM");
    await fx.destroySessionLab(LAB, lab);
  });

  for (const [i, rpc] of Object.keys(SERVICE).entries()) {
    const runs = RUNS[rpc] ?? DEFAULT_RUNS;
    it(`${rpc}: ${runs} random, malformed and over-size requests end OK or in a typed refusal`, async () => {
      const started = Date.now();
      cases += await fuzz(rpc, runs, SEED + i);
      // The agent still answers after the batch.
      assert.equal((await provider.getInfo({ deadlineMs: 10_000 })).status, "SERVING");
      const seen = [...codes]
        .filter(([k]) => k.startsWith(`${rpc} `))
        .map(([k, n]) => `${k.slice(rpc.length + 1)} ${n}`);
      const rss = ((await vmRssBytes(pid())) / MIB).toFixed(1);
      console.log(
        `      ${runs} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, VmRSS ${rss} MiB: ${seen.join(", ")}`,
      );
    });
  }

  it("refuses what the fuzzer found with the field and the fix: undecodable bytes, a sampling interval, prototype ids, a huge id, long lists", async () => {
    const raw = clientFor("provider");
    const garbage = await rawCall(raw, SERVICE.GetInfo, [Buffer.from([0x0a, 0x05])], 5000);
    assert.deepEqual(
      [grpc.status[garbage.code], garbage.details],
      [
        "INVALID_ARGUMENT",
        "request: the 2 bytes are not a netpersona.agent.v1.GetInfoRequest message (index out of range: 2 + 5 > 2): encode requests from proto/netpersona/agent/v1/*.proto",
      ],
    );
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => "OK",
        (e: AgentError) => `${e.codeName}: ${e.message}`,
      );
    assert.equal(
      await code(provider.discover({ window_seconds: 1, sample_interval_ms: 200 })),
      "INVALID_ARGUMENT: sample_interval_ms: must be 50..10000 ms and at most a tenth of the window (100 ms for 1 s; 0 picks one), got 200",
    );
    assert.equal(await code(provider.discover({ window_seconds: 1 }, { deadlineMs: 10_000 })), "OK");
    const unnamed = provider.streamMetrics({
      peers: [{ name: "", address: "192.0.2.7" }],
      interval_ms: 100,
      max_samples: 1,
    });
    assert.equal(
      await code(
        (async () => {
          for await (const _ of unnamed) break;
        })(),
      ),
      "INVALID_ARGUMENT: peers.0.name: must be 1-64 of letters, digits, _.:@- (a label echoed in every sample)",
    );
    assert.equal(
      await code(provider.planPersona({ dns: { servers: new Array<string>(300).fill("10.0.0.1") } })),
      "INVALID_ARGUMENT: persona.dns.servers: at most 256 entries are read, got 300: list only what the persona needs",
    );
    const id = "x".repeat(500_000);
    const full = `no apply awaits confirmation (asked for '${id}')`;
    assert.equal(
      await code(provider.rollbackApply(id)),
      `FAILED_PRECONDITION: ${full.slice(0, 1024)}… (${full.length - 1024} more characters)`,
    );
    for (const id of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      assert.equal(
        await code(provider.getSession(id)),
        `NOT_FOUND: no session '${id}': StartSession creates it`,
      );
      assert.equal(
        await code(provider.abortSession({ session_id: id, reason: "x" })),
        `NOT_FOUND: no session '${id}': StartSession creates it`,
      );
    }
  });

  it("ran ≥ 2000 cases; the agent is alive, its memory and its state directory bounded", async () => {
    assert.ok(cases >= 2000, `${cases} cases`);
    const info = await provider.getInfo({ deadlineMs: 10_000 });
    const rss = await vmRssBytes(pid());
    const state = Math.max(await dirBytes(stateDir), Number(info.runtime!.state_dir_bytes));
    console.log(
      `      ${cases} cases; VmRSS ${(rss / MIB).toFixed(1)} MiB (warm-up ${(warmRss / MIB).toFixed(1)} MiB), heap ${(Number(info.runtime!.heap_used_bytes) / MIB).toFixed(1)} MiB, ${info.runtime!.open_fds} fds, state dir ${state} B`,
    );
    assert.ok(rss < 2 * warmRss, `VmRSS ${rss} < 2 × ${warmRss} (after warm-up)`);
    assert.ok(rss < 200 * MIB, `VmRSS ${rss} < 200 MiB`);
    assert.ok(state < 2 * MIB, `state dir ${state} B < 2 MiB`);
    assert.equal(info.runtime!.open_signals, 0, "no stream or session left holding a signal");
    assert.equal(info.runtime!.sessions_running, 0, "every session the fuzzer started was aborted");
  });
});
