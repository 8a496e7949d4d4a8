// The persona service of the agent: plan, apply through safe apply (journal.ts keeps the applies in flight),
// confirm, roll back and restore; probes.ts says what is checked before an apply is committed.
export { ApplyJournal } from "./journal";
export { callerOf, type SafeApplyConfig } from "./probes";
export { PersonaService, type ApplyResult } from "./service";
