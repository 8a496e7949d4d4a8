// How node runs the agent: its V8 flags and its malloc settings, in ONE place for every launcher (the systemd
// unit and the supervisor's start command in install.ts, the benchmarks' agents in bench/agents.ts, the tests'
// agents in test/fixtures). What each buys was measured one by one (docs/bench.md, "Agent memory").

/** Node options before the bundle. --max-semi-space-size=1: the young generation grew to 8 MB of semi-spaces
 *  under the agent's allocation bursts and those pages stayed resident. --lite-mode: no optimizing compiler and
 *  feedback allocated lazily; the agent waits on the network, and its CPU at 10 Hz probing with sessions did not
 *  change measurably (1.9-2.6 % of a core either way), while ~6 MB of node's own code is never paged in. */
export const AGENT_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--lite-mode"];

/** The agent's environment on top of its launcher's. glibc: at most 2 malloc arenas (one per thread otherwise:
 *  the libuv pool and V8's workers each keep their own, freed memory stays resident in each); a fixed trim
 *  threshold (the heap's free top goes back to the system past 128 KiB); and a fixed mmap threshold of 32 KiB:
 *  without one glibc raises it after each large free, so V8's large compile and parse buffers land in the heap and
 *  their memory is kept after use. At 32 KiB (not the default 128) the buffers each session allocates and frees
 *  are mapped and unmapped instead of fragmenting the heap: in accelerated soaks side by side (46 sessions in 8
 *  minutes) the destination's malloc heap grew 0.2 MB instead of 3.0 MB at the same CPU; without it, after ~75
 *  sessions, 4.8 MB of an 18 MB heap was in use and malloc_trim gave 7.9 MB back (docs/bench.md, "7. Soak"). */
export const AGENT_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_TRIM_THRESHOLD_: "131072",
  MALLOC_MMAP_THRESHOLD_: "32768",
};

/** `K=V` words of AGENT_ENV: a systemd `Environment=` line, or `env K=V ... command` for the supervisor. */
export function agentEnvAssignments(): string[] {
  return Object.entries(AGENT_ENV).map(([k, v]) => `${k}=${v}`);
}

/** The agent's environment for a child process started from this one. */
export function agentProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...AGENT_ENV };
}
