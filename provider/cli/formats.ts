// `netpersona export` and `netpersona import`: a persona in the formats of NetworkManager (nmstate), netplan
// and systemd-networkd, and back (or from the live kernel through an agent), for hosts those tools manage.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Command } from "commander";
import { parse as parseYaml } from "yaml";

import {
  exportPersona,
  FORMATS,
  importPersona,
  IMPORT_FORMATS,
  type Format,
  type ImportFormat,
} from "../formats";
import { validatePersona } from "../persona/validate";
import type { Persona } from "../persona/schema";

async function readText(flag: string, path: string): Promise<string> {
  return readFile(path, "utf8").catch((err: Error) => {
    throw new Error(`${flag}: cannot read ${path}: ${err.message}`, { cause: err });
  });
}

/** A persona definition file (JSON or YAML), validated. */
export async function readPersonaFile(path: string): Promise<Persona> {
  const v = validatePersona(parseYaml(await readText("--persona", path)));
  if (!v.ok)
    throw new Error(`--persona ${path}: ${v.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  return v.value;
}

/** The persona as the JSON a Persona resource takes (mtuScope left out when it is the default). */
export function personaJson(p: Persona): string {
  const { mtuScope, ...rest } = p;
  const shown = mtuScope === "route" && p.mtu === undefined ? rest : p;
  if (shown.routes && shown.routes.prefixes.length === 0) {
    const { prefixes: _p, ...r } = shown.routes;
    return JSON.stringify({ ...shown, routes: r }, null, 2);
  }
  return JSON.stringify(shown, null, 2);
}

export function registerFormats(program: Command): void {
  program
    .command("export")
    .description(
      "render a persona for hosts managed by NetworkManager (nmstate), netplan or systemd-networkd",
    )
    .requiredOption("--format <format>", `one of ${FORMATS.join(", ")}`)
    .requiredOption(
      "--persona <file>",
      "the persona definition (JSON or YAML, the Persona resource's fields)",
    )
    .option("--interface <name>", "the interface its routes and DNS go on (default: routes.preferredDevice)")
    .option("--out <dir>", "write the files there instead of printing them")
    .action(async (o: { format: string; persona: string; interface?: string; out?: string }) => {
      if (!(FORMATS as readonly string[]).includes(o.format))
        throw new Error(`--format: '${o.format}' is not one of ${FORMATS.join(", ")}`);
      const p = await readPersonaFile(o.persona);
      const iface = o.interface ?? p.routes?.preferredDevice;
      if (!iface)
        throw new Error(
          "--interface: the persona names no routes.preferredDevice: say which interface it is for",
        );
      const e = exportPersona(p, o.format as Format, iface);
      for (const n of e.notes) process.stderr.write(`not expressed in ${e.format}: ${n}\n`);
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        for (const f of e.files) {
          await writeFile(join(o.out, f.name), f.text, { mode: 0o600 });
          process.stdout.write(`wrote ${join(o.out, f.name)}\n`);
        }
        return;
      }
      const many = e.files.length > 1;
      process.stdout.write(e.files.map((f) => (many ? `# --- ${f.name}\n${f.text}` : f.text)).join("\n"));
    });

  program
    .command("import")
    .description(
      "print the persona an nmstate state or netplan file corresponds to, or a host's live persona",
    )
    .argument("[file]", "the nmstate (YAML/JSON) or netplan file")
    .option("--format <format>", `${IMPORT_FORMATS.join(" or ")} (for a file)`)
    .option(
      "--agent <host:port>",
      "read the live kernel through this agent instead (with --ca, --cert, --key)",
    )
    .option("--ca <file>", "the stack CA certificate")
    .option("--cert <file>", "a provider certificate (only the provider may read a host's persona)")
    .option("--key <file>", "its key")
    .action(
      async (
        file: string | undefined,
        o: { format?: string; agent?: string; ca?: string; cert?: string; key?: string },
      ) => {
        if (o.agent) {
          if (file) throw new Error("import: give a file or --agent, not both");
          if (!o.ca || !o.cert || !o.key) throw new Error("--agent needs --ca, --cert and --key");
          const { connectAgent } = await import("../agent/rpc/client");
          const { personaFromWire } = await import("../proto/persona");
          const conn = connectAgent({
            endpoint: o.agent,
            caPem: await readText("--ca", o.ca),
            certPem: await readText("--cert", o.cert),
            keyPem: await readText("--key", o.key),
            deadlineMs: 15_000,
          });
          try {
            const live = personaFromWire((await conn.getPersona()).live, "live");
            if (!live.ok)
              throw new Error(`the agent's live persona does not validate: ${JSON.stringify(live.failures)}`);
            process.stdout.write(`${personaJson(live.value)}\n`);
          } finally {
            conn.close();
          }
          return;
        }
        if (!file) throw new Error("import: give the file to read, or --agent HOST:PORT");
        if (!o.format || !(IMPORT_FORMATS as readonly string[]).includes(o.format))
          throw new Error(`--format: give ${IMPORT_FORMATS.join(" or ")}`);
        const r = importPersona(await readText("file", file), o.format as ImportFormat);
        for (const n of r.notes) process.stderr.write(`not in the persona: ${n}\n`);
        process.stdout.write(`${personaJson(r.persona)}\n`);
      },
    );
}
