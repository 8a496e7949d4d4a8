// How a cause is quoted in one line: progress lines, plan notes and warnings say why, never a stack.

/** The first line of an error's message, without grpc-js's timestamps (so that the same failure reads the
 *  same), cut at `max` characters on a word boundary with "…" (never inside an address). */
export function errorLine(err: unknown, max = 300): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split("\n")[0].replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, "");
  if (line.length <= max) return line;
  const cut = line.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}
