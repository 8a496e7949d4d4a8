// Bootstraps the netpersona agent on two lab hosts over SSH (host keys pinned) and attaches one persona
// to both. Run it against a lab: `netpersona lab up --name demo --hosts 2`, then
// `pulumi config set lab demo && pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import { Agent, Persona, PersonaAttachment, StackCa, labAgentArgs, labInventory } from "pulumi-netpersona";

const config = new pulumi.Config();
const inv = labInventory(config.require("lab"));

const ca = new StackCa("ca");

const web = new Persona("web", {
  personaName: "web",
  congestionControl: "bbr",
  mtu: config.getNumber("mtu") ?? 1400,
  qos: { class: "low-latency-data" },
  dns: { servers: inv.dnsResponders.map((r) => r.address).slice(0, 3), options: ["timeout:1"] },
});

const attachments = inv.hosts.slice(0, 2).map((host) => {
  const agent = new Agent(host.name, { ...labAgentArgs(inv, host), ca });
  return new PersonaAttachment(host.name, { agent, persona: web });
});

export const summary = web.summary;
export const live = attachments.map((a) => a.live);
export const hostnames = attachments.map((a) => a.agentHostname);
