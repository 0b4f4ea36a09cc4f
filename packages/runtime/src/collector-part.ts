import { RAW_TOPIC, type Metrics, type Queue, type QueueProducer } from "@unmeltable/core";
import {
  createIngestHandler,
  DeadLetterWriter,
  Ingestor,
  RawBatcher,
  SpoolingSink,
  startSyslogListeners,
  type RawSink,
} from "@unmeltable/collector";
import type { HttpRoute } from "./http-server";
import { ingestRoutes } from "./ingest-http";
import type { TenantDirectory } from "@unmeltable/core";

export interface CollectorPart {
  syslogPort: number;
  tlsPort?: number;
  routes: HttpRoute[];
  spool?: SpoolingSink;
  stop(): Promise<void>;
}

/**
 * The collectors: syslog UDP/TCP/TLS listeners and Loggly's HTTP ingest routes, feeding raw batches to the
 * raw topic — through a disk spool when the queue is Kafka, so that they keep accepting while it is away.
 */
export async function startCollector(options: {
  host: string;
  syslogPort: number;
  tlsPort?: number;
  tls?: { cert: Buffer; key: Buffer };
  defaultTenant?: string;
  collectorId: string;
  maxEventBytes: number;
  maxRequestBytes: number;
  queue: Queue;
  producer: QueueProducer;
  rawPartitions: number;
  spool?: { dir: string; maxBytes: number };
  tenants: TenantDirectory;
  metrics: Metrics;
  log: (line: string) => void;
}): Promise<CollectorPart> {
  const { metrics, producer } = options;
  const toQueue: RawSink = { send: async (records) => void (await producer.send(RAW_TOPIC, records)) };
  const spool = options.spool ? await SpoolingSink.open({ dir: options.spool.dir, maxBytes: options.spool.maxBytes, primary: toQueue, metrics, log: options.log }) : undefined;
  const dropped = metrics.counter("unmeltable_dropped_events_total", "Events that went to the dead letters instead of the index, by reason and stage", ["reason", "stage"]);
  const deadLetters = new DeadLetterWriter(producer, dropped);
  const batcher = new RawBatcher({ sink: spool ?? toQueue, collector: options.collectorId, rawPartitions: options.rawPartitions });
  const durableCounter = metrics.counter("unmeltable_events_durable_total", "Events acknowledged as durable (in the queue or the collector's spool)").labels({});
  batcher.on("durable", (n: number) => durableCounter.inc(n));
  let lastError = 0;
  batcher.on("sendError", (err: Error) => {
    // Once a spool fills up every retry fails; say so every few seconds, not every retry.
    if (Date.now() - lastError > 5000) options.log(`raw batch not yet durable, retrying: ${err.message}`);
    lastError = Date.now();
  });
  const inflight = metrics.gauge("unmeltable_collector_inflight_bytes", "Bytes accepted by the collector and not yet durable");
  const inflightTimer = setInterval(() => inflight.set(batcher.inflightBytes), 1000);
  inflightTimer.unref();

  const ingestor = new Ingestor({
    tenants: options.tenants,
    defaultTenant: options.defaultTenant,
    collector: options.collectorId,
    maxEventBytes: options.maxEventBytes,
    batcher,
    deadLetters,
    metrics,
  });
  const syslog = await startSyslogListeners({
    host: options.host,
    port: options.syslogPort,
    tls: options.tlsPort !== undefined && options.tls ? { port: options.tlsPort, ...options.tls } : undefined,
    maxEventBytes: options.maxEventBytes,
    ingestor,
    batcher,
  });
  const ingest = createIngestHandler({
    ingestor,
    tenants: options.tenants,
    maxEventBytes: options.maxEventBytes,
    maxRequestBytes: options.maxRequestBytes,
    // Memory is bounded: past the high-water mark (the spool full, the queue away) HTTP senders are told to retry.
    overloaded: () => batcher.overloaded,
  });
  return {
    syslogPort: syslog.tcpPort,
    tlsPort: syslog.tlsPort,
    spool,
    routes: ingestRoutes(ingest),
    stop: async () => {
      await syslog.close();
      await batcher.close();
      await deadLetters.flush();
      clearInterval(inflightTimer);
      await spool?.close();
    },
  };
}
