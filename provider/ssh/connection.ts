// SSH to a host with the host key pinned, bounded dial retries with progress, an optional bastion (always
// pinned), and commands given as argument vectors (every element quoted for the remote shell by quote.ts,
// never interpolated). A command marked secret never appears in an error, nor does its output.
import { createHash, randomBytes } from "node:crypto";

import { NodeSSH, type Config } from "node-ssh";
import { z } from "zod";

import { commandLine } from "./quote";

const hostKeyLine = z
  .string()
  .regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|rsa-sha2-(256|512)) [A-Za-z0-9+/]+={0,2}( .*)?$/,
    "must be an OpenSSH public host key line, e.g. 'ssh-ed25519 AAAAC3Nz...' (from `ssh-keyscan -t ed25519 HOST` or /etc/ssh/ssh_host_ed25519_key.pub)",
  );

const hostname = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/, "must be a host name or an IP address");

const dialFields = {
  host: hostname.describe("The address of the host to connect to."),
  port: z.int().min(1).max(65535).default(22).describe("The port to connect to (default 22)."),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name such as root")
    .default("root")
    .describe("The user to log in as (default root)."),
  privateKey: z.string().optional().describe("The contents of an SSH private key (PEM/OpenSSH)."),
  privateKeyPassword: z.string().optional().describe("The password of the private key, if it has one."),
  password: z.string().optional().describe("The password to log in with."),
  hostKey: hostKeyLine
    .optional()
    .describe("The host's public key; the connection is refused on any other key."),
};

export const proxySchema = z
  .strictObject(dialFields)
  .describe("A bastion host to connect through.")
  .meta({ title: "ProxyConnection" });

export const connectionSchema = z
  .strictObject({
    ...dialFields,
    proxy: proxySchema.optional(),
    dialErrorLimit: z
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe("How many dial attempts before failing (default 10)."),
    perDialTimeout: z.int().min(1).max(600).default(15).describe("Seconds one dial may take (default 15)."),
    insecureSkipHostKeyCheck: z
      .boolean()
      .default(false)
      .describe(
        "Accept any host key of this host (never of its bastion) when hostKey is not set, with a warning naming the fingerprint seen on every connection. Only for throw-away hosts: it makes man-in-the-middle attacks possible, so password login is refused in this mode.",
      ),
  })
  .superRefine((c, ctx) => {
    if (!c.privateKey && !c.password) {
      ctx.addIssue({ code: "custom", path: ["privateKey"], message: "set privateKey or password to log in" });
    }
    if (!c.hostKey && !c.insecureSkipHostKeyCheck) {
      ctx.addIssue({
        code: "custom",
        path: ["hostKey"],
        message:
          "the host key must be pinned: set hostKey to the host's public key (ssh-keyscan -t ed25519 HOST), or set insecureSkipHostKeyCheck: true for a throw-away host",
      });
    }
    if (c.insecureSkipHostKeyCheck && !c.hostKey && c.password) {
      ctx.addIssue({
        code: "custom",
        path: ["password"],
        message:
          "password login is refused with insecureSkipHostKeyCheck: an unverified host may be a man-in-the-middle that records the password; pin hostKey, or log in with privateKey",
      });
    }
    if (c.proxy && !c.proxy.hostKey) {
      ctx.addIssue({
        code: "custom",
        path: ["proxy", "hostKey"],
        message:
          "pin the bastion's host key (ssh-keyscan -t ed25519 BASTION): insecureSkipHostKeyCheck never applies to the bastion",
      });
    }
  })
  .describe("How to reach a host over SSH (mirrors @pulumi/command's remote.Connection).")
  .meta({ title: "Connection" });

export type ConnectionInput = z.input<typeof connectionSchema>;
export type Connection = z.output<typeof connectionSchema>;
type Dial = z.output<typeof proxySchema>;

/** What may be said of a secret command: its program's name (when it looks like one) and its size; never
 *  its arguments or output. */
export function redactedCommand(argv: readonly string[]): string {
  const program = /^[A-Za-z0-9_./+-]{1,64}$/.test(argv[0] ?? "") ? `\`${argv[0]}\`` : "the program";
  const n = argv.length - 1;
  return `${program} with ${n} argument${n === 1 ? "" : "s"} (secret: command line and output not shown)`;
}

export class SshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SshError";
  }
}

/** OpenSSH's fingerprint of a public key blob (base64): its type and `SHA256:` + unpadded base64 digest. */
export function fingerprint(keyBase64: string): string {
  const blob = Buffer.from(keyBase64, "base64");
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = len > 0 && len < 64 && blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString() : "key";
  const digest = createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
  return `${type} SHA256:${digest}`;
}

interface Seen {
  key?: string;
}

function hostVerifier(dial: Dial, insecure: boolean, seen: Seen): Config["hostVerifier"] {
  const pinned = dial.hostKey?.split(" ")[1];
  return (key: Buffer | string) => {
    seen.key = Buffer.isBuffer(key) ? key.toString("base64") : String(key);
    if (insecure && !pinned) return true;
    return seen.key === pinned;
  };
}

function explain(err: unknown, dial: Dial, seen: Seen): string {
  const msg = err instanceof Error ? err.message : String(err);
  const pinned = dial.hostKey?.split(" ")[1];
  if (/verification failed/i.test(msg) || (seen.key && pinned && seen.key !== pinned)) {
    const presented = seen.key ? fingerprint(seen.key) : "an unknown key";
    const expected = pinned ? fingerprint(pinned) : "none";
    return `host key mismatch for ${dial.host}:${dial.port}: the host presented ${presented}, the pinned hostKey is ${expected} (possible man-in-the-middle, or the host was rebuilt: verify the presented key out of band, e.g. ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host, and update hostKey)`;
  }
  if (/All configured authentication methods failed/i.test(msg)) {
    return `authentication refused for ${dial.user}@${dial.host}:${dial.port}: check privateKey/password and that the key is in the user's authorized_keys`;
  }
  if (/ECONNREFUSED/.test(msg))
    return `connection refused by ${dial.host}:${dial.port}: is sshd running there?`;
  if (/Timed out|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/i.test(msg))
    return `${dial.host}:${dial.port} unreachable (${msg})`;
  return `${dial.host}:${dial.port}: ${msg}`;
}

const FATAL = /host key mismatch|authentication refused|password login .* is refused/;

/** One dial. `insecure` only for the target itself (never the bastion); then a key that is not pinned is
 *  accepted, `warn` is told its fingerprint, and no password is sent to the unverified host. */
async function dialOnce(
  dial: Dial,
  c: Connection,
  insecure: boolean,
  warn: (line: string) => void,
  sock?: NodeJS.ReadableStream,
): Promise<NodeSSH> {
  const seen: Seen = {};
  const ssh = new NodeSSH();
  const unverified = insecure && !dial.hostKey;
  if (unverified && dial.password) {
    throw new SshError(
      `password login to ${dial.host}:${dial.port} is refused with insecureSkipHostKeyCheck: pin hostKey or log in with privateKey`,
    );
  }
  try {
    await ssh.connect({
      host: dial.host,
      port: dial.port,
      username: dial.user,
      privateKey: dial.privateKey,
      passphrase: dial.privateKeyPassword,
      ...(!unverified && { password: dial.password }),
      readyTimeout: c.perDialTimeout * 1000,
      hostVerifier: hostVerifier(dial, unverified, seen),
      ...(sock && { sock: sock as unknown as Config["sock"] }),
    });
  } catch (err) {
    ssh.dispose();
    throw new SshError(explain(err, dial, seen));
  }
  if (unverified) {
    const type = seen.key ? fingerprint(seen.key).split(" ")[0] : "";
    warn(
      `WARNING: insecureSkipHostKeyCheck: accepted ${dial.host}:${dial.port}'s host key ${seen.key ? fingerprint(seen.key) : "(none seen)"} WITHOUT verifying it; anyone on the path could have answered instead. Verify it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and pin it: hostKey: "${type} ${seen.key ?? ""}"`,
    );
  }
  return ssh;
}

/** A live SSH session to a host (through its bastion when one is set). */
/** A temporary name beside `path`: `.NAME.<16 random hex>.tmp`. */
function tempNameFor(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${randomBytes(8).toString("hex")}.tmp`;
}

export class SshSession {
  /** Remote commands run and SFTP sessions opened on this connection (each is at least one round trip). */
  readonly counts = { commands: 0, sftpSessions: 0 };

  private constructor(
    private readonly ssh: NodeSSH,
    private readonly bastion: NodeSSH | undefined,
    readonly target: string,
  ) {}

  /** Dials with bounded retries; `onProgress` receives lines such as "dial 2/10 failed: ...: retrying". */
  static async open(input: Connection, onProgress: (line: string) => void = () => {}): Promise<SshSession> {
    const c = input;
    let last: Error | undefined;
    for (let attempt = 1; attempt <= c.dialErrorLimit; attempt++) {
      let bastion: NodeSSH | undefined;
      try {
        let sock: NodeJS.ReadableStream | undefined;
        if (c.proxy) {
          bastion = await dialOnce(c.proxy, c, false, onProgress);
          sock = await bastion.forwardOut("127.0.0.1", 0, c.host, c.port);
        }
        const ssh = await dialOnce(c, c, c.insecureSkipHostKeyCheck, onProgress, sock);
        return new SshSession(ssh, bastion, `${c.user}@${c.host}:${c.port}`);
      } catch (err) {
        bastion?.dispose();
        last = err as Error;
        if (FATAL.test(last.message)) throw last;
        if (attempt < c.dialErrorLimit) {
          onProgress(`dial ${attempt}/${c.dialErrorLimit} failed: ${last.message}: retrying`);
          await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
        }
      }
    }
    throw new SshError(`could not connect after ${c.dialErrorLimit} attempts: ${last?.message}`);
  }

  /** Runs an argument vector: every element, the program included, is quoted for the remote shell
   *  (commandLine), so the remote program receives exactly `argv`. stdout and stderr are returned as
   *  received (not trimmed). Throws on a non-zero exit unless `check: false`; the error names the command
   *  and its last output lines, or with `secret: true` only the program's name and the exit status. */
  async run(argv: readonly string[], opts: { stdin?: string; check?: boolean; secret?: boolean } = {}) {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    this.counts.commands++;
    const r = await this.ssh.execCommand(commandLine(argv), {
      stdin: opts.stdin,
      noTrim: true,
      onStdout: (b) => out.push(b),
      onStderr: (b) => err.push(b),
    });
    r.stdout = Buffer.concat(out).toString("utf8");
    r.stderr = Buffer.concat(err).toString("utf8");
    // Killed by a signal: no exit status, but not a success either.
    const code = r.code ?? (r.signal ? -1 : 0);
    if (code !== 0 && opts.check !== false) {
      const how = r.code === null && r.signal ? `signal ${r.signal}` : `exit ${code}`;
      if (opts.secret) throw new SshError(`on ${this.target}: ${redactedCommand(argv)} failed (${how})`);
      const tail = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-8).join("\n");
      throw new SshError(
        `on ${this.target}: \`${argv.join(" ")}\` failed (${how})${tail ? `: ${tail}` : ""}`,
      );
    }
    return { stdout: r.stdout, stderr: r.stderr, code };
  }

  /** Creates `path` exclusively (O_CREAT | O_EXCL over SFTP: it fails when anything, a symbolic link
   *  included, is already there, and never follows one) and writes `content` to it. */
  async createExclusive(path: string, content: string | Buffer, mode: string): Promise<void> {
    this.counts.sftpSessions++;
    const sftp = await this.ssh.requestSFTP();
    try {
      await new Promise<void>((resolve, reject) => {
        const ws = sftp.createWriteStream(path, { flags: "wx", mode: parseInt(mode, 8) });
        ws.on("error", (err: Error) =>
          reject(
            new SshError(
              `on ${this.target}: could not create ${path} exclusively (${err.message}): something is already there (a file or a symbolic link): remove it if it is stale`,
            ),
          ),
        );
        ws.on("close", () => resolve());
        ws.end(content);
      });
    } finally {
      sftp.end();
    }
  }

  /** Creates `dirs` (like mkdir -p, then chmod to their modes) and writes every file atomically, all in ONE
   *  SFTP session (one round trip's worth of setup instead of a command per step): each file goes to a
   *  temporary name with a random suffix in its directory, created exclusively (O_EXCL: a planted file or
   *  symbolic link fails it), is chmod-ed over SFTP and renamed over its path with OpenSSH's posix-rename
   *  (replaces a symbolic link, never follows it). Temporary files are removed when anything fails. */
  async writeFiles(
    files: readonly { path: string; content: string | Buffer; mode: string }[],
    dirs: readonly { path: string; mode: string }[] = [],
  ): Promise<void> {
    this.counts.sftpSessions++;
    const sftp = await this.ssh.requestSFTP();
    const call = <T = void>(what: string, fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
      new Promise<T>((resolve, reject) =>
        fn((err, v) =>
          err ? reject(new SshError(`on ${this.target}: ${what}: ${err.message}`)) : resolve(v as T),
        ),
      );
    const there = (p: string) =>
      call("stat", (cb) => sftp.stat(p, cb)).then(
        () => true,
        () => false,
      );
    const created: string[] = [];
    try {
      for (const d of dirs) {
        const parts = d.path.split("/").filter(Boolean);
        // Existing (a re-install): one request; else walk down from the root like mkdir -p.
        for (let i = (await there(d.path)) ? parts.length + 1 : 1; i <= parts.length; i++) {
          const p = `/${parts.slice(0, i).join("/")}`;
          if (await there(p)) continue;
          // Created meanwhile by someone else (SFTP says only "Failure"): fine when it is there now.
          await call(`mkdir ${p}`, (cb) => sftp.mkdir(p, { mode: 0o755 }, cb)).catch(async (err: Error) => {
            if (!(await there(p))) throw err;
          });
        }
        await call(`chmod ${d.mode} ${d.path}`, (cb) => sftp.chmod(d.path, parseInt(d.mode, 8), cb));
      }
      await Promise.all(
        files.map(async (f) => {
          const tmp = tempNameFor(f.path);
          await new Promise<void>((resolve, reject) => {
            const ws = sftp.createWriteStream(tmp, { flags: "wx", mode: parseInt(f.mode, 8) });
            ws.on("error", (err: Error) =>
              reject(
                new SshError(
                  `on ${this.target}: could not create ${tmp} exclusively (${err.message}): something is already there (a file or a symbolic link): remove it if it is stale`,
                ),
              ),
            );
            ws.on("close", () => resolve());
            ws.end(f.content);
          });
          created.push(tmp);
          await call(`chmod ${f.mode} ${tmp}`, (cb) => sftp.chmod(tmp, parseInt(f.mode, 8), cb));
          await call(`rename ${tmp} over ${f.path}`, (cb) => sftp.ext_openssh_rename(tmp, f.path, cb));
          created.splice(created.indexOf(tmp), 1);
        }),
      );
    } catch (err) {
      for (const tmp of created) await call("unlink", (cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      throw err;
    } finally {
      sftp.end();
    }
  }

  /** Writes `content` to `path` atomically with the given mode: a temporary file with a random name in the
   *  same directory, created exclusively, then renamed over `path` (rename replaces a symbolic link, never
   *  follows it). The temporary file is removed when anything fails. */
  async writeFile(path: string, content: string | Buffer, mode: string): Promise<void> {
    const tmp = tempNameFor(path);
    let created = false;
    try {
      await this.createExclusive(tmp, content, mode);
      created = true;
      await this.run(["chmod", mode, "--", tmp]);
      await this.run(["mv", "-fT", "--", tmp, path]);
    } catch (err) {
      if (created) await this.run(["rm", "-f", "--", tmp], { check: false }).catch(() => undefined);
      throw err;
    }
  }

  dispose(): void {
    this.ssh.dispose();
    this.bastion?.dispose();
  }
}
