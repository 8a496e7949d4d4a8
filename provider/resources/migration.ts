// Migration: moves a node's network persona to its destination. The source's live persona (or the given
// one) becomes the shadow persona on the destination before any data moves; the destination agent runs the
// session (measure, decide, blend, apply) and the provider follows it over a gRPC stream, printing progress,
// and returns only when the blend has converged. A session that cannot converge is rolled back by the agent
// and fails the resource with its history. The session lives on the destination agent: a lost connection
// is followed again from the last event seen, and a re-run after a provider crash finds the same session.
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";

import type * as pulumi from "@pulumi/pulumi";

import type { AgentConnection } from "../agent/rpc/client";
import type { AgentError } from "../agent/rpc/errors";
import type { MetricsSummary } from "../agent/session/records";
import { metricsFromWire } from "../agent/session/wire";
import type { SessionEvent__Output } from "../proto/gen/netpersona/agent/v1/SessionEvent";
import type { Persona } from "../persona/schema";
import { containsUnknown, issuesToFailures, parseWith, validatePersona } from "../persona/validate";
import { PACKAGE_VERSION, VERSION_KEY, knownDiffers, normalisedKnown, progress, userInputs } from "./common";
import { waitForAgent } from "./agent";
import { grantFeedback, revokeFeedback } from "./migration-feedback";
import { migrationInputsSchema, type MigrationInputs } from "./migration-schema";
import { errorLine } from "../util/errors";

export const MIGRATION_SECRETS = ["source", "destination", "transfer"] as const;
const INPUT_KEYS = Object.keys(migrationInputsSchema.shape);
const FINAL = new Set([
  "SESSION_STATE_CONVERGED",
  "SESSION_STATE_ROLLED_BACK",
  "SESSION_STATE_ABORTED",
  "SESSION_STATE_FAILED",
]);

export interface HistoryEntry {
  seq: number;
  time: string;
  kind: string;
  weight: number;
  rule: string;
  changes: string[];
  reason: string;
  /** What the decision was based on (the session event's metrics, as the agent records them). */
  metrics?: MetricsSummary;
}

function parse(props: Record<string, unknown>): MigrationInputs {
  return migrationInputsSchema.parse(
    Object.fromEntries(INPUT_KEYS.filter((k) => k in props).map((k) => [k, props[k]])),
  );
}

/** The same inputs give the same session id, so a re-run after a crash follows the session already running. */
export function sessionIdOf(i: MigrationInputs, attempt: number): string {
  const h = createHash("sha256")
    .update(
      JSON.stringify([
        i.source.endpoint,
        i.destination.endpoint,
        i.persona ?? null,
        i.peer,
        i.policy,
        i.transfer?.command ?? null,
        // Only when given, so the ids of migrations without a target stay as they were.
        ...(i.targetPersona ? [i.targetPersona] : []),
      ]),
    )
    .digest("hex")
    .slice(0, 12);
  return `${i.migrationName}-${h}${attempt > 1 ? `-r${attempt}` : ""}`;
}

export function historyEntry(e: SessionEvent__Output): HistoryEntry {
  const m = e.metrics;
  return {
    seq: Number(e.seq),
    time: new Date(Number(e.time_unix_ms)).toISOString(),
    kind: e.kind,
    weight: e.weight,
    rule: e.rule,
    changes: e.changes.map((c) => `${c.field}: ${c.from} → ${c.to}`),
    reason: e.reason,
    ...(m && { metrics: metricsFromWire(m) }),
  };
}

function describe(h: HistoryEntry): string {
  const m = h.metrics
    ? ` (rtt p90 ${h.metrics.rttP90Ms.toFixed(1)} ms, loss ${(h.metrics.lossRatio * 100).toFixed(1)}%)`
    : "";
  const what = h.changes.length ? ` ${h.changes.join(", ")}` : "";
  return `w=${h.weight.toFixed(2)} ${h.kind}${h.rule ? ` [${h.rule}]` : ""}${what}${h.reason ? `: ${h.reason}` : ""}${m}`;
}

/** Metric summary over the history: mean and worst of what the session measured. */
export function summarise(history: HistoryEntry[]): Record<string, number> {
  const ms = history.flatMap((h) => (h.metrics ? [h.metrics] : []));
  if (ms.length === 0) return { samples: 0 };
  const mean = (f: (m: (typeof ms)[number]) => number) => ms.reduce((a, m) => a + f(m), 0) / ms.length;
  return {
    samples: ms.length,
    rttP50MsMean: mean((m) => m.rttP50Ms),
    rttP90MsMax: Math.max(...ms.map((m) => m.rttP90Ms)),
    lossRatioMean: mean((m) => m.lossRatio),
    lossRatioMax: Math.max(...ms.map((m) => m.lossRatio)),
    pathMtuMin: Math.min(...ms.map((m) => m.pathMtu).filter((x) => x > 0), Infinity),
  };
}

/** Follows the session's events to its end, resuming from the last event after a lost stream. */
async function follow(
  conn: AgentConnection,
  id: string,
  name: string,
  history: HistoryEntry[],
): Promise<void> {
  let failures = 0;
  for (;;) {
    try {
      for await (const e of conn.watchSession(id, (history.at(-1)?.seq ?? 0) + 1)) {
        const h = historyEntry(e);
        history.push(h);
        // Every decision goes into the history; the log shows changes, and a plain probe every ~10.
        if (h.kind !== "deferred" && (h.kind !== "probe" || history.length % 10 === 0))
          progress(name, describe(h));
        failures = 0;
      }
      const s = await conn.getSession(id);
      if (FINAL.has(s.state)) return;
    } catch (err) {
      failures++;
      if (failures > 30)
        throw new Error(
          `lost the session stream ${failures} times: ${(err as Error).message}. If the destination agent died, ` +
            "`pulumi refresh && pulumi up` restarts it and follows the same session again",
          { cause: err },
        );
      const why = errorLine(err);
      const hint = /ECONNREFUSED|UNAVAILABLE/.test(why) ? " (is the destination agent running?)" : "";
      progress(name, `session stream lost (${why})${hint}: following again`);
      await new Promise((r) => setTimeout(r, Math.min(1000 * failures, 5000)));
    }
  }
}

async function runTransfer(i: MigrationInputs, name: string, signal: AbortSignal): Promise<void> {
  if (!i.transfer) return;
  const { SshSession, redactedCommand } = await import("../ssh/connection");
  const ssh = await SshSession.open(i.transfer.connection, (l) => progress(name, `transfer: ${l}`));
  try {
    // The command is a secret input: only its program's name is ever shown, and a failure says no more
    // (no arguments, no output), so neither the log, the abort reason on the agent nor the error carries it.
    progress(name, `transfer: running ${redactedCommand(i.transfer.command)}`);
    const started = Date.now();
    let timeout: NodeJS.Timeout | undefined;
    const timer = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () => reject(new Error(`the transfer did not finish within ${i.transfer!.timeoutSeconds} s`)),
        i.transfer!.timeoutSeconds * 1000,
      );
      signal.addEventListener("abort", () => clearTimeout(timeout), { once: true });
    });
    try {
      await Promise.race([ssh.run(i.transfer.command, { secret: true }), timer]);
    } catch (err) {
      // The output stays unsaid (it may carry the secret): say where to try the command instead.
      throw new Error(
        `${(err as Error).message}; the transfer runs on the source host as transfer.connection's user: run ` +
          "the command there by hand to see its output (rsync or scp exit 255: that user cannot reach or log in " +
          "to the destination)",
        { cause: err },
      );
    } finally {
      clearTimeout(timeout);
    }
    progress(name, `transfer: finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    ssh.dispose();
  }
}

async function migrate(props: Record<string, unknown>): Promise<Record<string, unknown>> {
  const i = parse(props);
  const name = `Migration ${i.migrationName}`;
  const { personaToWire, personaFromWire } = await import("../proto/persona");
  const { policyOrThrow } = await import("../engine/policy");
  const policy = policyOrThrow(i.policy);
  let persona: Persona;
  if (i.persona) {
    const v = validatePersona(i.persona, ["persona"]);
    if (!v.ok) throw new Error(v.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    persona = v.value;
  } else {
    const { conn: src } = await waitForAgent(i.source, name);
    try {
      const live = personaFromWire((await src.getPersona()).live, "source live persona");
      if (!live.ok)
        throw new Error(`the source's live persona is not valid: ${JSON.stringify(live.failures)}`);
      // Routing hints name the source network's gateways and devices, which the destination does not have:
      // the node takes its behaviour with it (congestion control, MTU, QoS, DNS), not its routes.
      const { routes: _local, ...portable } = live.value;
      persona = portable;
      progress(name, `source persona (live, without its network-local routes): ${JSON.stringify(persona)}`);
    } finally {
      src.close();
    }
  }
  let target: Persona | undefined;
  if (i.targetPersona) {
    const v = validatePersona(i.targetPersona, ["targetPersona"]);
    if (!v.ok) throw new Error(v.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    target = v.value;
  }
  const personas = { source: persona, target };
  // The destination's certificate as it presents it: the one its feedback stream to the source will carry.
  const { conn } = await waitForAgent(i.destination, name, 30_000, { keepServerCertificate: true });
  const abort = new AbortController();
  // The source lets the destination stream its feedback only under a grant, given before the session starts
  // (and again when a re-run finds the session running: same id, the grant is replaced).
  let sessionId: string | undefined;
  const begin = async (attempt: number) => {
    sessionId = sessionIdOf(i, attempt);
    await grantFeedback(i.source, conn, sessionId, policy.maxDurationMs, name);
    return start(conn, i, personas, policy, attempt, personaToWire);
  };
  try {
    let attempt = 1;
    let session = await begin(attempt);
    while (FINAL.has(session.state) && !session.converged) {
      progress(name, `session ${session.id} ended ${session.state} earlier: starting a new attempt`);
      await revokeFeedback(i.source, session.id, name);
      session = await begin(++attempt);
    }
    const shadow = target ? "shadow persona starts as the target" : "shadow persona mirrors the source";
    progress(name, `session ${session.id} on ${i.destination.endpoint}: ${shadow}; blending`);
    const history: HistoryEntry[] = [];
    // The transfer's failure is kept, not left as a rejected promise while the session is followed (Node
    // reported it as unhandled, with a stack, before the await below handled it).
    let transferFailed: Error | undefined;
    const transfer = runTransfer(i, name, abort.signal).catch(async (err: Error) => {
      transferFailed = err;
      await conn
        .abortSession({
          session_id: session.id,
          // Bounded by the agent (512 characters); the message names no secret (see runTransfer).
          reason: `transfer failed: ${err.message}`.slice(0, 500),
          rollback: true,
        })
        .catch(() => undefined);
    });
    await follow(conn, session.id, name, history);
    await transfer;
    if (transferFailed) throw transferFailed;
    const final = await conn.getSession(session.id);
    if (!final.converged) {
      const last = history
        .filter((h) => h.kind !== "probe")
        .slice(-8)
        .map(describe)
        .join(" | ");
      throw new Error(
        `the migration did not converge (${final.state}: ${final.reason}); the destination was rolled back. Last events: ${last}`,
      );
    }
    const blended = personaFromWire(final.blended_persona ?? final.shadow_persona, "final persona");
    const startedMs = Number(final.started_unix_ms);
    const convergedAt = history.find((h) => h.kind === "converged");
    return {
      ...userInputs(props),
      [VERSION_KEY]: PACKAGE_VERSION,
      sessionId: final.id,
      converged: true,
      finalPersona: blended.ok ? blended.value : null,
      convergenceSeconds: convergedAt ? (Date.parse(convergedAt.time) - startedMs) / 1000 : null,
      history: history.filter((h) => h.kind !== "deferred"),
      metricSummary: summarise(history),
    };
  } finally {
    abort.abort();
    // The grant ends with the session (converged, rolled back, failed, aborted, or never started). A session
    // that may still run (the provider lost its stream) keeps it: a re-run follows the session, grants again.
    if (sessionId) {
      const s = await conn.getSession(sessionId).catch((e: AgentError) => e);
      const ended = s instanceof Error ? s.codeName === "NOT_FOUND" : FINAL.has(s.state);
      if (ended) await revokeFeedback(i.source, sessionId, name);
      else
        progress(
          name,
          `feedback: session ${sessionId} may still run: its grant on the source stays until it expires`,
        );
    }
    conn.close();
  }
}

async function start(
  conn: AgentConnection,
  i: MigrationInputs,
  personas: { source: Persona; target?: Persona },
  policy: import("../engine/policy").Policy,
  attempt: number,
  toWire: (p: Persona) => import("../proto/gen/netpersona/agent/v1/Persona").Persona,
) {
  const { sessionPolicyToWire } = await import("../proto/session-policy");
  return conn.startSession({
    session_id: sessionIdOf(i, attempt),
    source_persona: toWire(personas.source),
    ...(personas.target && { target_persona: toWire(personas.target) }),
    source_agent: i.source.endpoint,
    peer_address: i.peer,
    policy: sessionPolicyToWire(policy, i.policy),
  });
}

/** An agent reference without its certificates: what says which agent, not how to authenticate to it. */
function withoutCredentials(v: unknown, key: string): unknown {
  if ((key !== "source" && key !== "destination") || !v || typeof v !== "object") return v;
  const { caCertPem: _ca, clientCertPem: _cert, clientKeyPem: _key, ...rest } = v as Record<string, unknown>;
  return rest;
}

const UNKNOWN_PLAN =
  "not known yet: the agents, their certificates or the persona are created or updated in this run";

/**
 * For a migration about to start: the destination agent's dry run of the shadow persona (what it changes on
 * the destination's kernel before any data moves), shown in the preview like a PersonaAttachment's plan.
 * Not asked for a migration that already ran: its destination carries the tuned persona by design.
 */
async function shadowPlan(
  olds: Record<string, unknown>,
  i: MigrationInputs,
): Promise<{ plan?: string[]; planNote?: string }> {
  if (Object.keys(userInputs(olds)).length > 0) return {};
  if ([i.destination, i.persona].some(containsUnknown)) return { plan: [], planNote: UNKNOWN_PLAN };
  if (i.persona === undefined) {
    return {
      plan: [],
      planNote: "the shadow persona mirrors the source's live persona, read when the migration starts",
    };
  }
  const p = validatePersona(i.persona, ["persona"]);
  if (!p.ok) return {};
  const { kernelPlan } = await import("./attachment");
  return kernelPlan({ ...i.destination, persona: p.value });
}

export const migrationProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    const raw = userInputs(news);
    const r = parseWith(migrationInputsSchema, raw);
    // Given personas are validated on their own below, so that their messages name `persona.<field>`.
    const failures = r.success
      ? []
      : issuesToFailures(
          r.error.issues.filter((i) => !(["persona", "targetPersona"] as PropertyKey[]).includes(i.path[0])),
          raw,
        );
    for (const key of ["persona", "targetPersona"] as const) {
      const value = raw[key];
      if (value !== undefined && !containsUnknown(value)) {
        const p = validatePersona(value, [key]);
        if (!p.ok) failures.push(...p.failures);
      }
    }
    if (raw.policy && typeof raw.policy === "object" && !containsUnknown(raw.policy)) {
      const { parsePolicy } = await import("../engine/policy");
      const p = parsePolicy(raw.policy, ["policy"]);
      if (!p.ok) failures.push(...p.failures);
    }
    if (failures.length > 0) return { inputs: news, failures };
    // Only issues about values unknown at preview: nothing to normalise yet.
    if (!r.success) {
      const isNew = Object.keys(userInputs(olds)).length === 0;
      return { inputs: isNew ? { ...news, plan: [], planNote: UNKNOWN_PLAN } : news };
    }
    return {
      inputs: {
        ...r.data,
        ...(await shadowPlan(olds, r.data)),
        [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION,
      },
    };
  },

  async diff(_id, olds, given) {
    const news = normalisedKnown(migrationInputsSchema.shape, given, olds);
    // A migration is an action: a change of what or where is a new migration (replace; the old one restores
    // the destination first). New certificates to reach the same agents are not: an update records them.
    // A value unknown at preview is an update at most; `up` compares again with the real value.
    const keys = INPUT_KEYS.filter((k) => !isDeepStrictEqual(olds[k] ?? null, news[k] ?? null));
    const replaces = keys.filter((k) =>
      knownDiffers(withoutCredentials(olds[k], k), withoutCredentials(news[k], k)),
    );
    return { changes: keys.length > 0, replaces, deleteBeforeReplace: true };
  },

  async update(_id, olds, news) {
    // Reached only when no replace key really changed: the agents' certificates (a CA rotation or renewal).
    // The session and its outputs stay; the new references are recorded for refresh and delete.
    const inputs = Object.fromEntries(INPUT_KEYS.filter((k) => k in news).map((k) => [k, news[k]]));
    return { outs: { ...olds, ...inputs, [VERSION_KEY]: PACKAGE_VERSION } };
  },

  async create(inputs) {
    const outs = await migrate(inputs);
    return { id: String(outs.sessionId), outs };
  },

  async read(id, props) {
    const i = parse(props);
    const name = `Migration ${i.migrationName}`;
    let reached: Awaited<ReturnType<typeof waitForAgent>>;
    try {
      reached = await waitForAgent(i.destination, name, 10_000);
    } catch (err) {
      progress(
        name,
        `the destination agent does not answer (${errorLine(err)}): the state is kept; ` +
          "`pulumi refresh && pulumi up` restarts the agent, then refresh again",
      );
      return { id, props };
    }
    const { conn } = reached;
    try {
      const s = await conn.getSession(id).catch(() => undefined);
      if (!s) return {}; // the destination no longer knows the session: gone
      return { id, props: { ...props, converged: s.converged } };
    } finally {
      conn.close();
    }
  },

  async delete(id, props) {
    // Puts the destination back as it was before the migration (the session's start snapshot).
    const i = parse(props);
    const name = `Migration ${i.migrationName}`;
    const { conn } = await waitForAgent(i.destination, name);
    try {
      const s = await conn.getSession(id).catch(() => undefined);
      if (!s) {
        progress(name, `the destination no longer knows session ${id}: nothing to restore`);
      } else if (s.state === "SESSION_STATE_CONVERGED" || !FINAL.has(s.state)) {
        await conn.abortSession(
          { session_id: id, reason: "Migration deleted", rollback: true },
          { deadlineMs: 120_000 },
        );
        progress(name, "restored the destination's pre-migration state");
      } else {
        progress(name, `session ${id} already ended ${s.state}: the destination was restored then`);
      }
    } finally {
      conn.close();
    }
    await revokeFeedback(i.source, id, name); // normally gone when the session ended: best effort
  },
};
