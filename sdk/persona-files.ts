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
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

import { RunError } from "@pulumi/pulumi/errors";
import { LineCounter, parseDocument, isMap, isScalar, type Document } from "yaml";

import type { Persona } from "../provider/persona/schema";
import { FORBIDDEN_KEYS, validatePersona } from "../provider/persona/validate";

export const PERSONA_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
const EXTENSIONS = /\.(ya?ml|json)$/;

/**
 * Every problem of every persona file, one per line, ordered by file, line and column. A RunError, so that a
 * Pulumi program that throws it prints the message once, as plain text, without a stack trace (the Node.js
 * language host prints other errors with util.inspect: stack, colour codes). Its stack is its message, so
 * other runtimes print nothing more either.
 */
export class PersonaFileError extends RunError {
  constructor(
    readonly problems: string[],
    message = `invalid persona files:\n  ${problems.join("\n  ")}`,
  ) {
    super(message);
    this.name = "PersonaFileError";
    this.stack = this.message;
  }
}

interface Problem {
  file: string;
  line: number;
  col: number;
  text: string;
}

function pos(lines: LineCounter, offset: number): { line: number; col: number } {
  return lines.linePos(offset);
}

const START = { line: 1, col: 1 };

/** line:col of the node at `path`, or of its nearest ancestor that exists. */
function position(
  doc: Document,
  lines: LineCounter,
  path: (string | number)[],
): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) return pos(lines, node.range[0]);
  }
  return START;
}

function folderError(text: string): PersonaFileError {
  return new PersonaFileError([text], text);
}

/** The entries of `dir`, or a PersonaFileError that says which folder and what to do. */
function listFolder(dir: string): string[] {
  const where = resolve(dir) === dir ? dir : `${dir} (${resolve(dir)})`;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw folderError(
      `persona folder ${where} does not exist: create it with one *.yaml, *.yml or *.json file per group of personas, or pass loadPersonas the right path (relative paths start at the working directory, ${process.cwd()})`,
    );
  }
  if (!isDir)
    throw folderError(
      `persona folder ${where} is not a folder: pass loadPersonas the folder that holds the persona files`,
    );
  const files = readdirSync(dir).filter((f) => EXTENSIONS.test(f));
  if (files.length === 0)
    throw folderError(
      `persona folder ${where} has no *.yaml, *.yml or *.json files: add one, e.g. web.yaml with "web: {mtu: 1400}"`,
    );
  return files;
}

/** Reads every *.yaml, *.yml and *.json file of `dir` (sorted by name) into validated, normalised personas. */
export function loadPersonas(dir: string): Record<string, Persona> {
  const files = listFolder(dir).sort();
  const personas: Record<string, Persona> = {};
  const origin = new Map<string, string>();
  const found: Problem[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const rel = relative(process.cwd(), path);
    const shown = rel.startsWith("..") ? path : rel;
    const lines = new LineCounter();
    const problem = (at: { line: number; col: number }, text: string) =>
      found.push({ file: shown, line: at.line, col: at.col, text });
    const doc = parseDocument(readFileSync(path, "utf8"), { lineCounter: lines, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        problem(pos(lines, e.pos[0]), e.message.split("\n")[0].replace(/:$/, ""));
      }
      continue;
    }
    if (!isMap(doc.contents)) {
      problem(START, `expected a mapping of persona names to definitions, e.g. "web: {mtu: 1400}"`);
      continue;
    }
    const data = doc.toJS() as Record<string, unknown>;
    for (const pair of doc.contents.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      const at = isScalar(pair.key) && pair.key.range ? pos(lines, pair.key.range[0]) : START;
      if (!PERSONA_NAME_RE.test(name)) {
        problem(
          at,
          `persona name '${name}' is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter`,
        );
        continue;
      }
      if ((FORBIDDEN_KEYS as readonly string[]).includes(name)) {
        problem(at, `persona name '${name}' is not allowed (a reserved JavaScript name): choose another`);
        continue;
      }
      if (origin.has(name)) {
        problem(at, `persona '${name}' is already defined in ${origin.get(name)}: rename one`);
        continue;
      }
      origin.set(name, shown);
      // `web:` with nothing after it is null: refused with the message that says what a persona looks like.
      const v = validatePersona(Object.prototype.hasOwnProperty.call(data, name) ? data[name] : null);
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
        problem(position(doc, lines, [name, ...segs]), `${field}: ${f.reason}`);
      }
    }
  }
  if (found.length > 0) {
    found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
    throw new PersonaFileError(found.map((p) => `${p.file}:${p.line}:${p.col}: ${p.text}`));
  }
  return personas;
}
