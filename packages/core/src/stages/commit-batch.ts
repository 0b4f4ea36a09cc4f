import { encodeDeadLetter, type DeadLetter } from "../dead-letter";
import { DEAD_LETTER_TOPIC } from "../topics";
import type { Metrics } from "../ports/metrics";
import type { QueueProducer } from "../ports/queue";
import { observeDeadLetters, type UsageObserver } from "../usage";
import { QUERY_METRICS } from "../query/timed-index";
import type { StageResult } from "./stage";

/**
 * The metrics every stage driver emits, on both runtimes (the runner on one machine, the MSK driver on
 * Lambda), under these names. The Prometheus adapter uses `name`; CloudWatch, whose custom metrics are
 * named in CamelCase in this project's dashboards and alarms (stacks/monitoring.ts), shows the same
 * metric as `cloudwatch` (packages/lambda/src/powertools.ts maps one to the other with this table).
 *
 * `standard`: emitted by every stage for every batch (test/integration/stage-compliance.test.ts and
 * test/lambda/stage-compliance.test.ts check it); the others when what they count happens.
 */
export const STAGE_METRICS = {
  eventsIn: { name: "unmeltable_stage_events_in_total", cloudwatch: "EventsIn", kind: "counter", standard: true, help: "Events read by a stage", labels: ["stage"] },
  eventsOut: { name: "unmeltable_stage_events_out_total", cloudwatch: "EventsOut", kind: "counter", standard: true, help: "Events a stage passed on (produced or indexed)", labels: ["stage"] },
  batches: { name: "unmeltable_stage_batches_total", cloudwatch: "Batches", kind: "counter", standard: true, help: "Batches a stage handled (made durable, whether or not some records are retried)", labels: ["stage"] },
  batchSeconds: { name: "unmeltable_stage_batch_seconds", cloudwatch: "BatchSeconds", kind: "histogram", standard: true, help: "Time a stage took for a batch, from reading it to its output durable (seconds)", labels: ["stage"] },
  deadLetters: { name: "unmeltable_dropped_events_total", cloudwatch: "DeadLetters", kind: "counter", standard: false, help: "Events that went to the dead letters instead of the index, by reason and stage", labels: ["reason", "stage"] },
  retries: { name: "unmeltable_stage_retries_total", cloudwatch: "Retries", kind: "counter", standard: false, help: "Batches a stage handed back to be delivered again (a transient failure: the index locked, full or unreachable)", labels: ["stage"] },
  deferred: { name: "unmeltable_deferred_events_total", cloudwatch: "DeferredEvents", kind: "counter", standard: false, help: "Events of a tenant over its plan put on the lower-priority (deferred) path instead of being indexed at once (docs/plans.md)", labels: ["tenant"] },
  lagSeconds: { name: "unmeltable_stage_ingest_lag_seconds", cloudwatch: "IngestLagSeconds", kind: "histogram", standard: false, help: "Index stages: time from an event's receipt at the collector to its storage in the index (seconds; searchable at the index's next refresh)", labels: ["stage"] },
  // Driver-specific: Lambda's answer (the runner's consumer instead blocks, see restarts and blocked-since there).
  handedBack: { name: "unmeltable_stage_partitions_handed_back_total", cloudwatch: "PartitionsHandedBack", kind: "counter", standard: false, help: "Partitions left unfinished at the end of a Lambda invocation, to be delivered again", labels: ["stage"] },
} as const;

export type StageMetricKey = keyof typeof STAGE_METRICS;

/** CloudWatch's name of a metric of STAGE_METRICS or QUERY_METRICS, or the name itself for any other metric. */
export function cloudWatchName(name: string): string {
  for (const m of [...Object.values(STAGE_METRICS), ...Object.values(QUERY_METRICS)]) if (m.name === name) return m.cloudwatch;
  return name;
}

/** A stage driver's instruments, bound to its stage. */
export interface StageInstruments {
  eventsIn(n: number): void;
  eventsOut(n: number): void;
  batch(seconds: number): void;
  deadLetter(letter: DeadLetter): void;
  retry(): void;
  deferred(tenant: string, n: number): void;
  lag(seconds: number): void;
}

export function stageInstruments(metrics: Metrics, stage: string): StageInstruments {
  const M = STAGE_METRICS;
  const bound = { stage };
  const eventsIn = metrics.counter(M.eventsIn.name, M.eventsIn.help, M.eventsIn.labels).labels(bound);
  const eventsOut = metrics.counter(M.eventsOut.name, M.eventsOut.help, M.eventsOut.labels).labels(bound);
  const batches = metrics.counter(M.batches.name, M.batches.help, M.batches.labels).labels(bound);
  const batchSeconds = metrics.histogram(M.batchSeconds.name, M.batchSeconds.help, M.batchSeconds.labels).labels(bound);
  const dead = metrics.counter(M.deadLetters.name, M.deadLetters.help, M.deadLetters.labels);
  const retries = metrics.counter(M.retries.name, M.retries.help, M.retries.labels).labels(bound);
  const deferred = metrics.counter(M.deferred.name, M.deferred.help, M.deferred.labels);
  const lag = metrics.histogram(M.lagSeconds.name, M.lagSeconds.help, M.lagSeconds.labels).labels(bound);
  return {
    eventsIn: (n) => eventsIn.inc(n),
    eventsOut: (n) => eventsOut.inc(n),
    batch: (seconds) => {
      batches.inc();
      batchSeconds.observe(seconds);
    },
    // The letter's own stage (where it failed), which is the driver's stage but for a wrapped one.
    deadLetter: (l) => dead.inc({ reason: l.reason, stage: l.stage }),
    retry: () => retries.inc(),
    deferred: (tenant, n) => deferred.inc({ tenant }, n),
    lag: (seconds) => lag.observe(seconds),
  };
}

export interface CommitBatchOptions {
  producer: QueueProducer;
  instruments: StageInstruments;
  /** Told, once the output is durable, the tenants' indexed events, dead letters and (with `usageIngest`) raw events. */
  usage?: UsageObserver;
  /** Report the process stage's raw events as the tenants' ingest (where no collector of ours counts them). */
  usageIngest?: boolean;
}

/**
 * Makes a stage's result durable — the output first, then the dead letters — and counts it; the driver
 * commits the input's offsets once this returns (the runner's consumer, or Lambda on the handler's
 * answer), up to the first record the stage wants retried, whose index this returns (-1: all of them).
 * A failed produce throws before anything is counted: the driver delivers the batch again.
 *
 * `startedAt` is `performance.now()` when the driver read the batch: the batch time includes the stage.
 */
export async function commitBatch(result: StageResult, startedAt: number, options: CommitBatchOptions): Promise<number> {
  const { producer, instruments: m, usage } = options;
  for (const out of result.output) if (out.records.length > 0) await producer.send(out.topic, out.records);
  if (result.deadLetters.length > 0) {
    await producer.send(
      DEAD_LETTER_TOPIC,
      result.deadLetters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) })),
    );
    for (const l of result.deadLetters) m.deadLetter(l);
  }
  if (usage) {
    observeDeadLetters(usage, result.deadLetters);
    for (const u of result.indexed ?? []) usage.indexed(u);
    if (options.usageIngest) for (const r of result.received ?? []) usage.ingested(r.tenant, r.events, r.bytes);
  }
  for (const u of result.indexed ?? []) for (const ms of u.lagsMs) m.lag(ms / 1000);
  for (const [tenant, n] of Object.entries(result.deferred ?? {})) m.deferred(tenant, n);
  m.eventsIn(result.eventsIn);
  m.eventsOut(result.eventsOut);
  m.batch((performance.now() - startedAt) / 1000);
  return result.outcomes.findIndex((o) => o.status === "retry");
}
