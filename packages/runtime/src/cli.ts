import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { banner } from "./banner";
import { queueReadCommand, queueTopicsCommand } from "./queue-commands";
import { searchCommand, tailCommand } from "./search-commands";
import { DEFAULTS, start } from "./start";
import { TenantError, TenantStore } from "./tenant-store";

/** The `unmeltable` command line. Every flag can also be set as an UNMELTABLE_* environment variable. */
export function buildCli(): Command {
  const program = new Command("unmeltable")
    .description("Self-hosted, Loggly-compatible log management: syslog and HTTPS in, search out.")
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true });

  program
    .command("start")
    .description("Run the whole pipeline on this machine: collectors, durable queue and HTTP server.")
    .addOption(dataDirOption())
    .addOption(new Option("--host <addr>", "address to listen on").env("UNMELTABLE_HOST").default(DEFAULTS.host))
    .addOption(portOption("--syslog-port <port>", "syslog over UDP and TCP", "UNMELTABLE_SYSLOG_PORT", DEFAULTS.syslogPort))
    .addOption(portOption("--http-port <port>", "HTTP: Loggly ingest (/inputs, /bulk), /healthz, /metrics", "UNMELTABLE_HTTP_PORT", DEFAULTS.httpPort))
    .addOption(portOption("--tls-port <port>", "syslog over TLS, RFC 5425 (needs --tls-cert and --tls-key)", "UNMELTABLE_TLS_PORT"))
    .addOption(portOption("--https-port <port>", "HTTPS for ingest (needs --tls-cert and --tls-key)", "UNMELTABLE_HTTPS_PORT"))
    .addOption(new Option("--tls-cert <file>", "PEM certificate (chain) for TLS and HTTPS").env("UNMELTABLE_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "PEM private key for TLS and HTTPS").env("UNMELTABLE_TLS_KEY"))
    .addOption(new Option("--default-tenant <name>", "tenant for syslog messages that carry no [TOKEN@41058] (off by default)").env("UNMELTABLE_DEFAULT_TENANT"))
    .addOption(new Option("--collector-id <id>", "name of this collector in every raw record").env("UNMELTABLE_COLLECTOR_ID").default(DEFAULTS.collectorId))
    .addOption(sizeOption("--max-event-bytes <n>", "largest accepted event", "UNMELTABLE_MAX_EVENT_BYTES", DEFAULTS.maxEventBytes))
    .addOption(sizeOption("--raw-partitions <n>", "partitions of the raw topic (only raised, never lowered)", "UNMELTABLE_RAW_PARTITIONS", DEFAULTS.rawPartitions))
    .action(async (opts: StartFlags) => {
      const dataDir = path.resolve(opts.dataDir);
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const running = await start({
        dataDir,
        host: opts.host,
        syslogPort: opts.syslogPort,
        httpPort: opts.httpPort,
        tls: opts.tlsCert && opts.tlsKey ? { certFile: opts.tlsCert, keyFile: opts.tlsKey } : undefined,
        tlsPort: opts.tlsPort,
        httpsPort: opts.httpsPort,
        defaultTenant: opts.defaultTenant,
        collectorId: opts.collectorId,
        maxEventBytes: opts.maxEventBytes,
        maxRequestBytes: DEFAULTS.maxRequestBytes,
        rawPartitions: opts.rawPartitions,
        log,
      });
      process.stdout.write(
        banner({ dataDir, ...running, tenant: running.defaultTenant, defaultTenant: opts.defaultTenant }),
      );
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log(`${signal}: draining (finishing requests, making accepted events durable)`);
        running.stop().then(
          () => {
            log("stopped cleanly");
            process.exit(0);
          },
          (err: Error) => {
            log(`stop failed: ${err.stack ?? err.message}`);
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => shutdown("SIGTERM"));
      process.on("SIGINT", () => shutdown("SIGINT"));
    });

  const tenants = program.command("tenants").description("Manage tenants (customers) and their tokens.");
  tenants
    .command("add <name>")
    .description("Create a tenant; prints its ingest and API tokens. A running server accepts them within a second.")
    .addOption(dataDirOption())
    .option("--tier <tier>", "index tier", "default")
    .option("--json", "print {name, ingestToken, apiToken} as JSON")
    .action((name: string, opts: { dataDir: string; tier: string; json?: boolean }) => {
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const t = store.add(name, { tier: opts.tier });
        if (opts.json) process.stdout.write(JSON.stringify({ name: t.name, ingestToken: t.ingestToken, apiToken: t.apiToken }) + "\n");
        else process.stdout.write(`tenant ${t.name}\n  ingest token  ${t.ingestToken}\n  API token     ${t.apiToken}\n`);
      } finally {
        store.close();
      }
    });
  tenants
    .command("list")
    .description("List tenants with their tokens.")
    .addOption(dataDirOption())
    .option("--json", "print one JSON object per line")
    .action((opts: { dataDir: string; json?: boolean }) => {
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const list = store.list();
        if (opts.json) {
          for (const t of list) process.stdout.write(JSON.stringify({ name: t.name, ingestToken: t.ingestToken, apiToken: t.apiToken, tier: t.tier }) + "\n");
        } else if (list.length === 0) {
          process.stdout.write("no tenants yet (unmeltable start creates \"default\")\n");
        } else {
          const w = Math.max(4, ...list.map((t) => t.name.length));
          process.stdout.write(`${"NAME".padEnd(w)}  ${"INGEST TOKEN".padEnd(36)}  ${"API TOKEN".padEnd(32)}  TIER\n`);
          for (const t of list) process.stdout.write(`${t.name.padEnd(w)}  ${t.ingestToken}  ${t.apiToken}  ${t.tier}\n`);
        }
      } finally {
        store.close();
      }
    });

  program
    .command("search [query]")
    .description("Search events through the API (Loggly query syntax), newest first. Example: unmeltable search 'json.level:error AND timeout' --from -1h")
    .addOption(urlOption())
    .addOption(new Option("--token <token>", "API token (default: the --tenant's, read from --data-dir)").env("UNMELTABLE_API_TOKEN"))
    .option("--tenant <name>", "tenant whose API token to use", "default")
    .addOption(dataDirOption())
    .option("--from <time>", "start: -10m, -24h, -7d, ISO-8601", "-24h")
    .option("--until <time>", "end: now or ISO-8601", "now")
    .option("--order <order>", "desc (newest first) or asc", "desc")
    .option("--limit <n>", "print at most this many events", intArg, 50)
    .option("--json", "print the events as JSON lines")
    .action(searchCommand);
  program
    .command("tail [query]")
    .description("Follow new events as they are indexed (optionally only those matching a query).")
    .addOption(urlOption())
    .addOption(new Option("--token <token>", "API token (default: the --tenant's, read from --data-dir)").env("UNMELTABLE_API_TOKEN"))
    .option("--tenant <name>", "tenant whose API token to use", "default")
    .addOption(dataDirOption())
    .option("--json", "print the events as JSON lines")
    .action(tailCommand);

  const queue = program.command("queue").description("Inspect the embedded queue (read-only; safe while the server runs).");
  queue
    .command("topics")
    .description("Topics with their partitions' oldest and next offsets.")
    .addOption(dataDirOption())
    .option("--json", "print JSON")
    .action(queueTopicsCommand);
  queue
    .command("read")
    .description("Print the records of a topic, one JSON object per event (raw batches are unpacked).")
    .addOption(dataDirOption())
    .option("--topic <topic>", "topic to read", "raw")
    .option("--partition <n>", "only this partition", intArg)
    .option("--offset <n>", "start at this offset (default: the oldest retained)", intArg)
    .option("--limit <n>", "stop after this many events", intArg)
    .action(queueReadCommand);

  return program;
}

interface StartFlags {
  dataDir: string;
  host: string;
  syslogPort: number;
  httpPort: number;
  tlsPort?: number;
  httpsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  defaultTenant?: string;
  collectorId: string;
  maxEventBytes: number;
  rawPartitions: number;
}

function urlOption(): Option {
  return new Option("--url <url>", "the server's HTTP address").env("UNMELTABLE_URL").default("http://localhost:8080");
}

function dataDirOption(): Option {
  return new Option("--data-dir <dir>", "where queue, index and tenants live").env("UNMELTABLE_DATA_DIR").default("./data");
}

function portOption(flags: string, description: string, env: string, dflt?: number): Option {
  const o = new Option(flags, description).env(env).argParser(portArg);
  return dflt === undefined ? o : o.default(dflt);
}

function sizeOption(flags: string, description: string, env: string, dflt: number): Option {
  return new Option(flags, description).env(env).argParser(intArg).default(dflt);
}

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number 0-65535");
  return n;
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

export async function main(argv: string[]): Promise<void> {
  // `unmeltable queue read | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    const message = process.env.UNMELTABLE_DEBUG && !(err instanceof TenantError) ? (e.stack ?? String(err)) : (e.message ?? String(err));
    process.stderr.write(`unmeltable: ${message}\n`);
    process.exit(1);
  }
}
