// The host side of the agent, for the daemon and tools: the host controller and the contract it implements.
export {
  createHostController,
  type HostControllerOptions,
  type NetpersonaHostController,
} from "./controller";
export type { ApplyOutcome, HostController, HostSnapshot, CurrentPersona, PlanStep } from "./api";
