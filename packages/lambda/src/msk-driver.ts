import type { MSKEvent } from "aws-lambda";
import {
  DEAD_LETTER_TOPIC,
  encodeDeadLetter,
  recordDeadLetter,
  type DeadLetter,
  type Metrics,
  type QueueProducer,
  type Stage,
} from "@unmeltable/core";
import { partitionBatches } from "./msk-event";

/**
 * Runs a stage for an MSK event-source mapping. The driver holds no domain logic: it turns the event
 * into per-partition batches, runs the very stage the local runner runs, produces the stage's output and
 * dead letters through the Kafka adapter, and turns the outcomes into Lambda's answer:
 *
 * - "provisioned" (the mapping has ReportBatchItemFailures, a retry limit and an on-failure destination):
 *   a record the stage wants retried is reported in `batchItemFailures` — Lambda retries from it.
 * - "on-demand" (no error-handling controls: a thrown error would block the partition until the records
 *   expire): records still failing after a couple of in-invocation retries are dead-lettered, and the
 *   batch succeeds.
 *
 * Only a failure to make the output durable (the producer cannot write) throws: then nothing is committed
 * and Lambda delivers the whole batch again.
 */
export interface MskDriverOptions {
  stage: Stage;
  stageName: string;
  producer: () => Promise<QueueProducer>;
  errorHandling: "provisioned" | "on-demand";
  metrics: Metrics;
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** Retries inside one invocation before giving up on a record (on-demand) or reporting it. */
  retriesInInvocation?: number;
}

export interface BatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

export function createMskHandler(options: MskDriverOptions): (event: Pick<MSKEvent, "records">) => Promise<{ batchItemFailures: BatchItemFailure[] }> {
  const eventsIn = options.metrics.counter("EventsIn", "events read by the stage");
  const eventsOut = options.metrics.counter("EventsOut", "events the stage passed on");
  const dead = options.metrics.counter("DeadLetters", "events sent to the dead letters", ["reason"]);
  const latency = options.metrics.counter("BatchLatencyMs", "time spent on the batch");
  return async (event) => {
    const started = Date.now();
    const failures: BatchItemFailure[] = [];
    const producer = await options.producer();
    for (const batch of partitionBatches(event)) {
      let records = batch.records;
      const letters: DeadLetter[] = [];
      for (let attempt = 0; records.length > 0; attempt++) {
        const result = await options.stage(records);
        // Durable output first; if this throws, the invocation fails and nothing is committed.
        for (const out of result.output) if (out.records.length > 0) await producer.send(out.topic, out.records);
        letters.push(...result.deadLetters);
        eventsIn.inc(undefined, result.eventsIn);
        eventsOut.inc(undefined, result.eventsOut);
        const retryAt = result.outcomes.findIndex((o) => o.status === "retry");
        options.log("batch done", { stage: options.stageName, topic: batch.topic, partition: batch.partition, firstOffset: records[0]!.offset, lastOffset: records[records.length - 1]!.offset, eventsIn: result.eventsIn, eventsOut: result.eventsOut, retryAt: retryAt < 0 ? undefined : records[retryAt]!.offset });
        if (retryAt < 0) break;
        const retrying = records.slice(retryAt);
        if (attempt < (options.retriesInInvocation ?? 2)) {
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          records = retrying;
          continue;
        }
        const failed = retrying[0]!;
        const outcome = result.outcomes[retryAt] as { status: "retry"; error: string };
        if (options.errorHandling === "provisioned") {
          // Lambda retries from this record; its retry limit and on-failure destination take it from there.
          failures.push({ itemIdentifier: { partition: `${batch.topic}-${batch.partition}`, offset: failed.offset } });
        } else {
          for (const r of retrying) letters.push(recordDeadLetter(options.stageName, r, "retries_exhausted", outcome.error));
        }
        break;
      }
      if (letters.length > 0) {
        await producer.send(DEAD_LETTER_TOPIC, letters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) })));
        for (const l of letters) dead.inc({ reason: l.reason });
      }
    }
    latency.inc(undefined, Date.now() - started);
    return { batchItemFailures: failures };
  };
}
