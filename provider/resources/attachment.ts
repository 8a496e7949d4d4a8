// PersonaAttachment: applies a persona to a host through its agent with safe apply (apply, verify, probes,
// then confirm before the host's rollback timer fires). `read` returns what the kernel has for the fields the
// persona manages, so `pulumi refresh` shows changes made by hand; delete restores the host's snapshot.
import { isDeepStrictEqual } from "node:util";

import type * as pulumi from "@pulumi/pulumi";

import type { Persona } from "../persona/schema";
import { containsUnknown, issuesToFailures, parseWith, validatePersona } from "../persona/validate";
import { PACKAGE_VERSION, VERSION_KEY, fieldDiff, normalisedKnown, progress, userInputs } from "./common";
import { connectTo, waitForAgent, type AgentReach } from "./agent";
import { attachmentInputsSchema, attachmentShapeSchema } from "./attachment-schema";
import { inPersonaTerms } from "./drift";
import { errorLine } from "../util/errors";

export const ATTACHMENT_SECRETS = ["clientKeyPem"] as const;

/** Fields of the persona whose values differ between two personas. */
export function changedFields(a: Persona | undefined, b: Persona | undefined): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  return [...keys]
    .filter(
      (k) =>
        JSON.stringify((a as Record<string, unknown>)?.[k]) !==
        JSON.stringify((b as Record<string, unknown>)?.[k]),
    )
    .sort();
}

// `plan` and `planNote` are inputs too (check computes them): refresh hands them back as recorded.
const INPUT_KEYS = [...Object.keys(attachmentInputsSchema.shape), VERSION_KEY, "plan", "planNote"];

function parse(props: Record<string, unknown>) {
  const raw = Object.fromEntries(Object.keys(attachmentInputsSchema.shape).map((k) => [k, props[k]]));
  const i = attachmentShapeSchema.parse(raw);
  const p = validatePersona(i.persona, ["persona"]);
  if (!p.ok) throw new Error(p.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
  return { ...i, persona: p.value };
}

async function applyThrough(
  props: Record<string, unknown>,
  previous?: Persona,
): Promise<Record<string, unknown>> {
  const i = parse(props);
  const name = `PersonaAttachment ${i.endpoint}`;
  const { personaToWire, personaFromWire } = await import("../proto/persona");
  const { conn, info } = await waitForAgent(i, name);
  try {
    const wire = personaToWire(i.persona);
    const { steps: plan, warnings } = await conn.planPersonaWithWarnings(wire);
    if (plan.length === 0) progress(name, "the kernel already matches the persona: nothing to change");
    for (const s of plan) progress(name, `plan: ${s.field}: ${s.description}`);
    for (const w of warnings) progress(name, w);
    const r = await conn.applyPersona(wire, i.confirmTimeoutSeconds, { deadlineMs: 120_000 });
    if (r.apply_id && Number(r.confirm_deadline_unix_ms) > 0) {
      await conn.confirmApply(r.apply_id);
      progress(name, `applied ${r.steps.length} step(s), verified, probes passed, confirmed`);
    }
    const live = personaFromWire(r.live, "live");
    if (!live.ok)
      throw new Error(`the agent returned an invalid live persona: ${JSON.stringify(live.failures)}`);
    return {
      // The inputs as given, plan and planNote included: refresh hands them back as they were recorded, so
      // they are never drift (the next preview's check asks the kernel again).
      ...userInputs(props),
      persona: i.persona,
      // The desired persona as applied: `persona` itself becomes the kernel's view after a refresh with drift.
      appliedPersona: i.persona,
      [VERSION_KEY]: PACKAGE_VERSION,
      live: inPersonaTerms(i.persona, live.value),
      steps: r.steps.map((s) => `${s.field}: ${s.description}`),
      changedFields: changedFields(previous, i.persona),
      agentHostname: info.hostname,
    };
  } finally {
    conn.close();
  }
}

/** The recorded state with the persona last applied: after a refresh with drift `persona` is the kernel's view,
 *  which need not be a valid persona on its own. */
function reference(props: Record<string, unknown>): Record<string, unknown> {
  return props.appliedPersona ? { ...props, persona: props.appliedPersona } : props;
}

/** Puts the host back as it was before any persona (the agent's snapshot). */
async function restore(props: Record<string, unknown>, name: string): Promise<void> {
  const i = parse(reference(props));
  const { conn } = await waitForAgent(i, name);
  try {
    const r = await conn.restoreSnapshot({ deadlineMs: 120_000 });
    progress(
      name,
      r.restored ? "restored the host's pre-persona snapshot" : "no snapshot to restore: nothing was applied",
    );
  } finally {
    conn.close();
  }
}

const NOT_KNOWN_YET = "not known yet";

/**
 * The agent's dry run of the persona on its host (PlanPersona), one readable line per kernel change, asked
 * at every `check`, so also during `pulumi preview`: `plan` is empty when the kernel already matches, and a
 * change made by hand shows in the next preview without a refresh. When the agent cannot be asked (not
 * installed yet, down, unreachable) `planNote` says so and `plan` stays empty: a preview never fails on it.
 */
export async function kernelPlan(
  i: AgentReach & { persona: Persona },
): Promise<{ plan: string[]; planNote?: string }> {
  if ([i.endpoint, i.caCertPem, i.clientCertPem, i.clientKeyPem, i.persona].some(containsUnknown)) {
    return {
      plan: [],
      planNote: `${NOT_KNOWN_YET}: the agent, its certificates or the persona are created or updated in this run`,
    };
  }
  const { personaToWire } = await import("../proto/persona");
  let conn: Awaited<ReturnType<typeof connectTo>> | undefined;
  try {
    // Inside the try: certificates that do not parse are said in the plan note, like an agent that is down.
    conn = await connectTo(i);
    const r = await conn.planPersonaWithWarnings(personaToWire(i.persona), { deadlineMs: PLAN_DEADLINE_MS });
    const plan = r.steps.map((s) => `${s.field}: ${s.description}`);
    // A network manager that may revert the change: said in the note (and so in the preview's diff).
    return { plan, ...(r.warnings.length > 0 && { planNote: r.warnings.join("\n") }) };
  } catch (err) {
    return {
      plan: [],
      planNote:
        `the agent at ${i.endpoint} could not be asked (${errorLine(err)}): no kernel plan. If the agent is down, ` +
        "`pulumi refresh` records it and `pulumi up` then restarts it",
    };
  } finally {
    conn?.close();
  }
}

/** How long `check` waits for the agent's plan before it says that it has none. */
const PLAN_DEADLINE_MS = 5_000;

export const attachmentProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const raw = userInputs(news);
    const r = parseWith(attachmentShapeSchema, raw);
    // The persona is validated on its own below, so that its messages name `persona.<field>`.
    const failures = r.success
      ? []
      : issuesToFailures(
          r.error.issues.filter((i) => i.path[0] !== "persona"),
          raw,
        );
    let persona = raw.persona;
    if (!containsUnknown(persona)) {
      const p = validatePersona(persona, ["persona"]);
      if (p.ok) persona = p.value;
      else failures.push(...p.failures);
    }
    if (failures.length > 0) return { inputs: news, failures };
    // Only issues about values unknown at preview: nothing to normalise yet.
    if (!r.success) return { inputs: news };
    const inputs = { ...r.data, persona: persona as Persona };
    const kernel = await kernelPlan(inputs);
    // An agent that cannot be asked, or a network manager that may revert the change, is said in the
    // preview's output too, not only in the `planNote` that `pulumi preview --diff` shows.
    if (kernel.planNote && !kernel.planNote.startsWith(NOT_KNOWN_YET))
      progress(`PersonaAttachment ${inputs.endpoint}`, `warning: ${kernel.planNote}`);
    return {
      inputs: {
        ...inputs,
        ...kernel,
        [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION,
      },
    };
  },

  async diff(_id, olds, news) {
    // No input forces a replacement. Another endpoint is handled by update: the same host (an agent moved to
    // another port or address) is re-applied; another host gets the persona and the old one its snapshot back.
    // An endpoint or certificate unknown at preview (an Agent or StackCa that updates) is therefore an update
    // at most, never a replacement `up` would not do.
    const n = normalisedKnown(attachmentInputsSchema.shape, news, olds);
    const { changes, replaces, deleteBeforeReplace } = fieldDiff(
      olds,
      n,
      Object.keys(attachmentInputsSchema.shape),
    );
    // The kernel no longer matches the persona (a change by hand): the plan says what `up` puts back. The state
    // records the plan the last `up` carried out, and refresh hands it back: that one is history, not drift.
    const drifted =
      Array.isArray(news.plan) && news.plan.length > 0 && !isDeepStrictEqual(news.plan, olds.plan ?? []);
    return { changes: changes || drifted, replaces, deleteBeforeReplace };
  },

  async create(inputs) {
    const outs = await applyThrough(inputs);
    return { id: `attachment-${String(inputs.endpoint)}`, outs };
  },

  async update(_id, olds, news) {
    const outs = await applyThrough(news, olds.persona as Persona);
    if (olds.endpoint !== news.endpoint && olds.agentHostname !== outs.agentHostname) {
      // Another host (its agent reports another hostname): what a replacement would do, in the same order
      // (apply on the new host first, then restore the old one), without losing the resource.
      const name = `PersonaAttachment ${String(olds.endpoint)}`;
      try {
        await restore(olds, name);
      } catch (err) {
        progress(name, `could not restore the previous host: ${errorLine(err)}`);
      }
    }
    return { outs };
  },

  async read(id, props) {
    const i = parse(reference(props));
    const { personaFromWire } = await import("../proto/persona");
    const name = `PersonaAttachment ${i.endpoint}`;
    let reached: Awaited<ReturnType<typeof waitForAgent>>;
    try {
      reached = await waitForAgent(i, name, 10_000);
    } catch (err) {
      // Not gone, and nothing known about the kernel: keep the last state and say how to recover.
      progress(
        name,
        `the agent does not answer (${errorLine(err)}): the state is kept as it was; ` +
          "its Agent is recorded as not running, and `pulumi up` restarts it (then refresh again)",
      );
      return { id, props };
    }
    const { conn } = reached;
    try {
      const g = await conn.getPersona();
      const live = personaFromWire(g.live, "live");
      if (!live.ok) return { id, props };
      // The kernel in the persona's own terms becomes the recorded persona, so drift shows as a diff against
      // the program in exactly the fields changed by hand, and an untouched host shows none.
      const now = inPersonaTerms(i.persona, live.value);
      const inputs = Object.fromEntries(
        INPUT_KEYS.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]),
      );
      return {
        id,
        props: {
          ...props,
          live: inPersonaTerms(i.persona, live.value),
          persona: now,
          appliedPersona: i.persona,
        },
        inputs: { ...inputs, persona: now },
      };
    } finally {
      conn.close();
    }
  },

  async delete(_id, props) {
    await restore(props, `PersonaAttachment ${String(props.endpoint)}`);
  },
};
