// The contract between the agent daemon (gRPC side) and the host controller (kernel side).
// The daemon never touches the kernel itself; the host controller never speaks gRPC.
// Words (nmstate's): *desired* is what a persona asks for; *current* is what the kernel has now; *merged* is
// desired applied over current (what the kernel will have); *committed* is what the agent last confirmed.
import type { Persona } from "../../persona/schema";

/** The current persona: what the kernel has now, for the fields a persona can manage, in the persona's own
 *  normalised shape. */
export type CurrentPersona = Persona;

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
  /** The current persona, read back from the kernel after applying (the wire's `live`). */
  live: CurrentPersona;
}

/** An opaque, JSON-serialisable capture of every piece of kernel state a persona can touch. */
export type HostSnapshot = Record<string, unknown>;

export interface HostController {
  /** Captures the state a persona can touch (routes, link MTUs, the agent's nft table, tc, resolv.conf). */
  snapshot(): Promise<HostSnapshot>;
  /** Reads the current persona back from the kernel. */
  readCurrent(): Promise<CurrentPersona>;
  /** What `apply(desired)` would change, without changing anything. */
  plan(desired: Persona): Promise<PlanStep[]>;
  /** Applies the fields the desired persona sets, verifies by reading back, throws a VerifyError on mismatch. */
  apply(desired: Persona): Promise<ApplyOutcome>;
  /** Puts the host back exactly as in `snap`. */
  restore(snap: HostSnapshot): Promise<void>;
}
