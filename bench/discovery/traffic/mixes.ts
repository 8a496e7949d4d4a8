// Labelled traffic mixes. TUNING is the only mix the classifier's thresholds were looked at against;
// EVAL differs in every knob (ports, rates, sizes, periods, seeds, which host serves) and is what the
// evaluation script and the test score.
export interface Placement {
  /** Lab host names, e.g. h1. Discovery samples one of them (the observed host). */
  server: string;
  client: string;
}

export interface MixSpec {
  name: string;
  seed: number;
  bulk: ({ port: number; mbit: number; reverse?: boolean } & Placement)[];
  database: ({ port: number; clients: number; tps: number; selectOnly: boolean } & Placement)[];
  web: ({
    port: number;
    gap: [number, number];
    objects: [number, number];
    kb: [number, number];
    parallel: number;
  } & Placement)[];
  video: ({ port: number; kb: number; period: number } & Placement)[];
  interactive: ({ cps: number } & Placement)[];
}

export const TUNING: MixSpec = {
  name: "tuning",
  seed: 1,
  bulk: [{ port: 5201, mbit: 40, server: "h2", client: "h1" }],
  database: [{ port: 5432, clients: 2, tps: 60, selectOnly: false, server: "h2", client: "h1" }],
  web: [{ port: 8080, gap: [1, 5], objects: [3, 12], kb: [2, 300], parallel: 3, server: "h2", client: "h1" }],
  video: [{ port: 8081, kb: 1024, period: 2, server: "h2", client: "h1" }],
  interactive: [{ cps: 8, server: "h2", client: "h1" }],
};

export const EVAL: MixSpec = {
  name: "eval",
  seed: 7,
  bulk: [
    { port: 15001, mbit: 25, server: "h2", client: "h1" },
    { port: 15002, mbit: 60, reverse: true, server: "h2", client: "h1" },
  ],
  database: [
    { port: 15432, clients: 3, tps: 25, selectOnly: true, server: "h2", client: "h1" },
    { port: 15433, clients: 2, tps: 40, selectOnly: false, server: "h1", client: "h3" },
  ],
  web: [
    { port: 18088, gap: [0.8, 4], objects: [4, 20], kb: [1, 500], parallel: 4, server: "h2", client: "h1" },
    { port: 18089, gap: [1.5, 6], objects: [2, 8], kb: [4, 150], parallel: 2, server: "h1", client: "h3" },
  ],
  video: [
    { port: 19090, kb: 1500, period: 3, server: "h2", client: "h1" },
    { port: 19091, kb: 600, period: 1.5, server: "h1", client: "h3" },
  ],
  interactive: [
    { cps: 5, server: "h2", client: "h1" },
    { cps: 11, server: "h1", client: "h3" },
  ],
};

/** Written after the last rule change and scored without any further tuning: the mix the targets are
 *  claimed on (scripts/eval-discovery.ts's default and test/lab/test-discovery.ts). */
export const HOLDOUT: MixSpec = {
  name: "holdout",
  seed: 4242,
  bulk: [
    { port: 24001, mbit: 12, server: "h1", client: "h3" },
    { port: 24002, mbit: 80, reverse: true, server: "h2", client: "h1" },
  ],
  database: [
    { port: 25544, clients: 2, tps: 14, selectOnly: true, server: "h2", client: "h1" },
    { port: 25545, clients: 4, tps: 90, selectOnly: false, server: "h2", client: "h1" },
  ],
  web: [
    { port: 26080, gap: [0.5, 3], objects: [6, 25], kb: [2, 800], parallel: 6, server: "h2", client: "h1" },
    { port: 26081, gap: [2, 8], objects: [1, 6], kb: [1, 64], parallel: 1, server: "h1", client: "h3" },
  ],
  video: [
    { port: 27070, kb: 2048, period: 4, server: "h2", client: "h1" },
    { port: 27071, kb: 400, period: 1, server: "h1", client: "h3" },
  ],
  interactive: [
    { cps: 3, server: "h2", client: "h1" },
    { cps: 14, server: "h1", client: "h3" },
  ],
};
