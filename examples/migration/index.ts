// A node moves from h1 (source network) to h2 (destination network). Its persona is attached on the
// source; the Migration creates the shadow persona on h2 before any data moves, tunes it from live
// measurements towards the node's peer and from h1's feedback, blends it in, and is ready only once the
// blend has converged. Anything that must wait for the network to be ready depends on the Migration.
import * as pulumi from "@pulumi/pulumi";
import {
  Agent,
  Migration,
  Persona,
  PersonaAttachment,
  StackCa,
  labAgentArgs,
  labInventory,
} from "pulumi-netpersona";

const config = new pulumi.Config();
const inv = labInventory(config.require("lab"));
const source = inv.hosts.find((h) => h.network === "source")!;
const destination = inv.hosts.find((h) => h.network === "destination")!;
const intervalMs = config.getNumber("intervalMs") ?? 500;
const stepDwellMs = config.getNumber("stepDwellMs") ?? intervalMs * 4;

const ca = new StackCa("ca");
const sourceAgent = new Agent("source", { ...labAgentArgs(inv, source), ca });
const destinationAgent = new Agent("destination", { ...labAgentArgs(inv, destination), ca });

// What the node runs with today, on the source.
const persona = new Persona("app", {
  personaName: "app",
  congestionControl: "cubic",
  mtu: 1500,
  qos: { class: "standard" },
});
const onSource = new PersonaAttachment("source", { agent: sourceAgent, persona });

export const migration = new Migration(
  "app",
  {
    source: sourceAgent,
    destination: destinationAgent,
    peer: source.address, // the node's peers stay on the source network
    policy: {
      probeIntervalMs: intervalMs,
      detectionWindowMs: intervalMs * 4,
      dwell: { enterIntervals: 2, exitIntervals: 4, minChangeGapMs: intervalMs * 4 },
      thresholds: { latencyHighMs: { enter: 50, exit: 30 }, lossMediumPct: { enter: 3, exit: 1 } },
      schedule: { steps: [0.25, 0.5, 0.75, 1], stepDwellMs },
      convergence: { quietIntervals: 4 },
      // Gates (defaults: RTT p90 < 250 ms, loss < 5 %) pause the blend while they fail; this many failures
      // at one step roll the destination back.
      failureLimit: 12,
      maxDurationMs: config.getNumber("maxDurationMs") ?? 240_000,
    },
  },
  { dependsOn: [onSource] },
);

export const converged = migration.converged;
export const finalPersona = migration.finalPersona;
export const convergenceSeconds = migration.convergenceSeconds;
export const history = migration.history;
export const metricSummary = migration.metricSummary;
