// Remote commands as argument vectors: the ONE place that turns an argv into the line a remote shell runs.
// SSH carries a single string that the user's login shell parses, so every element (argv[0] included) is
// POSIX single-quoted: inside '...' nothing is special (`;`, `|`, `$(...)`, backticks, globs, newlines),
// and a quote is written as '\''. An empty element stays an empty argument (''), never dropped. The remote
// login shell must be a POSIX shell (sh, bash, dash, zsh, ksh); csh and fish quote differently.

/** One argument as a single POSIX shell word. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line that makes a POSIX shell run exactly `argv` (no expansion, no second command). */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("a remote command needs at least one element (the program)");
  argv.forEach((a, i) => {
    if (typeof a !== "string") throw new Error(`argv[${i}] must be a string, got ${typeof a}`);
    // A C program receives its arguments as NUL-terminated strings: a NUL cannot reach it intact.
    if (a.includes("\0")) throw new Error(`argv[${i}] contains a NUL byte, which no program can receive`);
  });
  return argv.map(shellQuote).join(" ");
}
