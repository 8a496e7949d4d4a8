// `netpersona monitoring-cert`: issues a certificate of the `monitoring` role from the stack CA, for a
// Prometheus (or any scraper) that reads the agents' metrics endpoints and GetInfo, and nothing else. The CA
// comes from the stack: `pulumi stack output caCertPem` / `--show-secrets caKeyPem` (or the StackCa's
// certPem/keyPem however the program exports them).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Command } from "commander";

import { DEFAULT_VALIDITY_DAYS, issueMonitoringCert } from "../pki";

async function readPem(flag: string, path: string, kind: RegExp): Promise<string> {
  const text = await readFile(path, "utf8").catch((err: Error) => {
    throw new Error(`${flag}: cannot read ${path}: ${err.message}`, { cause: err });
  });
  if (!kind.test(text))
    throw new Error(`${flag}: ${path} holds no ${kind.source.replace(/\\/g, "")} PEM block`);
  return text;
}

/** The Prometheus scrape job for agents' metrics endpoints, with the files `dir` holds. */
export function scrapeConfig(dir: string, targets: string[]): string {
  const list = targets.length > 0 ? targets.map((t) => `"${t}"`).join(", ") : '"10.0.1.10:9447"';
  return [
    "scrape_configs:",
    "  - job_name: netpersona",
    "    scheme: https",
    "    tls_config:",
    `      ca_file: ${join(dir, "ca.pem")}`,
    `      cert_file: ${join(dir, "monitoring.pem")}`,
    `      key_file: ${join(dir, "monitoring-key.pem")}`,
    "    static_configs:",
    `      - targets: [${list}]`,
    "",
  ].join("\n");
}

export function registerMonitoring(program: Command): void {
  program
    .command("monitoring-cert")
    .description(
      "issue a certificate of the monitoring role (scrape agents' /metrics, call GetInfo; nothing else) from the stack CA",
    )
    .requiredOption("--ca-cert <file>", "the stack CA certificate (StackCa.certPem)")
    .requiredOption("--ca-key <file>", "the stack CA key (StackCa.keyPem, a secret)")
    .requiredOption("--out <dir>", "where to write ca.pem, monitoring.pem and monitoring-key.pem (mode 0600)")
    .option(
      "--name <cn>",
      "the certificate's common name (shown in the agents' logs)",
      "netpersona monitoring",
    )
    .option("--days <n>", "validity in days (1..397)", String(DEFAULT_VALIDITY_DAYS.monitoring))
    .option("--target <host:port...>", "agents' metrics endpoints, for the printed scrape configuration")
    .action(
      async (o: {
        caCert: string;
        caKey: string;
        out: string;
        name: string;
        days: string;
        target?: string[];
      }) => {
        const days = Number(o.days);
        if (!Number.isInteger(days) || days < 1 || days > 397) {
          throw new Error(`--days: '${o.days}' must be a whole number of days from 1 to 397`);
        }
        const ca = {
          certPem: await readPem("--ca-cert", o.caCert, /-----BEGIN CERTIFICATE-----/),
          keyPem: await readPem("--ca-key", o.caKey, /-----BEGIN (EC |)PRIVATE KEY-----/),
        };
        const cert = await issueMonitoringCert(ca, { commonName: o.name, validityDays: days });
        await mkdir(o.out, { recursive: true, mode: 0o700 });
        await writeFile(join(o.out, "ca.pem"), ca.certPem, { mode: 0o644 });
        await writeFile(join(o.out, "monitoring.pem"), cert.certPem, { mode: 0o644 });
        await writeFile(join(o.out, "monitoring-key.pem"), cert.keyPem, { mode: 0o600 });
        process.stdout.write(
          `wrote ${join(o.out, "monitoring.pem")} (role monitoring, ${days} days) and its key; ` +
            `renew it before it expires (run this again). Prometheus:\n\n${scrapeConfig(o.out, o.target ?? [])}`,
        );
      },
    );
}
