import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createIndexStage, createProcessStage, DEAD_LETTER_TOPIC, processedTopic, RAW_TOPIC, type Tenant } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { StageRunner } from "@unmeltable/runner";
import {
  createIngestHandler,
  DeadLetterWriter,
  INGEST_PATH,
  Ingestor,
  RawBatcher,
  startSyslogListeners,
  type SyslogListeners,
} from "@unmeltable/collector";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { apiHandler, tailHandler } from "./api-http";
import { createRequestListener, sendJson, startHttpServers, type HttpServers, type Route } from "./http-server";
import { PrometheusMetrics } from "./prometheus";
import { TenantStore } from "./tenant-store";

export interface StartConfig {
  dataDir: string;
  host: string;
  syslogPort: number;
  httpPort: number;
  /** Certificate and key for syslog over TLS (tlsPort) and HTTPS (httpsPort). */
  tls?: { certFile: string; keyFile: string };
  tlsPort?: number;
  httpsPort?: number;
  defaultTenant?: string;
  collectorId: string;
  maxEventBytes: number;
  maxRequestBytes: number;
  rawPartitions: number;
  log: (line: string) => void;
}

export interface Running {
  syslogPort: number;
  tlsPort?: number;
  httpPort: number;
  httpsPort?: number;
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
  collectorId: os.hostname(),
};

/** Starts the single-machine pipeline: tenants, the embedded queue, the collectors and the HTTP server. */
export async function start(config: StartConfig): Promise<Running> {
  const metrics = new PrometheusMetrics();
  const parts = new Map<string, boolean>([
    ["tenants", false],
    ["queue", false],
    ["index", false],
    ["stages", false],
    ["syslog", false],
    ["http", false],
  ]);
  let stopping = false;

  const store = new TenantStore(config.dataDir);
  let defaultTenant: Tenant | undefined;
  if (store.list().length === 0) {
    defaultTenant = store.add("default");
    config.log(`created tenant "default" (first start)`);
  }
  if (config.defaultTenant && !store.get(config.defaultTenant)) {
    throw new Error(`--default-tenant ${config.defaultTenant}: no such tenant (add it with: unmeltable tenants add ${config.defaultTenant})`);
  }
  defaultTenant = store.get(config.defaultTenant ?? "default") ?? defaultTenant;
  const tenants = store.liveDirectory();
  parts.set("tenants", true);

  const queue = await EmbeddedQueue.open({ dir: path.join(config.dataDir, "queue") });
  await queue.admin.ensureTopics([
    { name: RAW_TOPIC, partitions: config.rawPartitions },
    { name: DEAD_LETTER_TOPIC, partitions: 1 },
  ]);
  const rawPartitions = await queue.admin.partitions(RAW_TOPIC);
  const producer = queue.producer();
  // One processed topic per index tier; new tiers appear when a tenant is moved to one.
  const tierTopics = new Set<string>();
  const ensureTierTopics = async (list: Tenant[]) => {
    const missing = [...new Set(["default", ...list.map((t) => t.tier)])].filter((tier) => !tierTopics.has(tier));
    if (missing.length === 0) return;
    await queue.admin.ensureTopics(missing.map((tier) => ({ name: processedTopic(tier), partitions: config.rawPartitions })));
    for (const tier of missing) tierTopics.add(tier);
  };
  await ensureTierTopics(tenants.list());
  parts.set("queue", true);

  const index = new EmbeddedIndex({ dir: path.join(config.dataDir, "index"), slices: Object.fromEntries(tenants.list().map((t) => [t.name, t.slice])) });
  parts.set("index", true);
  const runners: StageRunner[] = [];
  const startIndexRunner = (tier: string) => {
    const runner = new StageRunner({
      name: `index.${tier}`,
      queue,
      producer,
      group: `index.${tier}`,
      topics: [processedTopic(tier)],
      stage: createIndexStage({ index, stageName: "index" }),
      // Big transactions index fastest (FTS5 flushes per transaction); the window bounds the latency.
      batchSize: 500,
      batchWindowMs: 100,
      maxBatchBytes: 16 * 1024 * 1024,
      metrics,
      log: config.log,
    });
    runner.start();
    runners.push(runner);
  };
  for (const tier of tierTopics) startIndexRunner(tier);
  tenants.on("change", (list: Tenant[]) => {
    for (const t of list) index.setSliceLength(t.name, t.slice);
    const before = new Set(tierTopics);
    void ensureTierTopics(list).then(() => {
      for (const tier of tierTopics) if (!before.has(tier)) startIndexRunner(tier);
    });
  });
  const processRunner = new StageRunner({
    name: "process",
    queue,
    producer,
    group: "process",
    topics: [RAW_TOPIC],
    stage: createProcessStage({ tierOf: (name) => tenants.byName(name)?.tier ?? "default" }),
    batchSize: 100,
    batchWindowMs: 10,
    maxBatchBytes: 4 * 1024 * 1024,
    metrics,
    log: config.log,
  });
  processRunner.start();
  runners.push(processRunner);
  parts.set("stages", true);

  const dropped = metrics.counter("unmeltable_dropped_events_total", "Events that went to the dead letters instead of the index, by reason and stage", ["reason", "stage"]);
  const deadLetters = new DeadLetterWriter(producer, dropped);
  const batcher = new RawBatcher({
    sink: { send: async (records) => void (await producer.send(RAW_TOPIC, records)) },
    collector: config.collectorId,
    rawPartitions,
  });
  const durableCounter = metrics.counter("unmeltable_events_durable_total", "Events acknowledged as durable in the raw topic").labels({});
  batcher.on("durable", (n: number) => durableCounter.inc(n));
  batcher.on("sendError", (err: Error) => config.log(`raw topic write failed, retrying: ${err.message}`));
  const inflight = metrics.gauge("unmeltable_collector_inflight_bytes", "Bytes accepted by the collector and not yet durable");
  const inflightTimer = setInterval(() => inflight.set(batcher.inflightBytes), 1000);
  inflightTimer.unref();

  const ingestor = new Ingestor({
    tenants,
    defaultTenant: config.defaultTenant,
    collector: config.collectorId,
    maxEventBytes: config.maxEventBytes,
    batcher,
    deadLetters,
    metrics,
  });

  let tlsMaterial: { cert: Buffer; key: Buffer } | undefined;
  if (config.tlsPort !== undefined || config.httpsPort !== undefined) {
    if (!config.tls?.certFile || !config.tls?.keyFile) throw new Error("--tls-port and --https-port need both --tls-cert and --tls-key");
    tlsMaterial = { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  }

  const syslog: SyslogListeners = await startSyslogListeners({
    host: config.host,
    port: config.syslogPort,
    tls: config.tlsPort !== undefined && tlsMaterial ? { port: config.tlsPort, ...tlsMaterial } : undefined,
    maxEventBytes: config.maxEventBytes,
    ingestor,
    batcher,
  });
  parts.set("syslog", true);

  const ingest = createIngestHandler({
    ingestor,
    tenants,
    maxEventBytes: config.maxEventBytes,
    maxRequestBytes: config.maxRequestBytes,
  });
  const routes: Route[] = [
    { methods: ["POST", "PUT", "OPTIONS"], path: INGEST_PATH, handler: ingest },
    { methods: ["GET"], path: /^\/apiv2\/tail\/?(?:\?.*)?$/, handler: tailHandler({ indexed: index, tenants }) },
    { methods: ["GET", "HEAD"], path: /^\/apiv2\//, handler: apiHandler({ index, tenants }) },
    {
      methods: ["GET", "HEAD"],
      path: /^\/healthz\/?(?:\?.*)?$/,
      handler: (_req, res) => {
        const ready = !stopping && [...parts.values()].every(Boolean);
        sendJson(res, ready ? 200 : 503, { status: ready ? "ok" : stopping ? "stopping" : "starting", parts: Object.fromEntries(parts) });
      },
    },
    {
      methods: ["GET"],
      path: /^\/metrics\/?(?:\?.*)?$/,
      handler: async (_req, res) => {
        const text = await metrics.text();
        res.writeHead(200, { "Content-Type": metrics.contentType });
        res.end(text);
      },
    },
  ];
  const http: HttpServers = await startHttpServers({
    host: config.host,
    port: config.httpPort,
    https: config.httpsPort !== undefined && tlsMaterial ? { port: config.httpsPort, ...tlsMaterial } : undefined,
    listener: createRequestListener(routes),
  });
  parts.set("http", true);

  return {
    syslogPort: syslog.tcpPort,
    tlsPort: syslog.tlsPort,
    httpPort: http.httpPort,
    httpsPort: http.httpsPort,
    defaultTenant,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      await Promise.all([syslog.close(), http.close()]);
      await batcher.close();
      await deadLetters.flush();
      await Promise.all(runners.map((r) => r.stop()));
      await index.close();
      clearInterval(inflightTimer);
      tenants.stop();
      await queue.close();
      store.close();
    },
  };
}
