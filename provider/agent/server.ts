// The agent's gRPC service: the persona and info RPCs here, sessions, feedback, metrics and discovery in
// server-sessions.ts. The kernel is reached only through the HostController given to createAgentServer
// (dependency injection: the daemon passes the real one, unit tests a fake).
import * as grpc from "@grpc/grpc-js";

import type { Persona } from "../persona/schema";
import { loadAgentApi } from "../proto/load";
import { personaFromWire, personaToWire } from "../proto/persona";
import type { AgentHandlers } from "../proto/gen/netpersona/agent/v1/Agent";
import type { Persona__Output as WirePersonaOut } from "../proto/gen/netpersona/agent/v1/Persona";
import type { PlanStep } from "./host/api";
import type { HostController } from "./host/api";
import { authorizationInterceptor, lapsedFeedback } from "./rpc/authz";
import { invalidArgument } from "./rpc/errors";
import { FeedbackGrants, grantHandlers } from "./session/grants";
import { capabilities, hostName, listInterfaces } from "./info";
import { defaultRouteDevices, detectManagers, personaInterfaces, revertWarnings } from "./host/managers";
import { serverOptions } from "./rpc/limits";
import { callerOf, type SafeApplyConfig } from "./persona/probes";
import { PersonaService } from "./persona/service";
import { tolerantDecoding, unary, type Log } from "./rpc/calls";
import { abortListeners, dirBytes, openFds } from "./runtime";
import { sessionHandlers, type DiscoverySource, type MetricsSource } from "./session/handlers";
import { SessionStore, type SessionRunner } from "./session/store";
import type { StateStore } from "./state";

export interface AgentServerOptions {
  host: HostController;
  store: StateStore;
  version: string;
  log?: Log;
  /** The adjustment engine; without it StartSession answers UNIMPLEMENTED. */
  sessionRunner?: SessionRunner;
  /** Probes for StreamMetrics; without it StreamMetrics answers UNIMPLEMENTED. */
  metrics?: MetricsSource;
  /** Flow classifier for Discover; without it Discover answers UNIMPLEMENTED. */
  discovery?: DiscoverySource;
  /** Safe apply of persona changes: probe settings, and the watchdog starter / probe runner to use. */
  safeApply?: SafeApplyConfig;
  /** Finds NetworkManager, systemd-networkd, netplan (host/managers.ts); tests give a fixture root. */
  managers?: typeof detectManagers;
}

export interface AgentServer {
  readonly server: grpc.Server;
  readonly personas: PersonaService;
  readonly sessions: SessionStore;
  /** Which destination agents may open their feedback stream here (GrantFeedback). */
  readonly grants: FeedbackGrants;
  /** Binds `address` (host:port, port 0 picks one) with `credentials`; resolves to the bound port. */
  listen(address: string, credentials: grpc.ServerCredentials): Promise<number>;
  /** Stops accepting calls, lets running ones finish for up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

function validPersona(m: WirePersonaOut | null, field: string): Persona {
  const v = personaFromWire(m, field);
  if (!v.ok) throw invalidArgument(v.failures);
  return v.value;
}

const wireSteps = (steps: PlanStep[]) => steps.map((s) => ({ ...s, command: [...s.command] }));

export async function createAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const startedUnixMs = Date.now();
  const personas = new PersonaService(opts.host, opts.store, log, opts.safeApply);
  const sessions = new SessionStore(opts.store);
  sessions.forget = async (id) => {
    await opts.sessionRunner?.forget?.(id);
  };
  await personas.resume();
  const grants = new FeedbackGrants(opts.store);
  await grants.prune(); // those that expired while the agent was down

  const runtime = async () => {
    const mem = process.memoryUsage();
    const abort = abortListeners();
    const kept = sessions.kept();
    return {
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      heap_total_bytes: mem.heapTotal,
      open_fds: await openFds(),
      abort_listeners: abort.listeners,
      open_signals: abort.signals,
      session_watchers: sessions.watcherCount(),
      sessions_running: sessions.runningCount(),
      sessions_kept: kept.sessions,
      session_events_kept: kept.events,
      state_dir_bytes: await dirBytes(opts.store.dir),
    };
  };

  const detect = opts.managers ?? detectManagers;
  const handlers: AgentHandlers = {
    GetInfo: unary(log, "GetInfo", async () => {
      const [interfaces, caps] = await Promise.all([listInterfaces(), capabilities()]);
      const managers = await detect({ interfaces: interfaces.map((i) => i.name) });
      const st = opts.store.get();
      return {
        status: "SERVING",
        version: opts.version,
        hostname: hostName(),
        interfaces: interfaces.map((i) => ({ ...i, oper_state: i.operState })),
        capabilities: {
          congestion_controls_available: caps.congestionControlsAvailable,
          congestion_controls_allowed: caps.congestionControlsAllowed,
          tools: caps.tools,
          kernel_release: caps.kernelRelease,
        },
        started_unix_ms: startedUnixMs,
        has_snapshot: st.preSnapshot !== undefined,
        pending_apply_id: personas.pendingId() ?? "",
        runtime: await runtime(),
        network_managers: managers.map((m) => ({
          name: m.name,
          running: m.running,
          config_files: m.configFiles,
          interfaces: m.interfaces,
          renderer: m.renderer,
          notes: m.notes,
        })),
        network_manager_warnings: revertWarnings(managers, await defaultRouteDevices()),
      };
    }),
    GetPersona: unary(log, "GetPersona", async () => {
      const g = await personas.get();
      return {
        live: personaToWire(g.live),
        committed: g.committed ? personaToWire(g.committed) : null,
        pending: g.pending
          ? {
              apply_id: g.pending.id,
              persona: personaToWire(g.pending.persona),
              confirm_deadline_unix_ms: g.pending.deadlineUnixMs,
            }
          : null,
        has_snapshot: g.hasSnapshot,
      };
    }),
    PlanPersona: unary(log, "PlanPersona", async (req) => {
      const persona = validPersona(req.persona, "persona");
      const steps = await personas.plan(persona);
      // Only a plan that changes something can be reverted by a manager.
      const managers =
        steps.length === 0 ? [] : await detect({ interfaces: (await listInterfaces()).map((i) => i.name) });
      return {
        steps: wireSteps(steps),
        warnings: revertWarnings(managers, await personaInterfaces(persona), persona),
      };
    }),
    ApplyPersona: unary(log, "ApplyPersona", async (req, call) => {
      const persona = validPersona(req.persona, "persona");
      const r = await personas.apply(persona, req.confirm_timeout_seconds, callerOf(call));
      return {
        apply_id: r.applyId,
        steps: wireSteps(r.steps),
        changed: r.changed,
        live: personaToWire(r.live),
        confirm_deadline_unix_ms: r.confirmDeadlineUnixMs,
      };
    }),
    ConfirmApply: unary(log, "ConfirmApply", async (req) => ({
      apply_id: req.apply_id,
      committed: personaToWire(await personas.confirm(req.apply_id)),
    })),
    RollbackApply: unary(log, "RollbackApply", async (req) => ({
      apply_id: req.apply_id,
      live: personaToWire(await personas.rollback(req.apply_id)),
    })),
    RestoreSnapshot: unary(log, "RestoreSnapshot", async (_req, call) => {
      const r = await personas.restore(callerOf(call));
      return { restored: r.restored, live: personaToWire(r.live) };
    }),
    ...sessionHandlers({
      log,
      sessions,
      runner: opts.sessionRunner,
      metrics: opts.metrics,
      discovery: opts.discovery,
      lapsed: (call) => lapsedFeedback(grants, call.getAuthContext()),
    }),
    ...grantHandlers(log, grants),
  };

  // Every call, unary or streaming, passes the role check in authz.ts before any handler runs.
  const interceptors = [authorizationInterceptor(log, grants)];
  const server = new grpc.Server({ ...serverOptions(), interceptors });
  server.addService(tolerantDecoding(loadAgentApi().service), handlers);

  return {
    server,
    personas,
    sessions,
    grants,
    listen: (address, credentials) =>
      new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
      }),
    close: (graceMs = 2000) =>
      new Promise((resolve) => {
        personas.stop();
        sessions.stopAll();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
