// The contract between the agent daemon (gRPC side) and the host controller (kernel side).
// The daemon never touches the kernel itself; the host controller never speaks gRPC.
import type { Persona } from "../../persona/schema";

/** What the kernel has now, for the fields a persona can manage, in the persona's own normalised shape. */
export type LivePersona = Persona;

/** One planned kernel change, for dry runs and for `pulumi preview`-style output. */
export interface PlanStep {
  /** The persona field this step serves: congestionControl | mtu | qos | dns | routes. */
  field: string;
  /** Human-readable: what changes, from what to what. */
  description: string;
  /** The exact argument vector (or file write) that will run; for display only. */
  command: string[];
}

export interface ApplyOutcome {
  /** False when the kernel already matched: nothing ran. */
  changed: boolean;
  steps: PlanStep[];
  /** The live persona read back from the kernel after applying. */
  live: LivePersona;
}

/** An opaque, JSON-serialisable capture of every piece of kernel state a persona can touch. */
export type HostSnapshot = Record<string, unknown>;

export interface HostController {
  /** Captures the state a persona can touch (routes, link MTUs, the agent's nft table, tc, resolv.conf). */
  snapshot(): Promise<HostSnapshot>;
  /** Reads the live persona back from the kernel. */
  readLive(): Promise<LivePersona>;
  /** What `apply(persona)` would change, without changing anything. */
  plan(persona: Persona): Promise<PlanStep[]>;
  /** Applies the fields the persona sets, verifies by reading back, throws a VerifyError on mismatch. */
  apply(persona: Persona): Promise<ApplyOutcome>;
  /** Puts the host back exactly as in `snap`. */
  restore(snap: HostSnapshot): Promise<void>;
}
