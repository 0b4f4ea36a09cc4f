import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_DEAD_LETTER_LIMITS, DEFAULT_STREAM_LIMITS } from "@unmeltable/collector";
import { banner } from "./banner";
import { queueReadCommand, queueTopicsCommand } from "./queue-commands";
import { searchCommand, tailCommand } from "./search-commands";
import { archiveCommand, lifecycleCommand, replayCommand } from "./data-commands";
import { deadLettersListCommand, deadLettersRedriveCommand } from "./dead-letter-commands";
import { addEstimateCommand } from "./estimate-command";
import type { KafkaConnection } from "@unmeltable/queue-kafka";
import { checkQueueConfig, parseBrokers, type QueueConfig } from "./queue-config";
import { DEFAULTS, start } from "./start";
import { TenantError, TenantStore } from "./tenant-store";
import { registerUsersCommands } from "./users-commands";
import { AccountError, errorFields } from "@unmeltable/core";
import { decimalArg, describePlan, planFromFlags, type PlanFlags } from "./plan-flags";
import { regionOption, registerAwsTenantsCommands } from "./aws-tenants-commands";
import { PRIVATE_UMASK } from "./private-data-dir";
import { parseAllowList } from "@unmeltable/alerts";
import { defaultOpenSlices, fdLimit } from "@unmeltable/index-sqlite";
import { readTenants, TenantsConfigError } from "@unmeltable/tenants-config";
import { addRemoteTenant, plainTokenWarnings, rotateRemoteTokens, type NewTokens } from "./aws-tenants";
import { DEFAULT_TENANT_LABELS } from "./tenant-metrics";
import { createLogger, loggerOptionsFromEnv } from "./logger";

/** The `unmeltable` command line. Every flag can also be set as an UNMELTABLE_* environment variable. */
export function buildCli(): Command {
  const program = new Command("unmeltable")
    .description("Self-hosted, Loggly-compatible log management: syslog and HTTPS in, search out.")
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true });

  addRunOptions(
    program.command("start").description("Run the whole pipeline: collectors, queue, processing stages, index and search API."),
    { collector: true, stages: true },
  ).action((opts: RunFlags) => runAction(opts, { collector: true, stages: true }));
  addRunOptions(
    program
      .command("collector")
      .description("Run only the collectors (syslog UDP/TCP/TLS, HTTP ingest) feeding the queue; with Kafka, a disk spool keeps them accepting while the brokers are away. What the EC2 collector instances run."),
    { collector: true, stages: false },
  ).action((opts: RunFlags) => runAction(opts, { collector: true, stages: false }));
  addRunOptions(
    program.command("stages").description("Run only the processing stages (process, index) over the queue, with the index and the search API."),
    { collector: false, stages: true },
  )
    .option("--sample <rate>", "staging: process only this fraction of events (chosen by a hash of the event id, the same on every run), with consumer groups of its own", rateArg)
    .option("--group-prefix <prefix>", "prefix of the consumer groups (default: 'staging-' with --sample)")
    .action((opts: RunFlags) => runAction(opts, { collector: false, stages: true }));

  const tenants = program.command("tenants").description("Manage tenants (customers) and their tokens.");
  tenants
    .command("add <name>")
    .description("Create a tenant; prints its ingest and API tokens (the API token only now: the data dir keeps its hash). A running server accepts them within a second.")
    .addOption(dataDirOption())
    .option("--tier <tier>", "index tier", "default")
    .option("--ingest-token <token>", "keep this ingest token (e.g. your Loggly customer token) instead of a new one")
    .option("--plan-gb-per-day <gb>", "plan: daily volume in GB (10^9 bytes of raw events a UTC day); with --plan-events-per-second (docs/plans.md)", decimalArg)
    .option("--plan-events-per-second <n>", "plan: sustained rate (averaged over a minute); over the plan nothing is dropped, indexing waits behind tenants within theirs", decimalArg)
    .option("--json", "print {name, ingestToken, apiToken} as JSON")
    .action((name: string, opts: { dataDir: string; tier: string; ingestToken?: string; json?: boolean } & PlanFlags) => {
      const plan = planFromFlags(undefined, opts) ?? undefined;
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const t = store.add(name, { tier: opts.tier, ingestToken: opts.ingestToken, plan });
        if (opts.json) process.stdout.write(JSON.stringify({ name: t.name, ingestToken: t.ingestToken, apiToken: t.apiToken }) + "\n");
        else process.stdout.write(`tenant ${t.name}\n  ingest token  ${t.ingestToken}\n  API token     ${t.apiToken}\n`);
      } finally {
        store.close();
      }
    });
  tenants
    .command("list")
    .description("List tenants with their ingest tokens (API tokens are kept hashed: see rotate-token).")
    .addOption(dataDirOption())
    .option("--json", "print one JSON object per line")
    .action((opts: { dataDir: string; json?: boolean }) => {
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const list = store.list();
        if (opts.json) {
          for (const t of list) process.stdout.write(JSON.stringify({ name: t.name, ingestToken: t.ingestToken, tier: t.tier, ...(t.plan ? { plan: t.plan } : {}) }) + "\n");
        } else if (list.length === 0) {
          process.stdout.write("no tenants yet (unmeltable start creates \"default\")\n");
        } else {
          const w = Math.max(4, ...list.map((t) => t.name.length));
          process.stdout.write(`${"NAME".padEnd(w)}  ${"INGEST TOKEN".padEnd(36)}  TIER\n`);
          for (const t of list) process.stdout.write(`${t.name.padEnd(w)}  ${t.ingestToken}  ${t.tier}\n`);
          process.stdout.write("API tokens are kept only as hashes: `unmeltable tenants rotate-token NAME` prints a new one.\n");
        }
      } finally {
        store.close();
      }
    });

  tenants
    .command("validate <file>")
    .description("Check a deployment's tenants.json before uploading it: every entry against the schema (names, tokens, tier, slice, retention, partitionSpread; no unknown fields), names and tokens unique, tiers among the deployment's. Exits 1 with each problem's place in the file.")
    .addOption(new Option("--tiers <list>", "the deployment's tiers, comma-separated (the `tiers` output of sst deploy)").env("UNMELTABLE_TIERS"))
    .action(async (file: string, opts: { tiers?: string }) => {
      const tiers = opts.tiers ? opts.tiers.split(",").map((t) => t.trim()).filter(Boolean) : undefined;
      try {
        const list = await readTenants(file, tiers);
        process.stdout.write(`${file}: ${list.length} tenant${list.length === 1 ? "" : "s"}, valid${tiers ? ` (tiers ${tiers.join(", ")})` : " (tiers not checked: give --tiers)"}\n`);
        for (const w of plainTokenWarnings(list)) process.stderr.write(`warning: ${w}\n`);
      } catch (err) {
        if (!(err instanceof TenantsConfigError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      }
    });

  tenants
    .command("rotate-token <name>")
    .description("Replace a tenant's API tokens with a new one and print it; the old ones stop working at once, on a running server too.")
    .addOption(dataDirOption())
    .option("--json", "print {name, ingestToken, apiToken} as JSON")
    .action((name: string, opts: { dataDir: string; json?: boolean }) => {
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const t = store.rotateApiToken(name);
        if (opts.json) process.stdout.write(JSON.stringify({ name: t.name, ingestToken: t.ingestToken, apiToken: t.apiToken }) + "\n");
        else process.stdout.write(`tenant ${t.name}\n  API token     ${t.apiToken}  (new; the previous one no longer works)\n`);
      } finally {
        store.close();
      }
    });

  registerUsersCommands(program, dataDirOption);

  const aws = program.command("aws").description("Plan and operate an AWS deployment (docs/deploy.md): sizes and costs from a workload, tenants in its tenants.json.");
  addEstimateCommand(aws);
  const awsTenants = aws.command("tenants").description("Tenants of an AWS deployment, in its tenants.json (S3): one validated, ETag-conditional write per change.");
  const sourceOption = () => new Option("--source <s3-url>", "the deployment's tenants.json (s3://bucket/key, the `tenants` output of sst deploy; or a file)").env("UNMELTABLE_TENANTS").makeOptionMandatory();
  const printTokens = (t: NewTokens, json?: boolean) => {
    if (json) return process.stdout.write(`${JSON.stringify(t)}\n`);
    process.stdout.write(`tenant ${t.name}\n`);
    if (t.ingestToken) process.stdout.write(`  ingest token  ${t.ingestToken}\n`);
    if (t.apiToken) process.stdout.write(`  API token     ${t.apiToken}\n`);
    process.stdout.write("  shown once: tenants.json keeps only their SHA-256. The functions and collectors reload it within a minute.\n");
  };
  awsTenants
    .command("add <name>")
    .description("Add a tenant with new ingest and API tokens, kept as SHA-256 hashes in tenants.json; prints the tokens once.")
    .addOption(sourceOption())
    .addOption(regionOption())
    .option("--tier <tier>", "index tier (default: default)")
    .option("--retention-days <days>", "retention in days (default 30)", positiveArg)
    .option("--partition-spread <n>", "raw partitions the tenant's batches are spread over (default 1)", positiveArg)
    .option("--json", "print {name, ingestToken, apiToken} as JSON")
    .action(async (name: string, opts: { source: string; awsRegion?: string; tier?: string; retentionDays?: number; partitionSpread?: number; json?: boolean }) => {
      if (opts.awsRegion) process.env.AWS_REGION = opts.awsRegion;
      printTokens(await addRemoteTenant(opts.source, name, opts), opts.json);
    });
  awsTenants
    .command("rotate-token <name>")
    .description("Give a tenant a new API token (--ingest: a new ingest token; --both); the old one stops working when the config is reloaded (within a minute). Prints the new token once.")
    .addOption(sourceOption())
    .addOption(regionOption())
    .option("--ingest", "a new ingest token instead of the API token")
    .option("--both", "new ingest and API tokens")
    .option("--json", "print {name, ingestToken?, apiToken?} as JSON")
    .action(async (name: string, opts: { source: string; awsRegion?: string; ingest?: boolean; both?: boolean; json?: boolean }) => {
      if (opts.awsRegion) process.env.AWS_REGION = opts.awsRegion;
      printTokens(await rotateRemoteTokens(opts.source, name, { api: opts.both === true || !opts.ingest, ingest: opts.both === true || opts.ingest === true }), opts.json);
    });
  registerAwsTenantsCommands(awsTenants);

  program
    .command("search [query]")
    .description("Search events through the API (Loggly query syntax), newest first. Example: unmeltable search 'json.level:error AND timeout' --from -1h")
    .addOption(urlOption())
    .addOption(new Option("--token <token>", "API token (default: one minted for this command in --data-dir, for --tenant)").env("UNMELTABLE_API_TOKEN"))
    .option("--tenant <name>", "whose events, when no --token is given", "default")
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
    .addOption(new Option("--token <token>", "API token (default: one minted for this command in --data-dir, for --tenant)").env("UNMELTABLE_API_TOKEN"))
    .option("--tenant <name>", "whose events, when no --token is given", "default")
    .addOption(dataDirOption())
    .option("--json", "print the events as JSON lines")
    .action(tailCommand);

  tenants
    .command("set <name>")
    .description("Change a tenant's tier (its new slices go to the new tier, the old ones stay searchable until they expire), slice length, retention or plan (docs/plans.md). A running server applies it within a second.")
    .addOption(dataDirOption())
    .option("--tier <tier>", "index tier")
    .addOption(new Option("--slice <length>", "time slice length of new slices").choices(["hour", "day", "week"]))
    .option("--retention-days <n>", "delete slices older than this", intArg)
    .option("--partition-spread <n>", "raw-topic partitions a busy tenant's batches are spread over", intArg)
    .option("--plan-gb-per-day <gb>", "plan: daily volume in GB (10^9 bytes of raw events a UTC day)", decimalArg)
    .option("--plan-events-per-second <n>", "plan: sustained rate (averaged over a minute)", decimalArg)
    .option("--no-plan", "remove the tenant's plan (unlimited)")
    .action((name: string, opts: { dataDir: string; tier?: string; slice?: "hour" | "day" | "week"; retentionDays?: number; partitionSpread?: number } & PlanFlags) => {
      const store = new TenantStore(path.resolve(opts.dataDir));
      try {
        const current = store.get(name);
        if (!current) throw new TenantError(`no tenant ${name}`);
        const plan = planFromFlags(current.plan, opts);
        const t = store.update(name, { tier: opts.tier, slice: opts.slice, retentionDays: opts.retentionDays, partitionSpread: opts.partitionSpread, ...(plan !== undefined ? { plan } : {}) });
        process.stdout.write(`tenant ${t.name}: tier ${t.tier}, ${t.slice} slices, ${t.retentionDays} days retention, spread ${t.partitionSpread}, ${describePlan(t.plan)}\n`);
      } finally {
        store.close();
      }
    });

  const storeOptions = (cmd: Command) =>
    cmd
      .addOption(dataDirOption())
      .option("--dir <dir>", "archive directory (default: <data-dir>/archive)")
      .addOption(new Option("--s3-bucket <bucket>", "archive in this S3 bucket instead").env("UNMELTABLE_ARCHIVE_BUCKET"))
      .option("--s3-prefix <prefix>", "key prefix in the bucket", "")
      .addOption(new Option("--s3-endpoint <url>", "S3-compatible endpoint (path-style)").env("UNMELTABLE_S3_ENDPOINT"));
  storeOptions(program.command("archive").description("Archive the raw topic from where the last run stopped to its end, per day, tenant and hour (gzipped NDJSON + manifests), and rebuild the day's manifest. Safe to rerun: it goes on from the checkpoints."))
    .option("--day <YYYY-MM-DD>", "the day (UTC) whose manifest is rebuilt; a first run starts 6 h before it (default: yesterday)")
    .addOption(new Option("--queue <kind>", "the queue to read").choices(["embedded", "kafka"]).default("embedded"))
    .addOption(new Option("--brokers <list>", "Kafka brokers, HOST:PORT,...").env("UNMELTABLE_BROKERS"))
    .action(archiveCommand);
  storeOptions(program.command("replay").description("Feed a tenant's archived raw events back through the process and index stages, with the tenant's derived-field rules as they are now (already indexed events are left alone, unless --rederive)."))
    .requiredOption("--tenant <name>", "whose events")
    .requiredOption("--from <time>", "start: -2d, ISO-8601, epoch ms")
    .option("--until <time>", "end", "now")
    .option("--rederive", "store the events already indexed again in place, so that they get the derived fields of today's rules")
    .action(replayCommand);
  program
    .command("lifecycle")
    .description("Run the index lifecycle once: delete slices past retention, fit each tenant's slice length to its volume, create next slices ahead of time (the server does this every hour).")
    .addOption(dataDirOption())
    .option("--target-bytes <n>", "the size a slice should reach", intArg, 1024 ** 3)
    .option("--json", "print the report as JSON")
    .action(lifecycleCommand);

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

  const deadletters = program
    .command("deadletters")
    .description("What left the pipeline without reaching the index (unknown tokens, index refusals...), and sending it back once the cause is fixed.");
  const deadLetterOptions = (cmd: Command) =>
    cmd
      .addOption(dataDirOption())
      .option("--reason <reason>", "only this drop reason (unknown_token, index_rejected, process_failed, ...)")
      .option("--tenant <name>", "only this tenant's (for an unknown token: the tenant it belongs to now)")
      .option("--stage <stage>", "only those of this stage (collector, process, index)")
      .option("--from <time>", "only letters written at or after this: -2d, ISO-8601, epoch ms")
      .option("--until <time>", "only letters written before this")
      .option("--json", "print JSON")
      .addOption(new Option("--queue <kind>", "the queue").choices(["embedded", "kafka"]).env("UNMELTABLE_QUEUE").default("embedded"))
      .addOption(new Option("--brokers <list>", "Kafka brokers, HOST:PORT,...").env("UNMELTABLE_BROKERS"))
      .addOption(new Option("--msk-cluster-arn <arn>", "a deployment's MSK cluster (brokers looked up with kafka:GetBootstrapBrokers)").env("UNMELTABLE_MSK_CLUSTER_ARN"))
      .addOption(new Option("--kafka-sasl <mechanism>", "MSK IAM authentication (port 9098)").choices(["aws-msk-iam"]).env("UNMELTABLE_KAFKA_SASL"))
      .addOption(new Option("--kafka-tls", "connect to Kafka over TLS").env("UNMELTABLE_KAFKA_TLS"))
      .addOption(new Option("--kafka-client <client>", "the Kafka client: js (pure JavaScript, the default) or native (the optional @confluentinc/kafka-javascript)").choices(["js", "native"]).env("UNMELTABLE_KAFKA_CLIENT"))
      .addOption(new Option("--aws-region <region>", "AWS region (MSK IAM, the MSK lookup, an s3:// tenants config)").env("AWS_REGION"))
      .addOption(new Option("--tenants <source>", "a deployment's tenants config (s3://bucket/tenants.json or a JSON file) instead of the data dir's tenants").env("UNMELTABLE_TENANTS"));
  deadLetterOptions(deadletters.command("list").description("List dead letters: where, why, and whether each can be (or was) redriven. Read-only; safe while the server runs.")).action(
    deadLettersListCommand,
  );
  deadLetterOptions(
    deadletters
      .command("redrive")
      .description(
        "Send the matching redrivable dead letters back into the pipeline (unknown tokens now known and processing failures to the raw topic, index refusals to their processed topic), each once: what was redriven is recorded, a rerun skips it. With the embedded queue and a running server, the server does it.",
      ),
  ).action(deadLettersRedriveCommand);

  return program;
}

interface RunFlags {
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
  syslogMaxConnections: number;
  udpReceiver: "auto" | "native" | "dgram";
  syslogBufferBytes: number;
  syslogIdleTimeout: number;
  syslogFrameTimeout: number;
  deadLetterMaxBytes: number;
  deadLetterRate: number;
  rawPartitions: number;
  queue: "embedded" | "kafka";
  brokers?: string;
  mskClusterArn?: string;
  awsRegion?: string;
  kafkaTls?: boolean;
  kafkaCa?: string;
  kafkaSasl?: "scram-sha-256" | "scram-sha-512" | "plain" | "aws-msk-iam";
  kafkaUsername?: string;
  kafkaPassword?: string;
  kafkaClient?: "js" | "native";
  spoolMaxBytes: number;
  produceTimeoutMs: number;
  sample?: number;
  groupPrefix?: string;
  tenants?: string;
  webhookAllow?: string[];
  smtpUrl?: string;
  mailFrom?: string;
  pagerdutyUrl?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  oidcName: string;
  indexOpenSlices?: number;
  tenantMetricLabels: number;
}

function addRunOptions(cmd: Command, roles: { collector: boolean; stages: boolean }): Command {
  cmd.addOption(dataDirOption()).addOption(new Option("--host <addr>", "address to listen on").env("UNMELTABLE_HOST").default(DEFAULTS.host));
  cmd.addOption(portOption("--http-port <port>", roles.collector ? "HTTP: Loggly ingest, the search API, /healthz, /metrics" : "HTTP: the search API, /healthz, /metrics", "UNMELTABLE_HTTP_PORT", DEFAULTS.httpPort));
  if (roles.collector) {
    cmd
      .addOption(portOption("--syslog-port <port>", "syslog over UDP and TCP", "UNMELTABLE_SYSLOG_PORT", DEFAULTS.syslogPort))
      .addOption(portOption("--tls-port <port>", "syslog over TLS, RFC 5425 (needs --tls-cert and --tls-key)", "UNMELTABLE_TLS_PORT"))
      .addOption(portOption("--https-port <port>", "HTTPS for ingest and the API (needs --tls-cert and --tls-key)", "UNMELTABLE_HTTPS_PORT"))
      .addOption(new Option("--tls-cert <file>", "PEM certificate (chain) for TLS and HTTPS").env("UNMELTABLE_TLS_CERT"))
      .addOption(new Option("--tls-key <file>", "PEM private key for TLS and HTTPS").env("UNMELTABLE_TLS_KEY"))
      .addOption(new Option("--default-tenant <name>", "tenant for syslog messages that carry no [TOKEN@41058] (off by default)").env("UNMELTABLE_DEFAULT_TENANT"))
      .addOption(new Option("--collector-id <id>", "name of this collector in every raw record").env("UNMELTABLE_COLLECTOR_ID").default(DEFAULTS.collectorId))
      .addOption(sizeOption("--max-event-bytes <n>", "largest accepted event", "UNMELTABLE_MAX_EVENT_BYTES", DEFAULTS.maxEventBytes))
      .addOption(
        new Option("--udp-receiver <path>", "how syslog UDP is received: native (recvmmsg in a thread of its own; built at install where a C compiler is present), dgram (Node's dgram in a worker thread), or auto: native where built")
          .env("UNMELTABLE_UDP_RECEIVER")
          .choices(["auto", "native", "dgram"])
          .default("auto"),
      )
      .addOption(positiveOption("--syslog-max-connections <n>", "open syslog TCP (and TLS) connections per listener; beyond it new ones are refused", "UNMELTABLE_SYSLOG_MAX_CONNECTIONS", DEFAULT_STREAM_LIMITS.maxConnections))
      .addOption(positiveOption("--syslog-buffer-bytes <n>", "unfinished syslog frames of all connections together; beyond it the connections holding one longest are closed", "UNMELTABLE_SYSLOG_BUFFER_BYTES", DEFAULT_STREAM_LIMITS.bufferBytes))
      .addOption(secondsOption("--syslog-idle-timeout <seconds>", "close a syslog connection that sends nothing for this long", "UNMELTABLE_SYSLOG_IDLE_TIMEOUT", DEFAULT_STREAM_LIMITS.idleTimeoutMs / 1000))
      .addOption(secondsOption("--syslog-frame-timeout <seconds>", "close a syslog connection that does not finish a frame (or a TLS handshake) within this long", "UNMELTABLE_SYSLOG_FRAME_TIMEOUT", DEFAULT_STREAM_LIMITS.frameTimeoutMs / 1000))
      .addOption(sizeOption("--dead-letter-max-bytes <n>", "bytes of a refused message kept in its dead letter", "UNMELTABLE_DEAD_LETTER_MAX_BYTES", DEFAULT_DEAD_LETTER_LIMITS.maxLetterBytes))
      .addOption(sizeOption("--dead-letter-rate <bytes/s>", "refused messages stored per second; beyond it they are only counted", "UNMELTABLE_DEAD_LETTER_RATE", DEFAULT_DEAD_LETTER_LIMITS.bytesPerSecond))
      .addOption(new Option("--tenants <source>", "read tenants from a deployment's tenants config (s3://bucket/tenants.json or a JSON file; re-read every 30 s) instead of the data dir (collector only)").env("UNMELTABLE_TENANTS"))
      .addOption(sizeOption("--spool-max-bytes <n>", "disk spool limit while Kafka is unreachable (then senders are slowed down)", "UNMELTABLE_SPOOL_MAX_BYTES", DEFAULTS.spoolMaxBytes));
  }
  if (roles.stages) {
    cmd.addOption(
      new Option("--webhook-allow <list>", "alert webhooks may also go to these CIDRs, addresses and host names (comma-separated; by default only public addresses)")
        .env("UNMELTABLE_WEBHOOK_ALLOW")
        .argParser(allowListArg),
    );
    cmd.addOption(new Option("--smtp-url <url>", "send alert emails through this SMTP server (smtp://user:pass@host:587, STARTTLS when offered; smtps://…:465)").env("UNMELTABLE_SMTP_URL"));
    cmd.addOption(new Option("--mail-from <address>", "the sender of alert emails").env("UNMELTABLE_MAIL_FROM").default("unmeltable <alerts@localhost>"));
    cmd.addOption(new Option("--pagerduty-url <url>", "PagerDuty's Events API v2 endpoint (the EU region's: https://events.eu.pagerduty.com/v2/enqueue)").env("UNMELTABLE_PAGERDUTY_URL"));
    cmd.addOption(new Option("--oidc-issuer <url>", "single sign-on: the OpenID Connect provider's issuer URL (https://…; register <UNMELTABLE_PUBLIC_URL>/auth/sso/callback as its redirect URI)").env("UNMELTABLE_OIDC_ISSUER"));
    cmd.addOption(new Option("--oidc-client-id <id>", "single sign-on: this server's client id at the provider").env("UNMELTABLE_OIDC_CLIENT_ID"));
    cmd.addOption(new Option("--oidc-client-secret <secret>", "single sign-on: the client secret (prefer the environment variable)").env("UNMELTABLE_OIDC_CLIENT_SECRET"));
    cmd.addOption(new Option("--oidc-name <name>", "single sign-on: the provider's name on the sign-in button").env("UNMELTABLE_OIDC_NAME").default("single sign-on"));
    const fds = fdLimit();
    cmd.addOption(
      new Option("--index-open-slices <n>", "index slice files kept open (up to 4 file descriptors each; the least recently used are closed beyond it)")
        .env("UNMELTABLE_INDEX_OPEN_SLICES")
        .argParser(positiveArg)
        .default(defaultOpenSlices(fds), `${defaultOpenSlices(fds)}: a quarter of the open-files limit (${fds === Number.MAX_SAFE_INTEGER ? "unlimited" : fds}) / 4, between 16 and 4096`),
    );
  }
  return cmd
    .addOption(sizeOption("--raw-partitions <n>", "partitions of the raw and processed topics when they are created", "UNMELTABLE_RAW_PARTITIONS", DEFAULTS.rawPartitions))
    .addOption(new Option("--queue <kind>", "the queue: the embedded on-disk log, or Kafka / Amazon MSK").choices(["embedded", "kafka"]).env("UNMELTABLE_QUEUE").default("embedded"))
    .addOption(new Option("--brokers <list>", "Kafka bootstrap brokers, HOST:PORT,...").env("UNMELTABLE_BROKERS"))
    .addOption(new Option("--msk-cluster-arn <arn>", "look the brokers up from an Amazon MSK cluster (kafka:GetBootstrapBrokers)").env("UNMELTABLE_MSK_CLUSTER_ARN"))
    .addOption(new Option("--aws-region <region>", "AWS region (MSK IAM, the MSK lookup)").env("AWS_REGION"))
    .addOption(new Option("--kafka-tls", "connect to Kafka over TLS").env("UNMELTABLE_KAFKA_TLS"))
    .addOption(new Option("--kafka-ca <file>", "PEM CA bundle for the brokers' certificates").env("UNMELTABLE_KAFKA_CA"))
    .addOption(new Option("--kafka-sasl <mechanism>", "SASL: SCRAM (MSK port 9096), PLAIN, or MSK IAM (OAUTHBEARER, port 9098)").choices(["scram-sha-256", "scram-sha-512", "plain", "aws-msk-iam"]).env("UNMELTABLE_KAFKA_SASL"))
    .addOption(new Option("--kafka-username <name>", "SASL username").env("UNMELTABLE_KAFKA_USERNAME"))
    .addOption(new Option("--kafka-password <secret>", "SASL password (prefer the environment variable)").env("UNMELTABLE_KAFKA_PASSWORD"))
    .addOption(new Option("--kafka-client <client>", "the Kafka client: js (pure JavaScript, the default) or native (the optional @confluentinc/kafka-javascript)").choices(["js", "native"]).env("UNMELTABLE_KAFKA_CLIENT"))
    .addOption(positiveOption("--tenant-metric-labels <n>", "tenants with their own tenant label on the per-tenant metrics (the largest by volume; the others are summed as tenant=\"_other\")", "UNMELTABLE_TENANT_METRIC_LABELS", DEFAULT_TENANT_LABELS))
    .addOption(sizeOption("--produce-timeout-ms <n>", "how long a Kafka write may take before it fails (the collector then spools the batch to disk)", "UNMELTABLE_PRODUCE_TIMEOUT_MS", 10_000));
}

function queueConfig(opts: RunFlags): QueueConfig {
  if (opts.queue === "embedded") return { kind: "embedded" };
  if (!opts.brokers && !opts.mskClusterArn) throw new InvalidArgumentError("--queue kafka needs --brokers HOST:PORT,... or --msk-cluster-arn");
  let sasl: KafkaConnection["sasl"];
  if (opts.kafkaSasl === "aws-msk-iam") {
    if (!opts.awsRegion) throw new InvalidArgumentError("--kafka-sasl aws-msk-iam needs --aws-region (or AWS_REGION)");
    sasl = { mechanism: "aws-msk-iam", region: opts.awsRegion };
  } else if (opts.kafkaSasl) {
    if (!opts.kafkaUsername || !opts.kafkaPassword) throw new InvalidArgumentError(`--kafka-sasl ${opts.kafkaSasl} needs --kafka-username and --kafka-password`);
    sasl = { mechanism: opts.kafkaSasl, username: opts.kafkaUsername, password: opts.kafkaPassword };
  }
  const config: QueueConfig = {
    kind: "kafka",
    brokers: opts.brokers ? parseBrokers(opts.brokers) : [],
    mskClusterArn: opts.mskClusterArn,
    region: opts.awsRegion,
    ssl: opts.kafkaTls,
    caFile: opts.kafkaCa,
    sasl,
    clientId: `unmeltable-${opts.collectorId ?? DEFAULTS.collectorId}`,
    produceTimeoutMs: opts.produceTimeoutMs,
    client: opts.kafkaClient,
  };
  // Refused here, before the data dir or a port is touched, with the flag of each wrong option.
  checkQueueConfig(config);
  return config;
}

/** Single sign-on's flags: all three or none, the issuer https (plain HTTP only on this machine's loopback). */
function ssoConfig(opts: RunFlags): { issuer: string; clientId: string; clientSecret: string; name: string } | undefined {
  if (!opts.oidcIssuer && !opts.oidcClientId && !opts.oidcClientSecret) return undefined;
  if (!opts.oidcIssuer || !opts.oidcClientId || !opts.oidcClientSecret) throw new InvalidArgumentError("single sign-on needs --oidc-issuer, --oidc-client-id and --oidc-client-secret together");
  let url: URL;
  try {
    url = new URL(opts.oidcIssuer);
  } catch {
    throw new InvalidArgumentError(`--oidc-issuer ${JSON.stringify(opts.oidcIssuer)} is not a URL`);
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) throw new InvalidArgumentError("--oidc-issuer must be an https:// URL (plain http only for a provider on this machine's loopback)");
  return { issuer: opts.oidcIssuer, clientId: opts.oidcClientId, clientSecret: opts.oidcClientSecret, name: opts.oidcName.slice(0, 60) };
}

async function runAction(opts: RunFlags, roles: { collector: boolean; stages: boolean }): Promise<void> {
  const dataDir = path.resolve(opts.dataDir);
  // Readable lines on stderr; UNMELTABLE_LOG_FORMAT=json for pino's JSON (packages/runtime/src/logger.ts).
  const logger = createLogger(loggerOptionsFromEnv());
  // A promise that some part left unhandled (a library's background work, such as a Kafka client's
  // reconnects while brokers come back) must not take the process down: what was acknowledged is durable,
  // but a dead collector refuses everything sent after. Node 20 would exit; say it loudly and go on.
  process.on("unhandledRejection", (reason) => logger.error("unhandled promise rejection (a bug: please report it); the program goes on", errorFields(reason)));
  const running = await start({
    dataDir,
    host: opts.host,
    syslogPort: opts.syslogPort,
    httpPort: opts.httpPort,
    tls: opts.tlsCert && opts.tlsKey ? { certFile: opts.tlsCert, keyFile: opts.tlsKey } : undefined,
    tlsPort: opts.tlsPort,
    httpsPort: opts.httpsPort,
    defaultTenant: opts.defaultTenant,
    collectorId: opts.collectorId ?? DEFAULTS.collectorId,
    maxEventBytes: opts.maxEventBytes ?? DEFAULTS.maxEventBytes,
    maxRequestBytes: DEFAULTS.maxRequestBytes,
    udpReceivePath: opts.udpReceiver,
    syslogLimits: {
      maxConnections: opts.syslogMaxConnections,
      bufferBytes: opts.syslogBufferBytes,
      idleTimeoutMs: Math.round(opts.syslogIdleTimeout * 1000),
      frameTimeoutMs: Math.round(opts.syslogFrameTimeout * 1000),
    },
    deadLetterLimits: { maxLetterBytes: opts.deadLetterMaxBytes, bytesPerSecond: opts.deadLetterRate },
    rawPartitions: opts.rawPartitions,
    queue: queueConfig(opts),
    roles,
    spoolMaxBytes: opts.spoolMaxBytes ?? DEFAULTS.spoolMaxBytes,
    sampleRate: opts.sample,
    tenantsSource: opts.tenants,
    groupPrefix: opts.groupPrefix ?? (opts.sample !== undefined ? "staging-" : undefined),
    webhookAllow: opts.webhookAllow,
    mail: opts.smtpUrl ? { smtpUrl: opts.smtpUrl, from: opts.mailFrom ?? "unmeltable <alerts@localhost>" } : undefined,
    pagerDutyUrl: opts.pagerdutyUrl,
    sso: ssoConfig(opts),
    indexOpenSlices: opts.indexOpenSlices,
    tenantMetricLabels: opts.tenantMetricLabels,
    logger,
  });
  if (roles.collector) {
    process.stdout.write(banner({ dataDir, syslogPort: running.syslogPort!, tlsPort: running.tlsPort, httpPort: running.httpPort, httpsPort: running.httpsPort, tenant: running.defaultTenant, defaultTenant: opts.defaultTenant, ui: roles.stages }));
  } else {
    process.stdout.write(`\nunmeltable stages are running (queue: ${opts.queue}); search API on http://localhost:${running.httpPort}/apiv2/\n`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: draining (finishing requests, making accepted events durable)`);
    running.stop().then(
      () => {
        logger.info("stopped cleanly");
        process.exit(0);
      },
      (err: Error) => {
        logger.error(`stop failed: ${err.stack ?? err.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
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

function positiveOption(flags: string, description: string, env: string, dflt: number): Option {
  return new Option(flags, description).env(env).argParser(positiveArg).default(dflt);
}

function positiveArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function secondsOption(flags: string, description: string, env: string, dflt: number): Option {
  return new Option(flags, description).env(env).argParser(secondsArg).default(dflt);
}

/** Seconds up to 20 days: Node's timers hold at most 2^31 - 1 ms (24.8 days) and fire at once beyond. */
function secondsArg(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 20 * 86_400)) throw new InvalidArgumentError("expected a number of seconds from 0 to 1728000 (20 days), e.g. 30 or 0.5");
  return n;
}

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number 0-65535");
  return n;
}

function rateArg(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("expected a fraction in (0, 1], e.g. 0.05");
  return n;
}

function allowListArg(value: string): string[] {
  try {
    return parseAllowList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

export async function main(argv: string[]): Promise<void> {
  // Whatever this program creates — the data dir, its databases, queue segments, index slices, archives —
  // is the service user's alone (files 0600, directories 0700).
  process.umask(PRIVATE_UMASK);
  // `unmeltable queue read | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    const message = process.env.UNMELTABLE_DEBUG && !(err instanceof TenantError || err instanceof AccountError) ? (e.stack ?? String(err)) : (e.message ?? String(err));
    process.stderr.write(`unmeltable: ${message}\n`);
    process.exit(1);
  }
}
