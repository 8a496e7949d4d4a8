// Persona files: YAML or JSON definitions kept in a repository for review, loaded with `loadPersonas(dir)`.
// A file maps persona names to definitions:
//
//   # personas/web.yaml
//   web:
//     congestionControl: bbr
//     mtu: 1400
//
// Errors name the file, the line and column, the field and the fix, and every problem of every file is
// reported at once.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

import { LineCounter, parseDocument, isMap, isScalar, type Document } from "yaml";

import type { Persona } from "./schema";
import { validatePersona } from "./validate";

export const PERSONA_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
const EXTENSIONS = /\.(ya?ml|json)$/;

export class PersonaFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid persona files:\n  ${problems.join("\n  ")}`);
    this.name = "PersonaFileError";
  }
}

function pos(lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${line}:${col}`;
}

/** line:col of the node at `path`, or of its nearest ancestor that exists. */
function position(doc: Document, lines: LineCounter, path: (string | number)[]): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return pos(lines, node.range[0]);
  }
  return "1:1";
}

/** Reads every *.yaml, *.yml and *.json file of `dir` (sorted by name) into validated, normalised personas. */
export function loadPersonas(dir: string): Record<string, Persona> {
  const files = readdirSync(dir)
    .filter((f) => EXTENSIONS.test(f))
    .sort();
  const personas: Record<string, Persona> = {};
  const origin: Record<string, string> = {};
  const problems: string[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const rel = relative(process.cwd(), path);
    const shown = rel.startsWith("..") ? path : rel;
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(path, "utf8"), { lineCounter: lines, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        problems.push(`${shown}:${pos(lines, e.pos[0])}: ${e.message.split("\n")[0].replace(/:$/, "")}`);
      }
      continue;
    }
    if (!isMap(doc.contents)) {
      problems.push(
        `${shown}:1:1: expected a mapping of persona names to definitions, e.g. "web: {mtu: 1400}"`,
      );
      continue;
    }
    const data = doc.toJS() as Record<string, unknown>;
    for (const pair of doc.contents.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      const at = isScalar(pair.key) && pair.key.range ? pos(lines, pair.key.range[0]) : "1:1";
      if (!PERSONA_NAME_RE.test(name)) {
        problems.push(
          `${shown}:${at}: persona name '${name}' is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter`,
        );
        continue;
      }
      if (origin[name]) {
        problems.push(`${shown}:${at}: persona '${name}' is already defined in ${origin[name]}: rename one`);
        continue;
      }
      origin[name] = shown;
      const v = validatePersona(data[name] ?? {});
      if (v.ok) {
        personas[name] = v.value;
        continue;
      }
      for (const f of v.failures) {
        const segs =
          f.property === "(root)"
            ? []
            : f.property
                .split(/\.|\[(\d+)\]/)
                .filter(Boolean)
                .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
        const field = f.property === "(root)" ? name : `${name}.${f.property}`;
        problems.push(`${shown}:${position(doc, lines, [name, ...segs])}: ${field}: ${f.reason}`);
      }
    }
  }
  if (problems.length > 0) throw new PersonaFileError(problems);
  return personas;
}
