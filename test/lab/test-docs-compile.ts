// Every TypeScript block of README.md and docs/*.md compiles against the package as users get it: the packed
// tarball installed into a scratch project outside the repository (TypeScript 6, `module: nodenext`, strict,
// as `pulumi new typescript` would make it), one file per block, one `tsc --noEmit` over all of them. A
// failure names the markdown file and line of each failing block with tsc's message. Every module a block
// imports must also load at run time from that project (plain Node resolution: the package has no "exports").
import * as assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ts from "typescript";

import { run } from "../../provider/util/exec";
import { CLI_ROOT, packedTarball } from "../cli-project";
import { REPO } from "../e2e";

/** A fenced TypeScript block: where it is and what it says. */
export interface DocBlock {
  /** Markdown file relative to the repository. */
  file: string;
  /** 1-based line of the opening fence; the block's first line is fenceLine + 1. */
  fenceLine: number;
  code: string;
}

/** A block as the file tsc compiles: its text and, per line, the block line it came from (0 = added). */
export interface BlockFile {
  name: string;
  text: string;
  lineMap: number[];
}

const DIR = join(CLI_ROOT, "docs-compile");

const PACKAGE_JSON = {
  name: "netpersona-docs-compile",
  private: true,
  devDependencies: { typescript: "6.0.3", "@types/node": "20.19.25" },
  dependencies: { "@pulumi/pulumi": "3.259.0" },
};

// `pulumi new typescript`'s tsconfig, with TypeScript 6's module settings (as in examples/*/tsconfig.json).
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
    sourceMap: true,
    experimentalDecorators: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  include: ["block-*.ts"],
};

/** The markdown files whose blocks must compile. */
export function docFiles(): string[] {
  const docs = readdirSync(join(REPO, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

/** Every ```ts / ```typescript block of a markdown text. */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const closes = (line: string): boolean => {
      const t = line.trim();
      return t.length >= fence.length && t === fence[0].repeat(t.length);
    };
    let end = i + 1;
    while (end < lines.length && !closes(lines[end])) end++;
    if (lang === "ts" || lang === "typescript") {
      const code = lines
        .slice(i + 1, end)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
        .join("\n");
      blocks.push({ file, fenceLine: i + 1, code });
    }
    i = end;
  }
  return blocks;
}

/** True when the block awaits outside any function (TypeScript then needs it wrapped in a CommonJS project). */
export function hasTopLevelAwait(sf: ts.SourceFile): boolean {
  const visit = (node: ts.Node): boolean => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return false;
    if (ts.isAwaitExpression(node)) return true;
    if (ts.isForOfStatement(node) && node.awaitModifier) return true;
    return ts.forEachChild(node, visit) ?? false;
  };
  return sf.statements.some(visit);
}

function isModule(sf: ts.SourceFile): boolean {
  return sf.statements.some(
    (s) =>
      ts.isImportDeclaration(s) ||
      ts.isExportDeclaration(s) ||
      ts.isExportAssignment(s) ||
      (ts.isImportEqualsDeclaration(s) && ts.isExternalModuleReference(s.moduleReference)) ||
      (ts.canHaveModifiers(s) && !!ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)),
  );
}

/** Statements that stay at the top level of a wrapped block: imports, ambient declarations, types. */
function staysOnTop(s: ts.Statement): boolean {
  return (
    ts.isImportDeclaration(s) ||
    ts.isImportEqualsDeclaration(s) ||
    ts.isInterfaceDeclaration(s) ||
    ts.isTypeAliasDeclaration(s) ||
    (ts.canHaveModifiers(s) && !!ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword))
  );
}

export function blockFileName(block: DocBlock): string {
  return `block-${block.file.replace(/\//g, "_")}-${block.fenceLine}.ts`;
}

/**
 * The file tsc compiles for a block. A block with top-level `await` is wrapped: its imports, `declare`s and
 * types stay on top, every other statement goes into an `async function`. A block that imports and exports
 * nothing gets `export {};` so that it is a module (its names do not collide with other blocks').
 */
export function blockFile(block: DocBlock): BlockFile {
  const sf = ts.createSourceFile("block.ts", block.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Array<{ text: string; line: number }> = [];
  const emit = (start: number, end: number): void => {
    const first = sf.getLineAndCharacterOfPosition(start).line + 1;
    block.code
      .slice(start, end)
      .split("\n")
      .forEach((text, i) => out.push({ text, line: first + i }));
  };
  if (hasTopLevelAwait(sf)) {
    const moved = sf.statements.filter((s) => !staysOnTop(s));
    for (const s of sf.statements.filter(staysOnTop)) emit(s.getFullStart(), s.getEnd());
    out.push({ text: "async function block(): Promise<void> {", line: 0 });
    for (const s of moved) emit(s.getFullStart(), s.getEnd());
    emit(sf.endOfFileToken.getFullStart(), sf.end);
    out.push({ text: "}", line: 0 });
  } else {
    emit(0, sf.end);
  }
  if (!isModule(sf)) out.push({ text: "export {};", line: 0 });
  return {
    name: blockFileName(block),
    text: out.map((l) => l.text).join("\n") + "\n",
    lineMap: out.map((l) => l.line),
  };
}

/** Module specifiers the block imports (import declarations and `import x = require(...)`). */
export function importedModules(code: string): string[] {
  const sf = ts.createSourceFile("block.ts", code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const specs: string[] = [];
  for (const s of sf.statements) {
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier))
      specs.push(s.moduleSpecifier.text);
    if (
      ts.isImportEqualsDeclaration(s) &&
      ts.isExternalModuleReference(s.moduleReference) &&
      ts.isStringLiteral(s.moduleReference.expression)
    ) {
      specs.push(s.moduleReference.expression.text);
    }
  }
  return specs;
}

/** tsc's messages (`--pretty false`) per block, located in the markdown; others under the file tsc named. */
export function locateDiagnostics(output: string, blocks: Map<string, { block: DocBlock; file: BlockFile }>) {
  const byBlock = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of output.split("\n")) {
    const m = /^(\S+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/.exec(line);
    if (m) {
      const [, name, row, col, , code, message] = m;
      const hit = blocks.get(name);
      const blockLine = hit?.file.lineMap[Number(row) - 1] ?? 0;
      const where = hit
        ? `${hit.block.file}:${blockLine ? hit.block.fenceLine + blockLine : hit.block.fenceLine}:${col}`
        : `${name}:${row}:${col}`;
      const key = hit ? `${hit.block.file}:${hit.block.fenceLine}` : name;
      last = byBlock.get(key) ?? [];
      byBlock.set(key, last);
      last.push(`${where} ${code}: ${message}`);
    } else if (line.trim() && last) {
      last.push(`    ${line.trim()}`);
    }
  }
  return byBlock;
}

describe("TypeScript blocks of README.md and docs/*.md", function () {
  this.timeout(600_000);
  const blocks = docFiles().flatMap((f) => extractBlocks(f, readFileSync(join(REPO, f), "utf8")));

  it("splits a block with top-level await: imports and declares on top, the rest in an async function", () => {
    const block: DocBlock = {
      file: "docs/x.md",
      fenceLine: 10,
      code: 'import { a } from "a";\nconst x = await a();\ndeclare const k: string;\nconsole.log(x, k);',
    };
    const file = blockFile(block);
    assert.equal(file.name, "block-docs_x.md-10.ts");
    assert.equal(
      file.text,
      [
        'import { a } from "a";',
        "",
        "declare const k: string;",
        "async function block(): Promise<void> {",
        "",
        "const x = await a();",
        "",
        "console.log(x, k);",
        "",
        "}",
        "",
      ].join("\n"),
    );
    assert.deepEqual(file.lineMap, [1, 2, 3, 0, 1, 2, 3, 4, 4, 0]);
    assert.equal(blockFile({ ...block, code: "const y = 1;" }).text, "const y = 1;\nexport {};\n");
    assert.deepEqual(importedModules(block.code), ["a"]);
    // tsc's line 8 of the wrapped file is the block's line 4, the markdown's line 10 + 4.
    const located = locateDiagnostics(
      "block-docs_x.md-10.ts(8,16): error TS2304: Cannot find name 'k'.\n  more detail\n",
      new Map([[file.name, { block, file }]]),
    );
    assert.deepEqual(
      [...located],
      [["docs/x.md:10", ["docs/x.md:14:16 TS2304: Cannot find name 'k'.", "    more detail"]]],
    );
  });

  describe("in a project with the packed tarball installed", () => {
    const files = new Map<string, { block: DocBlock; file: BlockFile }>();

    before(async () => {
      assert.ok(blocks.length > 0, "no TypeScript block found in README.md or docs/*.md");
      assert.ok(!DIR.startsWith(REPO + "/"), `the scratch project ${DIR} must be outside the repository`);
      const tarball = await packedTarball();
      rmSync(DIR, { recursive: true, force: true });
      mkdirSync(DIR, { recursive: true });
      writeFileSync(join(DIR, "package.json"), JSON.stringify(PACKAGE_JSON, null, 2) + "\n");
      writeFileSync(join(DIR, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2) + "\n");
      await run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
        cwd: DIR,
        timeoutMs: 300_000,
      });
      for (const block of blocks) {
        const file = blockFile(block);
        assert.ok(!files.has(file.name), `two blocks map to ${file.name}`);
        files.set(file.name, { block, file });
        writeFileSync(join(DIR, file.name), file.text);
      }
    });

    it("compiles every block with the project's own tsc --noEmit", async () => {
      const tsc = join(DIR, "node_modules", "typescript", "bin", "tsc");
      const r = await run(["node", tsc, "--noEmit", "-p", ".", "--pretty", "false"], {
        cwd: DIR,
        check: false,
        timeoutMs: 300_000,
      });
      if (r.code === 0) return;
      const failures = locateDiagnostics(r.stdout + r.stderr, files);
      const report = [...failures].map(([where, msgs]) => `block at ${where}:\n  ${msgs.join("\n  ")}`);
      assert.fail(
        `${failures.size} of ${blocks.length} blocks fail to compile (project: ${DIR}):\n` +
          (report.join("\n") || r.stdout + r.stderr),
      );
    });

    it("loads every module the blocks import with plain require() in that project", async () => {
      const specs = [...new Set(blocks.flatMap((b) => importedModules(b.code)))].sort();
      assert.ok(specs.includes("pulumi-netpersona"), `the blocks import ${specs.join(", ")}`);
      const failed: string[] = [];
      await Promise.all(
        specs.map(async (spec) => {
          const r = await run(["node", "-e", "require(process.argv[1])", spec], { cwd: DIR, check: false });
          if (r.code !== 0) failed.push(`${spec}: ${r.stderr.trim().split("\n").slice(0, 6).join("\n  ")}`);
        }),
      );
      assert.deepEqual(failed.sort(), [], `of ${specs.length} modules: ${specs.join(", ")}`);
    });
  });
});
