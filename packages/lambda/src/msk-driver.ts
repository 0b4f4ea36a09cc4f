import type { MSKEvent } from "aws-lambda";
import {
  commitBatch,
  STAGE_METRICS,
  stageInstruments,
  withDeadline,
  type Logger,
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
  /** Its lines carry `stage` (and `topic`, `partition` for a partition's). */
  logger: Logger;
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
  // The standard stage metrics (core's STAGE_METRICS), the same as the runner's on one machine.
  const instruments = stageInstruments(options.metrics, options.stageName);
  const H = STAGE_METRICS.handedBack;
  const handedBack = options.metrics.counter(H.name, H.help, H.labels).labels({ stage: options.stageName });
  const logger = options.logger.child({ stage: options.stageName });
  const reserveMs = options.reserveMs ?? 10_000;
  const backoff = options.backoff ?? { firstMs: 1_000, maxMs: 20_000 };

  return async (event, context) => {
    const started = Date.now();
    const deadline = context ? started + context.getRemainingTimeInMillis() - reserveMs : started + NO_CONTEXT_BUDGET_MS;
    const producer = await options.producer();

    /** Runs one partition's records until all are done or the time is up; the first unfinished record, if any. */
    const runPartition = async (batch: PartitionBatch): Promise<QueueRecord | undefined> => {
      const log = logger.child({ topic: batch.topic, partition: batch.partition });
      let records = batch.records;
      for (let attempt = 0; ; attempt++) {
        let retryAt: number;
        let error: string;
        try {
          const started = performance.now();
          // The stage's adapters bound their own waiting (the OpenSearch bulk retries) by the invocation's deadline.
          const result = await withDeadline(deadline, () => options.stage(records));
          // Durable output and dead letters first; what the stage passed on must exist before its input
          // counts as done. No collector of ours reports to EMF: the process function's raw events are the
          // tenants' ingest.
          retryAt = await commitBatch(result, started, { producer, instruments, usage: options.usage, usageIngest: true });
          // DeferredEvents has no tenant dimension on CloudWatch: the per-tenant counts are in this line.
          if (result.deferred) log.info("events deferred (tenants over plan)", { deferred: result.deferred });
          if (retryAt < 0) {
            if (attempt > 0) log.info("partition goes on", { attempts: attempt + 1 });
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
          log.warn("transient failure, retrying", { offset: records[0]!.offset, attempt: attempt + 1, error });
        }
        if (Date.now() + wait >= deadline) return records[0];
        instruments.retry();
        await new Promise((r) => setTimeout(r, wait));
      }
    };

    const batches = partitionBatches(event);
    try {
      // Partitions are independent: one blocked partition does not hold up the others.
      const unfinished = await Promise.all(batches.map((b) => runPartition(b)));
      const failures: BatchItemFailure[] = [];
      unfinished.forEach((record, i) => {
        if (!record) return;
        const b = batches[i]!;
        failures.push({ itemIdentifier: { partition: `${b.topic}-${b.partition}`, offset: record.offset } });
      });
      if (failures.length > 0) {
        handedBack.inc(failures.length);
        logger.warn("partitions handed back unfinished", { failures: failures.map((f) => f.itemIdentifier) });
        if (options.errorHandling === "on-demand") {
          throw new PartitionsBlockedError(`${failures.length} partition(s) still failing transiently (${failures.map((f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`).join(", ")}); Lambda delivers the batch again`);
        }
      }
      return { batchItemFailures: failures };
    } finally {
      // One usage line per tenant, and one EMF document per dimension set, per invocation.
      options.usage?.flush?.();
      options.metrics.flush?.();
    }
  };
}
