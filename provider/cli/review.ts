// `netpersona review`: turns `pulumi preview --json` into Markdown for a pull request (per host: the persona
// before → after, the agent's kernel plan, risks).
import { readFileSync, writeFileSync } from "node:fs";

import type { Command } from "commander";

import { renderReview, type PreviewDocument } from "../report/review";

/** Reads a preview document from a file or standard input ("-"). */
export function readPreview(file: string): PreviewDocument {
  const where = file === "-" ? "standard input" : file;
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new Error(
      `cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(
      `${where} is not JSON: give the output of \`pulumi preview --json\` (not the text of \`pulumi preview\`)`,
    );
  }
  if (!doc || typeof doc !== "object" || !Array.isArray((doc as PreviewDocument).steps)) {
    throw new Error(`${where} has no "steps": give the output of \`pulumi preview --json\``);
  }
  return doc as PreviewDocument;
}

export function registerReview(program: Command): void {
  program
    .command("review")
    .description(
      "render `pulumi preview --json` as Markdown for a pull request: per host changes, kernel plan, risks",
    )
    .argument("[file]", "the JSON of `pulumi preview --json` (default: standard input)", "-")
    .option("--out <file>", "write the Markdown here instead of standard output")
    .action((file: string, opts: { out?: string }) => {
      const markdown = renderReview(readPreview(file));
      if (opts.out) writeFileSync(opts.out, markdown);
      else process.stdout.write(markdown);
    });
}
