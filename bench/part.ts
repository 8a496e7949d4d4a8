// What every benchmark part receives from bench/run.ts.
import type { PartResult } from "./stats";

export interface PartOptions {
  /** Tiny sizes (N = 2 hosts, 1 repeat, short flows) for the smoke test. */
  smoke: boolean;
  repeat: number;
  log: (line: string) => void;
  /** Results of the parts that ran before (the footprint part reads the fleet's provider memory). */
  earlier: Record<string, PartResult>;
  /** Length of the soak (--soak-minutes); the smoke run's soak is about a minute whatever this says. */
  soakMinutes?: number;
}
