// A repository that keeps its network personas in code review: personas/*.yaml holds the personas,
// hosts.yaml says which host gets which one. CI runs `pulumi preview` on pull requests (the plan is
// published on the pull request) and `pulumi up` when the change lands on main
// (.github/workflows/netpersona.yml). `make ci-example` in the netpersona repository runs the same commands
// against a lab.
import { readFileSync } from "node:fs";

import * as pulumi from "@pulumi/pulumi";
import { Agent, Persona, PersonaAttachment, StackCa, loadPersonas } from "pulumi-netpersona";
import { parse } from "yaml";

interface HostEntry {
  name: string;
  persona: string;
  host: string;
  port?: number;
  user?: string;
  hostKey: string;
  /** Only where hosts share a file system (a lab): per-host folders and resolv.conf. */
  installDir?: string;
  stateDir?: string;
  resolvConfPath?: string;
}

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");
const hostsFile = config.get("hostsFile") ?? "hosts.yaml";
const hosts = parse(readFileSync(hostsFile, "utf8")) as HostEntry[];

const definitions = loadPersonas("personas");
const personas = new Map(Object.entries(definitions).map(([name, def]) => [name, new Persona(name, def)]));

const ca = new StackCa("ca");
const attachments = hosts.map((h) => {
  const persona = personas.get(h.persona);
  if (!persona) {
    throw new Error(
      `${hostsFile}: host '${h.name}' asks for persona '${h.persona}', which personas/ does not define (defined: ${[...personas.keys()].join(", ")})`,
    );
  }
  const agent = new Agent(h.name, {
    ca,
    connection: { host: h.host, port: h.port, user: h.user, privateKey, hostKey: h.hostKey },
    installDir: h.installDir,
    stateDir: h.stateDir,
    resolvConfPath: h.resolvConfPath,
  });
  return new PersonaAttachment(h.name, { agent, persona });
});

export const summaries = Object.fromEntries([...personas].map(([name, p]) => [name, p.summary]));
export const live = Object.fromEntries(hosts.map((h, i) => [h.name, attachments[i].live]));
