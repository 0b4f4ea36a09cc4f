import {
  DEAD_LETTER_TOPIC,
  encodeDeadLetter,
  recordDeadLetter,
  type DeadLetter,
  type Metrics,
  type PartitionBatch,
  type Queue,
  type QueueConsumer,
  type QueueProducer,
  type Stage,
} from "@unmeltable/core";

/**
 * Drives a stage over a queue the way a Lambda Kafka event-source mapping does: per partition, batches
 * of up to `batchSize` records or `batchWindowMs` of waiting; the stage's output and dead letters are
 * produced durably before the offsets are committed; a record the stage wants retried is delivered again
 * with backoff (with the records after it), and after `maxRetries` it goes to the dead letters
 * (`retries_exhausted`) so that its partition moves on.
 */
export interface StageRunnerOptions {
  name: string;
  queue: Queue;
  producer: QueueProducer;
  group: string;
  topics: string[];
  stage: Stage;
  batchSize?: number;
  batchWindowMs?: number;
  maxBatchBytes?: number;
  maxRetries?: number;
  metrics: Metrics;
  log?: (line: string) => void;
}

/** Backoff between restarts of a failed consumer: 1 s, doubling, at most 30 s. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;

export class StageRunner {
  private consumer: QueueConsumer | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  /** Ends the wait before a restart early (on stop). */
  private wake: (() => void) | undefined;
  private readonly restarts;
  /** Attempts per record that asked for a retry, by "topic/partition/offset". */
  private readonly attempts = new Map<string, number>();
  private readonly eventsIn;
  private readonly eventsOut;
  private readonly batches;
  private readonly deadLetters;
  private readonly batchMs;

  constructor(private readonly options: StageRunnerOptions) {
    const m = options.metrics;
    const stage = { stage: options.name };
    this.eventsIn = m.counter("unmeltable_stage_events_in_total", "Events read by a stage", ["stage"]).labels(stage);
    this.eventsOut = m.counter("unmeltable_stage_events_out_total", "Events a stage passed on (produced or indexed)", ["stage"]).labels(stage);
    this.batches = m.counter("unmeltable_stage_batches_total", "Batches handled by a stage", ["stage"]).labels(stage);
    this.deadLetters = m.counter("unmeltable_dropped_events_total", "Events that went to the dead letters instead of the index, by reason and stage", ["reason", "stage"]);
    this.restarts = m.counter("unmeltable_stage_restarts_total", "Times a stage's consumer failed and was started again", ["stage"]).labels(stage);
    this.batchMs = m.counter("unmeltable_stage_batch_ms_total", "Time spent in a stage's batches (ms)", ["stage"]).labels(stage);
  }

  start(): void {
    this.running = this.supervise();
  }

  /**
   * Runs the consumer, and runs a new one whenever it fails (a broker outage at start, a fatal client
   * error): a stage never stops for good while the program runs. Offsets are committed only after
   * durable output, so a restarted consumer goes on from the last commit; the index skips repeats.
   */
  private async supervise(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const consumer = this.options.queue.consumer({
        group: this.options.group,
        topics: this.options.topics,
        fromBeginning: true,
        maxBatchRecords: this.options.batchSize ?? 100,
        maxBatchBytes: this.options.maxBatchBytes ?? 6 * 1024 * 1024,
        maxWaitMs: this.options.batchWindowMs ?? 500,
      });
      this.consumer = consumer;
      const startedAt = Date.now();
      let reason: string;
      try {
        await consumer.run((batch) => this.handle(batch));
        reason = "its consumer ended";
      } catch (err) {
        reason = (err as Error).message;
      }
      if (this.stopping) return;
      await consumer.stop().catch(() => undefined);
      // A consumer that ran well for a while starts the backoff over.
      if (Date.now() - startedAt > RESTART_MAX_MS) failures = 0;
      failures++;
      this.restarts.inc();
      const delayMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** Math.min(failures - 1, 10));
      this.options.log?.(`stage ${this.options.name}: ${reason}; starting it again in ${(delayMs / 1000).toFixed(1)} s (restart ${failures})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async handle(batch: PartitionBatch): Promise<void | number> {
    const started = performance.now();
    const result = await this.options.stage(batch.records);
    const letters: DeadLetter[] = [...result.deadLetters];
    let retryFrom: number | undefined;
    for (let i = 0; i < batch.records.length; i++) {
      const outcome = result.outcomes[i]!;
      if (outcome.status !== "retry") continue;
      const record = batch.records[i]!;
      const key = `${record.topic}/${record.partition}/${record.offset}`;
      const attempts = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempts);
      if (attempts > (this.options.maxRetries ?? 5)) {
        letters.push(recordDeadLetter(this.options.name, record, "retries_exhausted", `${outcome.error} (after ${attempts} attempts)`));
        this.attempts.delete(key);
        continue;
      }
      this.options.log?.(`stage ${this.options.name}: ${key} will be retried (attempt ${attempts}): ${outcome.error}`);
      retryFrom = record.offset;
      break;
    }
    // Durable output first, then the commit (which the consumer does when we return).
    for (const out of result.output) {
      if (out.records.length > 0) await this.options.producer.send(out.topic, out.records);
    }
    if (letters.length > 0) {
      await this.options.producer.send(
        DEAD_LETTER_TOPIC,
        letters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) })),
      );
      for (const l of letters) this.deadLetters.inc({ reason: l.reason, stage: l.stage });
    }
    this.eventsIn.inc(result.eventsIn);
    this.eventsOut.inc(result.eventsOut);
    this.batches.inc();
    this.batchMs.inc(performance.now() - started);
    if (retryFrom === undefined) {
      for (const r of batch.records) this.attempts.delete(`${r.topic}/${r.partition}/${r.offset}`);
      return undefined;
    }
    return retryFrom;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.consumer?.stop();
    await this.running;
  }
}
