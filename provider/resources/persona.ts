// The Persona resource: a validated, normalised persona definition. No host I/O: it is the reviewed
// declaration that PersonaAttachment and Migration apply.
import { createHash } from "node:crypto";

import type * as pulumi from "@pulumi/pulumi";

import { QOS_CLASSES, type Persona } from "../persona/schema";
import { receivedOf } from "../persona/messages";
import { UNKNOWN, containsUnknown, validatePersona, type Failure } from "../persona/validate";
import { PACKAGE_VERSION, VERSION_KEY, fieldDiff, userInputs } from "./common";

export const PERSONA_FIELDS = ["congestionControl", "mtu", "mtuScope", "qos", "dns", "routes"] as const;

/** What the kernel of a host will carry for this persona, one line per field, for previews and reviews. */
export function describePersona(p: Persona): string[] {
  const lines: string[] = [];
  if (p.congestionControl) lines.push(`congestion control ${p.congestionControl} on the covered routes`);
  if (p.mtu !== undefined)
    lines.push(
      `MTU ${p.mtu} (${p.mtuScope === "route" ? "per-route mtu lock" : p.mtuScope === "link" ? "link MTU" : "link MTU and per-route mtu lock"})`,
    );
  if (p.qos) {
    const q = QOS_CLASSES[p.qos.class];
    lines.push(
      `QoS ${p.qos.class}: DSCP ${q.name.toUpperCase()} (${q.dscp})${p.qos.htbPriority !== undefined ? `, htb priority ${p.qos.htbPriority}` : ""}`,
    );
  }
  if (p.dns)
    lines.push(
      `DNS ${p.dns.servers.join(", ")}${p.dns.search.length ? ` search ${p.dns.search.join(" ")}` : ""}`,
    );
  if (p.routes) {
    const r = p.routes;
    const via = [
      r.preferredGateway && `via ${r.preferredGateway}`,
      r.preferredDevice && `dev ${r.preferredDevice}`,
      r.metric !== undefined && `metric ${r.metric}`,
    ].filter(Boolean);
    if (via.length) lines.push(`default route ${via.join(" ")}`);
    for (const h of r.prefixes)
      lines.push(
        `route ${h.prefix}${h.via ? ` via ${h.via}` : ""}${h.dev ? ` dev ${h.dev}` : ""}${h.metric !== undefined ? ` metric ${h.metric}` : ""}`,
      );
  }
  return lines;
}

function personaOf(inputs: Record<string, unknown>): Record<string, unknown> {
  const fields = userInputs(inputs);
  delete fields.personaName;
  return fields;
}

function outputsFor(inputs: Record<string, unknown>, persona: Persona): Record<string, unknown> {
  return {
    ...persona,
    personaName: typeof inputs.personaName === "string" ? inputs.personaName : null,
    [VERSION_KEY]: PACKAGE_VERSION,
    definition: persona,
    summary: describePersona(persona),
    dscp: persona.qos ? QOS_CLASSES[persona.qos.class].dscp : null,
    fingerprint: createHash("sha256").update(JSON.stringify(persona)).digest("hex").slice(0, 16),
  };
}

/** A display name for reviews and reports: short, so it cannot swell the state (a 2 MB name passed once). */
const PERSONA_NAME_MAX = 128;

export const personaProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const raw = personaOf(news);
    const name = news.personaName;
    const failures: Failure[] = [];
    if (name !== undefined && name !== null && typeof name !== "string" && name !== UNKNOWN) {
      failures.push({
        property: "personaName",
        reason: `must be a string, not ${receivedOf(name)}: give a display name such as "web", or leave it out`,
      });
    } else if (typeof name === "string" && name.length > PERSONA_NAME_MAX) {
      failures.push({
        property: "personaName",
        reason: `must be at most ${PERSONA_NAME_MAX} characters, not ${name.length}: a short display name such as "web"`,
      });
    }
    const v = validatePersona(raw);
    if (!v.ok) failures.push(...v.failures);
    if (failures.length > 0) return { inputs: news, failures };
    if (!v.ok || containsUnknown(raw)) return { inputs: news };
    return {
      inputs: {
        ...v.value,
        // Absent stays absent: undefined cannot reach the engine, and null means "no name" too.
        ...(typeof name === "string" && { personaName: name }),
        [VERSION_KEY]: news[VERSION_KEY] ?? PACKAGE_VERSION,
      },
    };
  },

  async diff(_id, olds, news) {
    return fieldDiff(olds, news, [...PERSONA_FIELDS, "personaName"]);
  },

  async create(inputs) {
    const v = validatePersona(personaOf(inputs));
    if (!v.ok) throw new Error(v.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    const outs = outputsFor(inputs, v.value);
    return { id: `persona-${outs.fingerprint as string}`, outs };
  },

  async read(id, props) {
    // Pure resource: nothing lives outside the state. Re-derive to upgrade state written by older versions.
    const v = validatePersona(personaOf(props.definition ?? props));
    const outs = v.ok ? outputsFor(props, v.value) : props;
    if (!v.ok) return { id, props: outs };
    return {
      id,
      props: outs,
      inputs: {
        ...v.value,
        ...(typeof props.personaName === "string" && { personaName: props.personaName }),
        [VERSION_KEY]: PACKAGE_VERSION,
      },
    };
  },

  async update(_id, _olds, news) {
    const v = validatePersona(personaOf(news));
    if (!v.ok) throw new Error(v.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    return { outs: outputsFor(news, v.value) };
  },

  async delete() {
    // Nothing outside the state to remove.
  },
};
