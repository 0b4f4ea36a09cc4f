import {
  DEAD_LETTER_TOPIC,
  encodeDeadLetter,
  observeDeadLetters,
  type DeadLetter,
  type Metrics,
  type PartitionBatch,
  type Queue,
  type QueueConsumer,
  type QueueProducer,
  type Stage,
  type UsageObserver,
} from "@unmeltable/core";

/**
 * Drives a stage over a queue the way a Lambda Kafka event-source mapping does: per partition, batches
 * of up to `batchSize` records or `batchWindowMs` of waiting; the stage's output and dead letters are
 * produced durably before the offsets are committed.
 *
 * A record the stage wants retried (the index is locked, full or unreachable) blocks its partition: it
 * is delivered again, with the records after it, with the consumer's backoff (at most 30 s between
 * attempts), for as long as it takes. It never goes to the dead letters for that: only records the stage
 * itself finds invalid do. The blocking shows in `unmeltable_stage_retries_total` and
 * `unmeltable_stage_blocked_since_seconds`, and in the log.
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
  metrics: Metrics;
  /** Told, once the batch's output is durable, the tenants' indexed events and dead letters (per-tenant usage). */
  usage?: UsageObserver;
  /**
   * Report the process stage's raw events as the tenants' ingest: for a process with no collector of its
   * own (`unmeltable stages` with the collectors elsewhere), where nothing else counts what came in.
   */
  usageIngestFromStage?: boolean;
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
  /** Partitions waiting on a record to succeed, by "topic/partition": since when, and attempts so far. */
  private readonly blocked = new Map<string, { since: number; attempts: number }>();
  private readonly retries;
  private readonly blockedSince;
  private readonly eventsIn;
  private readonly eventsOut;
  private readonly batches;
  private readonly deadLetters;
  private readonly batchMs;
  private readonly deferred;

  constructor(private readonly options: StageRunnerOptions) {
    const m = options.metrics;
    const stage = { stage: options.name };
    this.eventsIn = m.counter("unmeltable_stage_events_in_total", "Events read by a stage", ["stage"]).labels(stage);
    this.eventsOut = m.counter("unmeltable_stage_events_out_total", "Events a stage passed on (produced or indexed)", ["stage"]).labels(stage);
    this.batches = m.counter("unmeltable_stage_batches_total", "Batches handled by a stage", ["stage"]).labels(stage);
    this.deadLetters = m.counter("unmeltable_dropped_events_total", "Events that went to the dead letters instead of the index, by reason and stage", ["reason", "stage"]);
    this.restarts = m.counter("unmeltable_stage_restarts_total", "Times a stage's consumer failed and was started again", ["stage"]).labels(stage);
    this.batchMs = m.counter("unmeltable_stage_batch_ms_total", "Time spent in a stage's batches (ms)", ["stage"]).labels(stage);
    this.deferred = m.counter("unmeltable_deferred_events_total", "Events of a tenant over its plan put on the lower-priority (deferred) path instead of being indexed at once (docs/plans.md)", ["tenant"]);
    this.retries = m.counter("unmeltable_stage_retries_total", "Batches a stage handed back to be delivered again (a transient failure: the index locked, full or unreachable)", ["stage"]).labels(stage);
    const blockedSince = m.gauge("unmeltable_stage_blocked_since_seconds", "Unix time since which a stage has been retrying a record that keeps failing (the oldest such partition), 0 when none", ["stage"]);
    this.blockedSince = (seconds: number) => blockedSince.set(seconds, stage);
    this.blockedSince(0);
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
    try {
      return await this.attempt(batch);
    } catch (err) {
      // The output could not be made durable (the queue's disk is full...): the consumer delivers the
      // whole batch again after its backoff.
      this.noteRetry(batch, batch.records[0]!.offset, `could not write the stage's output: ${(err as Error).message}`);
      throw err;
    }
  }

  private async attempt(batch: PartitionBatch): Promise<undefined | number> {
    const started = performance.now();
    const result = await this.options.stage(batch.records);
    const letters: DeadLetter[] = [...result.deadLetters];
    const retryAt = result.outcomes.findIndex((o) => o.status === "retry");
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
    const usage = this.options.usage;
    if (usage) {
      observeDeadLetters(usage, letters);
      for (const u of result.indexed ?? []) usage.indexed(u);
      if (this.options.usageIngestFromStage) for (const r of result.received ?? []) usage.ingested(r.tenant, r.events, r.bytes);
    }
    for (const [tenant, n] of Object.entries(result.deferred ?? {})) this.deferred.inc({ tenant }, n);
    this.eventsIn.inc(result.eventsIn);
    this.eventsOut.inc(result.eventsOut);
    this.batches.inc();
    this.batchMs.inc(performance.now() - started);
    if (retryAt < 0) {
      this.noteDone(batch);
      return undefined;
    }
    const record = batch.records[retryAt]!;
    this.noteRetry(batch, record.offset, (result.outcomes[retryAt] as { error: string }).error);
    return record.offset;
  }

  private noteRetry(batch: PartitionBatch, offset: number, error: string): void {
    const key = `${batch.topic}/${batch.partition}`;
    let b = this.blocked.get(key);
    if (!b) {
      this.blocked.set(key, (b = { since: Date.now(), attempts: 0 }));
      this.updateBlocked();
    }
    b.attempts++;
    this.retries.inc();
    // The first failure, then every 10th: a lock held for an hour should not flood the log.
    if (b.attempts === 1 || b.attempts % 10 === 0) {
      this.options.log?.(`stage ${this.options.name}: ${key}@${offset} failed (attempt ${b.attempts}, blocked for ${Math.round((Date.now() - b.since) / 1000)} s), retrying until it succeeds: ${error}`);
    }
  }

  private noteDone(batch: PartitionBatch): void {
    const key = `${batch.topic}/${batch.partition}`;
    const b = this.blocked.get(key);
    if (!b) return;
    this.blocked.delete(key);
    this.updateBlocked();
    this.options.log?.(`stage ${this.options.name}: ${key} goes on after ${b.attempts} retries (${Math.round((Date.now() - b.since) / 1000)} s)`);
  }

  private updateBlocked(): void {
    let oldest = 0;
    for (const b of this.blocked.values()) if (oldest === 0 || b.since < oldest) oldest = b.since;
    this.blockedSince(oldest === 0 ? 0 : Math.floor(oldest / 1000));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.consumer?.stop();
    await this.running;
  }
}
