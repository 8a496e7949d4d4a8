// A pull-request review of a `pulumi preview --json`: per host, the persona's fields before → after, the
// agent's kernel plan (one line per change it would make) and the risks a reviewer should weigh.
// Pure: JSON in, Markdown out. `netpersona review` is its command.

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const META = new Set(["__provider", "netpersonaVersion"]);
/** The persona's own fields, in the order a reader expects them. */
const PERSONA_FIELDS = ["congestionControl", "mtu", "mtuScope", "qos", "dns", "routes"] as const;

interface State {
  type?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: State;
  newState?: State;
  diffReasons?: string[];
  replaceReasons?: string[];
}

export interface PreviewDocument {
  steps: PreviewStep[];
  changeSummary?: Record<string, number>;
  diagnostics?: Array<{ message?: string; severity?: string; urn?: string }>;
}

/** One persona field's change: a dotted path and its values (undefined = not set). */
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface HostReview {
  /** The resource's name and kind, e.g. "PersonaAttachment h1". */
  resource: string;
  op: string;
  endpoint?: string;
  changes: FieldChange[];
  /** The agent's kernel plan; undefined when the preview carries none. */
  plan?: string[];
  /** Why there is no kernel plan (the agent could not be asked). */
  planNote?: string;
  risks: string[];
}

const kindOf = (urn: string) => urn.split("::")[2]?.split(":").pop() ?? "";
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

function isUnknown(v: unknown): boolean {
  return v === UNKNOWN || (typeof v === "string" && v.includes(UNKNOWN));
}

/** A value as a reviewer reads it: compact JSON, "(not set)", or "(known after the upstream update)". */
export function show(v: unknown): string {
  if (v === undefined || v === null) return "(not set)";
  if (isUnknown(v)) return "(known after the upstream update)";
  return typeof v === "string" ? v : JSON.stringify(v, (_k, x) => (isUnknown(x) ? "(unknown)" : x));
}

/** Flattens a persona into dotted fields: qos.class, dns.servers, routes.prefixes (lists stay whole). */
function flatten(persona: Record<string, unknown> | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!persona) return out;
  for (const key of PERSONA_FIELDS) {
    const v = persona[key];
    if (v && typeof v === "object" && !Array.isArray(v) && !isUnknown(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (!(Array.isArray(x) && x.length === 0)) out.set(`${key}.${k}`, x);
      }
    } else if (v !== undefined) {
      out.set(key, v);
    }
  }
  return out;
}

export function personaChanges(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): FieldChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const fields = [...new Set([...a.keys(), ...b.keys()])];
  const order = (f: string) => PERSONA_FIELDS.indexOf(f.split(".")[0] as (typeof PERSONA_FIELDS)[number]);
  return fields
    .filter((f) => JSON.stringify(a.get(f)) !== JSON.stringify(b.get(f)))
    .sort((x, y) => order(x) - order(y) || x.localeCompare(y))
    .map((field) => ({ field, before: a.get(field), after: b.get(field) }));
}

/** The risks of a persona change on a host, each with what it means there. */
export function personaRisks(host: string, changes: readonly FieldChange[]): string[] {
  const risks: string[] = [];
  const by = new Map(changes.map((c) => [c.field, c]));
  const mtu = by.get("mtu");
  if (mtu && typeof mtu.after === "number" && typeof mtu.before === "number" && mtu.after < mtu.before) {
    risks.push(
      `${host}: MTU lowered to ${mtu.after} (from ${mtu.before}): larger packets on the covered routes are fragmented or refused; check the path MTU`,
    );
  }
  for (const f of ["routes.preferredGateway", "routes.preferredDevice"]) {
    const c = by.get(f);
    if (c && !isUnknown(c.after)) {
      risks.push(
        `${host}: egress changes (${f.split(".")[1]} ${show(c.before)} → ${show(c.after)}): the default route moves; existing connections take the new path`,
      );
    }
  }
  const dns = by.get("dns.servers");
  if (dns && Array.isArray(dns.after)) {
    const first = (v: unknown) => (Array.isArray(v) ? v[0] : undefined);
    risks.push(
      first(dns.before) !== first(dns.after)
        ? `${host}: DNS order changes: ${show(first(dns.after))} is asked first (was ${show(first(dns.before))})`
        : `${host}: DNS servers change (${show(dns.before)} → ${show(dns.after)})`,
    );
  }
  const cc = by.get("congestionControl");
  if (cc && cc.before !== undefined && !isUnknown(cc.after)) {
    risks.push(
      `${host}: congestion control ${show(cc.before)} → ${show(cc.after)} on the covered routes: new connections only; running transfers keep theirs`,
    );
  }
  return risks;
}

function attachmentReview(step: PreviewStep): HostReview {
  const name = nameOf(step.urn);
  const oldIn = step.oldState?.outputs ?? step.oldState?.inputs;
  const newIn = step.newState?.inputs;
  const endpoint = (newIn?.endpoint ?? oldIn?.endpoint) as string | undefined;
  const host = `${name}${endpoint && !isUnknown(endpoint) ? ` (${endpoint})` : ""}`;
  const before = oldIn?.persona as Record<string, unknown> | undefined;
  const after = step.op === "delete" ? undefined : (newIn?.persona as Record<string, unknown> | undefined);
  const changes = personaChanges(before, after);
  const planned = step.op === "delete" ? undefined : newIn?.plan;
  const note = step.op === "delete" ? undefined : newIn?.planNote;
  const risks = personaRisks(host, changes);
  if (step.op === "replace" || step.op === "create-replacement") {
    risks.unshift(
      `${host}: the attachment is REPLACED: the host is restored to its pre-persona snapshot, then the persona is applied again`,
    );
  }
  if (step.op === "delete") {
    risks.unshift(`${host}: the persona is removed: the host is restored to its pre-persona snapshot`);
  }
  return {
    resource: `${kindOf(step.urn)} ${name}`,
    op: step.op,
    endpoint: endpoint && !isUnknown(endpoint) ? endpoint : undefined,
    changes,
    plan: Array.isArray(planned) && !note ? planned.map(String) : undefined,
    planNote: typeof note === "string" ? note : undefined,
    risks,
  };
}

/** The host reviews of a preview: every PersonaAttachment and Migration step that changes something. */
export function hostReviews(doc: PreviewDocument): HostReview[] {
  return doc.steps
    .filter((s) => ["PersonaAttachment", "Migration"].includes(kindOf(s.urn)))
    .filter((s) => s.op !== "same" || hasPlan(s))
    .map(attachmentReview)
    .sort((a, b) => a.resource.localeCompare(b.resource));
}

function hasPlan(s: PreviewStep): boolean {
  const plan = s.newState?.inputs?.plan;
  return Array.isArray(plan) && plan.length > 0;
}

function table(changes: readonly FieldChange[]): string[] {
  if (changes.length === 0) return [];
  const cell = (v: unknown) => `\`${show(v).replace(/\|/g, "\\|")}\``;
  return [
    "| field | before | after |",
    "| --- | --- | --- |",
    ...changes.map((c) => `| ${c.field} | ${cell(c.before)} | ${cell(c.after)} |`),
  ];
}

/** The whole review, as Markdown for a pull request comment. */
export function renderReview(doc: PreviewDocument): string {
  const steps = doc.steps;
  const changed = steps.filter((s) => s.op !== "same");
  const hosts = hostReviews(doc);
  const lines: string[] = ["## netpersona: planned network changes", ""];
  const counts = Object.entries(doc.changeSummary ?? {})
    .filter(([op, n]) => op !== "same" && n > 0)
    .map(([op, n]) => `${n} to ${op}`);
  lines.push(counts.length > 0 ? `Resources: ${counts.join(", ")}.` : "No resource changes.", "");

  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === "error");
  if (errors.length > 0) {
    lines.push("### Errors: this plan cannot be applied", "");
    for (const e of errors) lines.push(`- ${(e.message ?? "").trim().split("\n").join(" ")}`);
    lines.push("");
  }

  const risks = hosts.flatMap((h) => h.risks);
  for (const s of changed.filter(
    (x) => kindOf(x.urn) === "Agent" && x.op !== "update" && x.op !== "create",
  )) {
    risks.push(
      `Agent ${nameOf(s.urn)}: ${s.op}: the agent is ${s.op === "delete" ? "stopped and removed" : "reinstalled"}`,
    );
  }
  lines.push("### Risks", "");
  lines.push(...(risks.length > 0 ? risks.map((r) => `- ${r}`) : ["- none found"]), "");

  lines.push("### Hosts", "");
  if (hosts.length === 0) lines.push("No host's network changes.", "");
  for (const h of hosts) {
    lines.push(`#### ${h.resource}${h.endpoint ? ` (${h.endpoint})` : ""}: ${h.op}`, "");
    const t = table(h.changes);
    if (t.length > 0) lines.push(...t, "");
    if (h.planNote) {
      lines.push(`Kernel plan: ${h.planNote}.`, "");
    } else if (h.op === "delete") {
      lines.push("Kernel plan: the host's pre-persona snapshot is restored.", "");
    } else if (h.plan === undefined) {
      lines.push("Kernel plan: not in this preview (made by an agent of this package version or newer).", "");
    } else if (h.plan.length === 0) {
      lines.push("Kernel plan: the host already matches; nothing changes on it.", "");
    } else {
      lines.push("Kernel plan:", "", "```", ...h.plan, "```", "");
    }
  }

  const personas = changed.filter((s) => kindOf(s.urn) === "Persona");
  if (personas.length > 0) {
    lines.push("### Personas", "");
    for (const s of personas) {
      const before = s.op === "create" ? undefined : (s.oldState?.outputs ?? s.oldState?.inputs);
      const after = s.op === "delete" ? undefined : s.newState?.inputs;
      lines.push(`#### Persona ${nameOf(s.urn)}: ${s.op}`, "", ...table(personaChanges(before, after)), "");
    }
  }

  const others = changed.filter(
    (s) => !["Persona", "PersonaAttachment", "Migration"].includes(kindOf(s.urn)),
  );
  if (others.some((s) => kindOf(s.urn) !== "Stack")) {
    lines.push("### Other resources", "");
    for (const s of others.filter((x) => kindOf(x.urn) !== "Stack")) {
      const keys = (s.diffReasons ?? []).filter((k) => !META.has(k));
      lines.push(
        `- ${kindOf(s.urn)} ${nameOf(s.urn)}: ${s.op}${keys.length > 0 ? ` (${keys.join(", ")})` : ""}`,
      );
    }
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
