import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CachedRuleSource, DEAD_LETTER_TOPIC, deferredTopic, errorFields, processedTopic, RAW_TOPIC, SignInLimiter, usageObservers, type DerivedRuleSpec, type Logger, type Queue, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { startCollector, type CollectorPart, type CollectorSettings } from "./collector-part";
import { CONTROL_SOCKET, startControlSocket } from "./control-socket";
import { redriveDeadLetters } from "./dead-letters";
import { sendJson, startHttpServers, type HttpRoute, type HttpServers } from "./http-server";
import { PrometheusMetrics } from "./prometheus";
import { openQueue, type QueueConfig } from "./queue-config";
import { startStages, type StagesPart } from "./stages-part";
import { TenantMetrics } from "./tenant-metrics";
import { UsageLedger } from "./usage-ledger";
import { publicUrlOf, startAlerts, type AlertsPart } from "./alerts-part";
import { webUiRoutes } from "./web-ui";
import { AccountStore } from "./account-store";
import { accountsRoutes } from "./accounts-api";
import { basicPasswordLogin, SingleSignOn } from "@unmeltable/alerts";
import { TenantStore, type LiveTenantDirectory, type TenantWithApiToken } from "./tenant-store";
import { makeDataDirPrivate } from "./private-data-dir";
import { SqliteRecordStore, WebhookPolicy } from "@unmeltable/alerts";
import { loadTenantDirectory } from "@unmeltable/tenants-config";
import { TenantShares } from "@unmeltable/runner";

export interface StartConfig extends CollectorSettings {
  dataDir: string;
  httpPort: number;
  /** Certificate and key for syslog over TLS (tlsPort) and HTTPS (httpsPort). */
  tls?: { certFile: string; keyFile: string };
  httpsPort?: number;
  /** Partitions of the raw and processed topics. */
  rawPartitions: number;
  queue: QueueConfig;
  /** Which parts run: `start` runs both, `collector` and `stages` one each. */
  roles: { collector: boolean; stages: boolean };
  /** Limit of the collector's disk spool (used when the queue is Kafka). */
  spoolMaxBytes: number;
  /** The tenants config of a deployment (`s3://bucket/tenants.json` or a file) instead of the data dir's table. */
  tenantsSource?: string;
  /** Where alert webhooks may go beyond public addresses: CIDRs, addresses, host names (`--webhook-allow`). */
  webhookAllow?: string[];
  /** Alert emails: the SMTP server and the sender (`--smtp-url`, `--mail-from`); none without. */
  mail?: { smtpUrl: string; from: string };
  /** Single sign-on through an OpenID Connect provider (`--oidc-issuer`, `--oidc-client-id`, `--oidc-client-secret`, `--oidc-name`). */
  sso?: { issuer: string; clientId: string; clientSecret: string; name: string };
  /** PagerDuty's Events API endpoint (`--pagerduty-url`; default the US one). */
  pagerDutyUrl?: string;
  /** Slice files the embedded index keeps open (`--index-open-slices`; default from the open-files limit). */
  indexOpenSlices?: number;
  /** Tenants with their own `tenant` label on the per-tenant metrics (`--tenant-metric-labels`, default 50; the rest are "_other"). */
  tenantMetricLabels?: number;
  /** Staging: process this fraction of events, with consumer groups of their own (groupPrefix). */
  sampleRate?: number;
  groupPrefix?: string;
  /** The program's log (packages/runtime/src/logger.ts); parts get children bound to what they are. */
  logger: Logger;
}

export interface Running {
  syslogPort?: number;
  tlsPort?: number;
  httpPort: number;
  httpsPort?: number;
  /** The tenant the banner shows; with its API token when this start created it. */
  defaultTenant?: Tenant;
  /** Drains: stops accepting, makes everything accepted durable, closes the queue. */
  stop(): Promise<void>;
}

export const DEFAULTS = {
  host: "0.0.0.0",
  syslogPort: 5514,
  httpPort: 8080,
  maxEventBytes: 1024 * 1024,
  maxRequestBytes: 5 * 1024 * 1024,
  rawPartitions: 4,
  spoolMaxBytes: 1024 ** 3,
  collectorId: os.hostname(),
};

/**
 * Starts the program: tenants, the queue (embedded or Kafka), then the collectors and/or the processing
 * stages with the index and search API, and one HTTP server for all of it (plus /healthz, /metrics).
 */
export async function start(config: StartConfig): Promise<Running> {
  const metrics = new PrometheusMetrics();
  const parts = new Map<string, boolean>([
    ["tenants", false],
    ["queue", false],
  ]);
  if (config.roles.collector) parts.set("collector", false);
  if (config.roles.stages) parts.set("stages", false);
  parts.set("http", false);
  let stopping = false;
  const closers: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  const logger = config.logger;
  try {
    // Before anything opens a file: an older data dir's 0644 files and 0755 directories become private.
    const privacy = makeDataDirPrivate(config.dataDir);
    if (privacy.changed > 0) logger.info(`made the data dir private to this user: ${privacy.changed} files and directories set to 0600/0700`);
    for (const line of privacy.failed.slice(0, 5)) logger.warn(`could not make private (files 0600, directories 0700): ${line}`);
    const store = new TenantStore(config.dataDir);
    closers.push(() => store.close());
    // Per-tenant usage: the daily table (closed after the parts that report to it have drained) and
    // the per-tenant Prometheus series.
    const ledger = new UsageLedger(config.dataDir, { logger: logger.child({ component: "usage" }) });
    closers.push(() => ledger.close());
    // The tenants' recent shares of the ingest: the stages' fairness between tenants (issue 16).
    const ingestShares = new TenantShares();
    const usage = { ...usageObservers(ledger, new TenantMetrics(metrics.registry, { maxTenants: config.tenantMetricLabels }), ingestShares.usageObserver()), days: (tenant: string, days: readonly string[]) => ledger.days(tenant, days) };
    let created: TenantWithApiToken | undefined;
    let defaultTenant: Tenant | undefined;
    let collectorTenants: TenantDirectory;
    let tenants: LiveTenantDirectory;
    if (config.tenantsSource) {
      // A deployment's tenants config (s3://bucket/tenants.json on AWS), re-read every 30 s: what the
      // collector instances use, so that they see the tenants the functions see.
      if (config.roles.stages) throw new Error("--tenants is for `unmeltable collector`: the stages keep their tenants in the data dir");
      collectorTenants = await loadTenantDirectory(config.tenantsSource, undefined, (err) => logger.warn("tenants config not reloaded, the last good one stays in use", { source: config.tenantsSource, ...errorFields(err) }));
      logger.info(`tenants from ${config.tenantsSource}: ${collectorTenants.list().length}`);
      tenants = store.liveDirectory(undefined, logger.child({ component: "tenants" }));
    } else {
      if (store.list().length === 0) {
        created = store.add("default");
        logger.info(`created tenant "default" (first start)`);
      }
      tenants = store.liveDirectory(undefined, logger.child({ component: "tenants" }));
      collectorTenants = tenants;
    }
    if (config.defaultTenant && !collectorTenants.byName(config.defaultTenant)) {
      throw new Error(`--default-tenant ${config.defaultTenant}: no such tenant (add it with: unmeltable tenants add ${config.defaultTenant})`);
    }
    defaultTenant = collectorTenants.byName(config.defaultTenant ?? "default");
    // Its API token is known only now, as it was just created (the table keeps a hash).
    if (created && defaultTenant?.name === created.name) defaultTenant = created;
    closers.push(() => tenants.stop());
    parts.set("tenants", true);

    const queue: Queue = await openQueue(config.queue, config.dataDir, logger.child({ component: "queue" }));
    closers.push(() => queue.close());
    // The topic setup step: create what is missing, verify what exists (the same step runs on AWS).
    await queue.admin.ensureTopics([
      { name: RAW_TOPIC, partitions: config.rawPartitions },
      { name: DEAD_LETTER_TOPIC, partitions: 1 },
      ...[...new Set(["default", ...tenants.list().map((t) => t.tier)])].flatMap((tier) => [
        { name: processedTopic(tier), partitions: config.rawPartitions },
        // Over-plan events of the tier, indexed when the regular path is idle (docs/plans.md).
        { name: deferredTopic(tier), partitions: config.rawPartitions },
      ]),
    ]);
    const producer = queue.producer();
    closers.push(() => producer.close());
    parts.set("queue", true);

    // Commands that must write to the queue while the server holds it (deadletters redrive) ask here.
    const control = await startControlSocket({
      file: path.join(config.dataDir, CONTROL_SOCKET),
      redrive: (filter, onProgress) => {
        // A tenant added a moment ago (`tenants add --ingest-token`, then redrive) must be seen already.
        if (collectorTenants === tenants) tenants.refresh();
        return redriveDeadLetters({ queue, producer, tenants: collectorTenants, filter, onProgress });
      },
      logger,
    });
    if (control) closers.push(() => control.close());

    const routes: HttpRoute[] = [];
    /** The HTTP servers once they listen (the UI and the alerts' links need their ports). */
    const listening: { http?: HttpServers } = {};
    let collector: CollectorPart | undefined;
    if (config.roles.collector) {
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (config.tlsPort !== undefined || config.httpsPort !== undefined) {
        if (!config.tls?.certFile || !config.tls?.keyFile) throw new Error("--tls-port and --https-port need both --tls-cert and --tls-key");
        tls = { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
      }
      collector = await startCollector(config, {
        tls,
        queue,
        producer,
        rawPartitions: await queue.admin.partitions(RAW_TOPIC),
        // Only Kafka can be unreachable; the embedded queue is this process's own disk.
        spool: config.queue.kind === "kafka" ? { dir: path.join(config.dataDir, "spool"), maxBytes: config.spoolMaxBytes } : undefined,
        tenants: collectorTenants,
        metrics,
        usage,
        logger: logger.child({ component: "collector" }),
      });
      closers.push(() => collector!.stop());
      routes.push(...collector.routes);
      parts.set("collector", true);
    }

    let stages: StagesPart | undefined;
    let alertsPart: AlertsPart | undefined;
    let accounts: AccountStore | undefined;
    /** Sign-in failures, counted for the password form and HTTP basic alike. */
    const signIns = new SignInLimiter();
    if (config.roles.stages) {
      // Derived-field rules: kept beside the saved searches, read by the process stages, changed through the API.
      const derivedRules = new SqliteRecordStore<DerivedRuleSpec>(config.dataDir, "derived");
      closers.push(() => derivedRules.close());
      const derived = new CachedRuleSource(derivedRules, { ttlMs: 60_000, onError: (tenant, err) => logger.warn(`derived fields: cannot read the rules of ${tenant}: ${err.message}`) });
      stages = await startStages({
        derived,
        dataDir: config.dataDir,
        queue,
        producer,
        tenants,
        store,
        partitions: config.rawPartitions,
        metrics,
        logger,
        sampleRate: config.sampleRate,
        groupPrefix: config.groupPrefix,
        indexOpenSlices: config.indexOpenSlices,
        usage,
        // With the collectors in other processes (`unmeltable stages`), what the process stage reads is the ingest.
        usageIngestFromStage: !config.roles.collector,
        ingestShares,
        // The archive reads the local queue; with Kafka it is the archive Lambdas' job (or `unmeltable archive`).
        archive: config.queue.kind === "embedded",
      });
      closers.push(() => stages!.stop());
      // Alerts (checked by a timer) and their API.
      const alerts = (alertsPart = startAlerts({
        dataDir: config.dataDir,
        index: stages.index,
        tenants,
        httpAddress: () => ({ host: config.host, port: listening.http?.httpPort }),
        logger: logger.child({ component: "alerts" }),
        webhooks: new WebhookPolicy({ allow: config.webhookAllow }),
        mail: config.mail,
        pagerDutyUrl: config.pagerDutyUrl,
        derived: { rules: derivedRules, changed: (tenant) => derived.changed(tenant) },
      }));
      closers.push(() => alerts.stop());
      routes.push(...alerts.routes, ...stages.routes);
      parts.set("stages", true);
    }

    routes.push(
      {
        url: "/healthz",
        methods: ["GET", "HEAD"],
        handler: async (_req, reply) => {
          const ready = !stopping && [...parts.values()].every(Boolean);
          // A collector whose writes fail stores nothing: not healthy, whatever else works.
          const failure = collector?.writeFailure();
          const status = !ready ? (stopping ? "stopping" : "starting") : failure ? "degraded" : "ok";
          const body: Record<string, unknown> = { status, parts: Object.fromEntries(parts) };
          if (failure) body.reason = `queue writes fail since ${new Date(failure.since).toISOString()}: ${failure.message}`;
          if (collector?.spool) body.spool = { spooling: collector.spool.spooling, pendingBatches: collector.spool.pending, bytes: collector.spool.bytes };
          return sendJson(reply, status === "ok" ? 200 : 503, body);
        },
      },
      {
        url: "/metrics",
        methods: ["GET"],
        handler: async (_req, reply) => {
          await stages?.refreshLag();
          collector?.refreshGauges();
          const text = await metrics.text();
          return reply.code(200).header("content-type", metrics.contentType).send(text);
        },
      },
    );
    // The web UI (over the search API): /ui/config and the static files at / (every GET no other route takes).
    if (stages) {
      // Users, their sessions and tokens, and the ingest tokens, beside the tenants in the data dir.
      const store = (accounts = new AccountStore(config.dataDir));
      closers.push(() => store.close());
      const sso = config.sso && new SingleSignOn({ ...config.sso, publicUrl: () => publicUrlOf({ host: config.host, port: listening.http?.httpPort }), logger: logger.child({ component: "sso" }) }, store);
      if (sso) logger.info(`single sign-on through ${config.sso!.issuer}: register ${sso.redirectUri()} as the redirect URI there`, { component: "sso" });
      routes.push(...accountsRoutes({ accounts: store, tenants, limiter: signIns, changed: () => tenants.refresh(), invitations: alertsPart?.invitations, sso }));
      routes.push(
        ...webUiRoutes({
          tenants,
          info: () => ({ host: config.host, syslogPort: collector?.syslogPort, tlsPort: collector?.tlsPort, httpPort: listening.http?.httpPort, httpsPort: listening.http?.httpsPort, alerts: true, alertChannels: ["webhook", "slack", "pagerduty", ...(config.mail ? ["email"] : [])], accounts: true }),
        }),
      );
    }
    const tlsMaterial = config.httpsPort !== undefined && config.tls ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } : undefined;
    const http: HttpServers = await startHttpServers({
      host: config.host,
      port: config.httpPort,
      https: config.httpsPort !== undefined && tlsMaterial ? { port: config.httpsPort, ...tlsMaterial } : undefined,
      routes,
      onDrain: stages ? [() => stages.tail.endAll()] : [],
      // Loggly's older clients: HTTP basic with a user's email and password.
      passwordLogin: accounts ? basicPasswordLogin({ accounts, tenants, limiter: signIns }) : undefined,
      logger: logger.child({ component: "http" }),
    });
    listening.http = http;
    // Stop order: stop accepting (HTTP first), then the parts drain, then the queue closes.
    closers.push(() => http.close());
    parts.set("http", true);

    return {
      syslogPort: collector?.syslogPort,
      tlsPort: collector?.tlsPort,
      httpPort: http.httpPort,
      httpsPort: http.httpsPort,
      defaultTenant,
      stop: async () => {
        if (stopping) return;
        stopping = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
