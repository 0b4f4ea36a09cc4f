import { RAW_TOPIC, type Logger, type Metrics, type Queue, type QueueProducer, type UsageObserver } from "@unmeltable/core";
import {
  createIngestHandler,
  DeadLetterWriter,
  Ingestor,
  RawBatcher,
  SpoolingSink,
  startSyslogListeners,
  type DeadLetterLimits,
  type RawSink,
  type WriteFailure,
  type StreamLimits,
  type UdpReceivePath,
} from "@unmeltable/collector";
import type { HttpRoute } from "./http-server";
import { ingestRoutes } from "./ingest-http";
import type { TenantDirectory } from "@unmeltable/core";

export interface CollectorPart {
  syslogPort: number;
  tlsPort?: number;
  routes: HttpRoute[];
  spool?: SpoolingSink;
  /** Set while queue (or spool) writes fail: /healthz reports "degraded" with it. */
  writeFailure(): WriteFailure | undefined;
  /** Sets the gauges that are read rather than counted (called before /metrics is served). */
  refreshGauges(): void;
  stop(): Promise<void>;
}

/** The collector's settings, as the command line gives them (part of StartConfig, start.ts). */
export interface CollectorSettings {
  host: string;
  syslogPort: number;
  tlsPort?: number;
  defaultTenant?: string;
  collectorId: string;
  maxEventBytes: number;
  maxRequestBytes: number;
  /** Bounds on syslog stream connections (defaults: DEFAULT_STREAM_LIMITS). */
  syslogLimits?: Partial<StreamLimits>;
  /** How syslog UDP is received (udp-receiver.ts; default "auto": native where built). */
  udpReceivePath?: UdpReceivePath;
  /** Bounds on storing refused messages (defaults: DEFAULT_DEAD_LETTER_LIMITS). */
  deadLetterLimits?: Partial<DeadLetterLimits>;
}

/**
 * The collectors: syslog UDP/TCP/TLS listeners and Loggly's HTTP ingest routes, feeding raw batches to the
 * raw topic — through a disk spool when the queue is Kafka, so that they keep accepting while it is away.
 * `settings` are the command line's; `wiring` what the program built for it.
 */
export async function startCollector(
  settings: CollectorSettings,
  wiring: {
    /** The certificate and key read from StartConfig.tls, for syslog over TLS. */
    tls?: { cert: Buffer; key: Buffer };
    queue: Queue;
    producer: QueueProducer;
    rawPartitions: number;
    spool?: { dir: string; maxBytes: number };
    tenants: TenantDirectory;
    metrics: Metrics;
    /** Per-tenant usage: what each tenant sent and what of it was refused. */
    usage?: UsageObserver;
    /** Bound to the collector by the caller. */
    logger: Logger;
  },
): Promise<CollectorPart> {
  const options = { ...settings, ...wiring, tls: wiring.tls };
  const { metrics, producer } = options;
  const toQueue: RawSink = { send: async (records, signal) => void (await producer.send(RAW_TOPIC, records, { signal })) };
  const spool = options.spool ? await SpoolingSink.open({ dir: options.spool.dir, maxBytes: options.spool.maxBytes, primary: toQueue, metrics, logger: options.logger }) : undefined;
  const dropped = metrics.counter("unmeltable_dropped_events_total", "Events that went to the dead letters instead of the index, by reason and stage", ["reason", "stage"]);
  const unstored = metrics.counter("unmeltable_dead_letters_unstored_total", "Refused events counted in unmeltable_dropped_events_total but not stored: over --dead-letter-rate", ["reason", "stage"]);
  const deadLetters = new DeadLetterWriter(producer, dropped, { limits: options.deadLetterLimits, unstored, usage: options.usage, logger: options.logger });
  const batcher = new RawBatcher({ sink: spool ?? toQueue, collector: options.collectorId, rawPartitions: options.rawPartitions });
  const durableCounter = metrics.counter("unmeltable_events_durable_total", "Events acknowledged as durable (in the queue or the collector's spool)").labels({});
  batcher.on("durable", (n: number) => durableCounter.inc(n));
  const writeFailures = metrics.counter("unmeltable_queue_write_failures_total", "Raw batch writes to the queue (or spool) that failed: those of requests were answered 503, those of streams are retried").labels({});
  const writeFailing = metrics.gauge("unmeltable_queue_write_failing", "1 while raw batch writes fail (then /healthz says degraded), else 0");
  writeFailing.set(0);
  let lastLogged = 0;
  batcher.on("sendError", (err: Error) => {
    writeFailures.inc();
    // While a disk is full every write fails: say so when it starts and then once a minute.
    if (Date.now() - lastLogged > 60_000) {
      options.logger.error(`raw batch write failed: ${err.message} (HTTP requests are answered 503, syslog streams are paused and their events retried)`, { error: err.message });
      lastLogged = Date.now();
    }
  });
  batcher.on("writeFailing", () => writeFailing.set(1));
  batcher.on("writeRecovered", () => {
    writeFailing.set(0);
    lastLogged = 0;
    options.logger.info("raw batch writes succeed again");
  });
  const inflight = metrics.gauge("unmeltable_collector_inflight_bytes", "Bytes accepted by the collector and not yet durable");

  const ingestor = new Ingestor({
    tenants: options.tenants,
    defaultTenant: options.defaultTenant,
    collector: options.collectorId,
    maxEventBytes: options.maxEventBytes,
    batcher,
    deadLetters,
    metrics,
    usage: options.usage,
  });
  const syslog = await startSyslogListeners({
    host: options.host,
    port: options.syslogPort,
    tls: options.tlsPort !== undefined && options.tls ? { port: options.tlsPort, ...options.tls } : undefined,
    maxEventBytes: options.maxEventBytes,
    ingestor,
    batcher,
    limits: options.syslogLimits,
    udpReceivePath: options.udpReceivePath,
    metrics,
    logger: options.logger,
  });
  const ingest = createIngestHandler({
    ingestor,
    tenants: options.tenants,
    maxEventBytes: options.maxEventBytes,
    maxRequestBytes: options.maxRequestBytes,
    // Memory is bounded: past the high-water mark HTTP senders are told to retry. (While writes fail,
    // requests still try theirs: each fails at once, and the first to succeed ends the failure.)
    overloaded: () => batcher.overHighWater,
  });
  return {
    syslogPort: syslog.tcpPort,
    tlsPort: syslog.tlsPort,
    spool,
    writeFailure: () => batcher.writeFailure,
    refreshGauges: () => inflight.set(batcher.inflightBytes),
    routes: ingestRoutes(ingest),
    stop: async () => {
      await syslog.close();
      await batcher.close();
      await deadLetters.flush();
      await spool?.close();
    },
  };
}
