import type { MSKEvent } from "aws-lambda";
import {
  DEAD_LETTER_TOPIC,
  encodeDeadLetter,
  observeDeadLetters,
  withDeadline,
  type DeadLetter,
  type Metrics,
  type PartitionBatch,
  type QueueProducer,
  type QueueRecord,
  type Stage,
  type UsageObserver,
} from "@unmeltable/core";
import { partitionBatches } from "./msk-event";

/**
 * Runs a stage for an MSK event-source mapping. The driver holds no domain logic: it turns the event
 * into per-partition batches, runs the very stage the local runner runs, produces the stage's output and
 * dead letters through the Kafka adapter, and turns the outcomes into Lambda's answer.
 *
 * Transient failures block, as on one machine (packages/runner): a record the stage wants retried (the
 * index throttles, is down, is write-blocked) or output that cannot be made durable (the brokers are
 * unreachable) is tried again within the invocation, with backoff, until the invocation's time is nearly
 * up; only then is the partition handed back to Lambda unfinished:
 *
 * - "provisioned" (ReportBatchItemFailures): the first unfinished record of each blocked partition is
 *   reported in `batchItemFailures`; Lambda commits what came before it and invokes again from it. The
 *   mapping's retry limit (stacks/config.ts) is sized so that retries outlast the topics' retention.
 * - "on-demand" (no error-handling controls): the invocation fails, and Lambda delivers the whole batch
 *   again, for as long as the records exist; records already done are repeated, and the index keeps an
 *   event id once.
 *
 * Nothing is dead-lettered for a transient failure: only what the stage finds invalid (an undecodable
 * record, an event the index refuses on its own account) goes to the dead letters.
 */
export interface MskDriverOptions {
  stage: Stage;
  stageName: string;
  producer: () => Promise<QueueProducer>;
  errorHandling: "provisioned" | "on-demand";
  metrics: Metrics;
  /** Told the tenants' indexed events and dead letters once the batch's output is durable (EmfUsage: per-tenant EMF lines). */
  usage?: UsageObserver;
  log: (message: string, fields?: Record<string, unknown>) => void;
  /**
   * Time left to the function's timeout at which the driver stops retrying and hands the partition back
   * (so that the answer is given before Lambda kills the invocation). Default 10 s.
   */
  reserveMs?: number;
  /** Waits between attempts: from `firstMs`, doubling, at most `maxMs` (default 1 s to 20 s). */
  backoff?: { firstMs: number; maxMs: number };
}

export interface BatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

/** What Lambda passes as the handler's second argument (only the part the driver uses). */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

export class PartitionsBlockedError extends Error {
  override name = "PartitionsBlockedError";
}

/** Without a context (a direct call), an invocation blocks for at most this long. */
const NO_CONTEXT_BUDGET_MS = 60_000;

export function createMskHandler(options: MskDriverOptions): (event: Pick<MSKEvent, "records">, context?: InvocationContext) => Promise<{ batchItemFailures: BatchItemFailure[] }> {
  const eventsIn = options.metrics.counter("EventsIn", "events read by the stage");
  const eventsOut = options.metrics.counter("EventsOut", "events the stage passed on");
  const dead = options.metrics.counter("DeadLetters", "events sent to the dead letters", ["reason"]);
  const retries = options.metrics.counter("Retries", "attempts repeated after a transient failure");
  const handedBack = options.metrics.counter("PartitionsHandedBack", "partitions left unfinished at the end of an invocation, to be delivered again");
  const latency = options.metrics.counter("BatchLatencyMs", "time spent on the batch");
  // No tenant dimension (one per tenant would be a metric each); the per-tenant counts are in the log line.
  const deferred = options.metrics.counter("DeferredEvents", "events of tenants over their plan put on the deferred path");
  const reserveMs = options.reserveMs ?? 10_000;
  const backoff = options.backoff ?? { firstMs: 1_000, maxMs: 20_000 };

  return async (event, context) => {
    const started = Date.now();
    const deadline = context ? started + context.getRemainingTimeInMillis() - reserveMs : started + NO_CONTEXT_BUDGET_MS;
    const producer = await options.producer();

    /** Runs one partition's records until all are done or the time is up; the first unfinished record, if any. */
    const runPartition = async (batch: PartitionBatch): Promise<QueueRecord | undefined> => {
      let records = batch.records;
      for (let attempt = 0; ; attempt++) {
        let retryAt: number;
        let error: string;
        try {
          // The stage's adapters bound their own waiting (the OpenSearch bulk retries) by the invocation's deadline.
          const result = await withDeadline(deadline, () => options.stage(records));
          // Durable output first; what the stage passed on must exist before its input counts as done.
          for (const out of result.output) if (out.records.length > 0) await producer.send(out.topic, out.records);
          await sendDeadLetters(producer, result.deadLetters);
          for (const l of result.deadLetters) dead.inc({ reason: l.reason });
          if (options.usage) {
            observeDeadLetters(options.usage, result.deadLetters);
            for (const u of result.indexed ?? []) options.usage.indexed(u);
            // No collector of ours reports to EMF: the process function's raw events are the tenants' ingest.
            for (const r of result.received ?? []) options.usage.ingested(r.tenant, r.events, r.bytes);
          }
          if (result.deferred) {
            let n = 0;
            for (const v of Object.values(result.deferred)) n += v;
            deferred.inc(undefined, n);
            options.log("events deferred (tenants over plan)", { stage: options.stageName, topic: batch.topic, partition: batch.partition, deferred: result.deferred });
          }
          eventsIn.inc(undefined, result.eventsIn);
          eventsOut.inc(undefined, result.eventsOut);
          retryAt = result.outcomes.findIndex((o) => o.status === "retry");
          if (retryAt < 0) {
            if (attempt > 0) options.log("partition goes on", { stage: options.stageName, topic: batch.topic, partition: batch.partition, attempts: attempt + 1 });
            return undefined;
          }
          error = (result.outcomes[retryAt] as { error: string }).error;
        } catch (err) {
          // The stage or the producer failed as a whole (the brokers unreachable...): all of it again.
          retryAt = 0;
          error = (err as Error).message;
        }
        records = records.slice(retryAt);
        const wait = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(attempt, 20));
        // The first failure, then every 10th: an outage of an hour should not flood the log.
        if (attempt === 0 || attempt % 10 === 0) {
          options.log("transient failure, retrying", { stage: options.stageName, topic: batch.topic, partition: batch.partition, offset: records[0]!.offset, attempt: attempt + 1, error });
        }
        if (Date.now() + wait >= deadline) return records[0];
        retries.inc();
        await new Promise((r) => setTimeout(r, wait));
      }
    };

    const batches = partitionBatches(event);
    // Partitions are independent: one blocked partition does not hold up the others.
    let unfinished: (QueueRecord | undefined)[];
    try {
      unfinished = await Promise.all(batches.map((b) => runPartition(b)));
    } finally {
      // One usage line per tenant per invocation, before Powertools flushes the invocation's metrics.
      options.usage?.flush?.();
    }
    const failures: BatchItemFailure[] = [];
    unfinished.forEach((record, i) => {
      if (!record) return;
      const b = batches[i]!;
      failures.push({ itemIdentifier: { partition: `${b.topic}-${b.partition}`, offset: record.offset } });
    });
    latency.inc(undefined, Date.now() - started);
    if (failures.length > 0) {
      handedBack.inc(undefined, failures.length);
      options.log("partitions handed back unfinished", { stage: options.stageName, failures: failures.map((f) => f.itemIdentifier) });
      if (options.errorHandling === "on-demand") {
        throw new PartitionsBlockedError(`${failures.length} partition(s) still failing transiently (${failures.map((f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`).join(", ")}); Lambda delivers the batch again`);
      }
    }
    return { batchItemFailures: failures };
  };
}

async function sendDeadLetters(producer: QueueProducer, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send(
    DEAD_LETTER_TOPIC,
    letters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) })),
  );
}
