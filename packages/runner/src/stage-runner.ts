import { BacklogDiverter, type BacklogDiverterOptions } from "./backlog-diverter";
import {
  commitBatch,
  noLogger,
  stageInstruments,
  type Logger,
  type Metrics,
  type PartitionBatch,
  type Queue,
  type QueueConsumer,
  type QueueProducer,
  type QueueRecord,
  type Stage,
  type StageResult,
  type StageInstruments,
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
  /** Its lines carry `stage` (and `topic`, `partition` for a partition's). */
  logger?: Logger;
  /**
   * Pass the records of a tenant taking more than its share, while the stage is behind on them, on to
   * this lower-priority topic unchanged instead of through the stage (runner/src/backlog-diverter.ts).
   */
  divert?: Omit<BacklogDiverterOptions, "onChange">;
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
  private readonly instruments: StageInstruments;
  private readonly blockedSince;
  private readonly logger: Logger;
  private readonly diverter: BacklogDiverter | undefined;
  private readonly divertedRecords;

  constructor(private readonly options: StageRunnerOptions) {
    const m = options.metrics;
    const stage = { stage: options.name };
    this.logger = (options.logger ?? noLogger).child(stage);
    // The standard stage metrics (core's STAGE_METRICS), the same as the MSK driver's on Lambda.
    this.instruments = stageInstruments(m, options.name);
    this.restarts = m.counter("unmeltable_stage_restarts_total", "Times a stage's consumer failed and was started again", ["stage"]).labels(stage);
    const blockedSince = m.gauge("unmeltable_stage_blocked_since_seconds", "Unix time since which a stage has been retrying a record that keeps failing (the oldest such partition), 0 when none", ["stage"]);
    this.blockedSince = (seconds: number) => blockedSince.set(seconds, stage);
    this.blockedSince(0);
    const diverted = m.counter("unmeltable_stage_diverted_records_total", "Queue records of a tenant taking more than its share, passed on to the lower-priority path while the stage was behind on them (fairness between tenants)", ["stage", "tenant"]);
    this.divertedRecords = (tenant: string, n: number) => diverted.inc({ ...stage, tenant }, n);
    if (options.divert) {
      const topic = options.divert.topic;
      this.diverter = new BacklogDiverter({
        ...options.divert,
        onChange: (tenant, on) =>
          this.logger.child({ tenant }).info(
            on
              ? `stage ${options.name}: tenant ${tenant} sends more than its share and the stage is behind on it: its records go to ${topic}, indexed as the pipeline has spare capacity, so the other tenants' events do not wait behind them`
              : `stage ${options.name}: tenant ${tenant}'s records go through the stage again`,
            { topic },
          ),
      });
    }
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
      this.logger.warn(`stage ${this.options.name}: ${reason}; starting it again in ${(delayMs / 1000).toFixed(1)} s (restart ${failures})`, { error: reason, restart: failures, delayMs });
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
    const split = this.diverter?.split(batch.records);
    const result = split && split.divert.length > 0 ? await this.runDiverting(batch.records, split.keep, split.divert) : await this.options.stage(batch.records);
    // Durable output and dead letters first, then the commit (which the consumer does when we return).
    const retryAt = await commitBatch(result, started, {
      producer: this.options.producer,
      instruments: this.instruments,
      usage: this.options.usage,
      usageIngest: this.options.usageIngestFromStage,
    });
    if (split && split.divert.length > 0) {
      const byTenant = new Map<string, number>();
      for (const i of split.divert) byTenant.set(batch.records[i]!.key!, (byTenant.get(batch.records[i]!.key!) ?? 0) + 1);
      for (const [tenant, n] of byTenant) this.divertedRecords(tenant, n);
    }
    if (retryAt < 0) {
      this.noteDone(batch);
      return undefined;
    }
    const record = batch.records[retryAt]!;
    this.noteRetry(batch, record.offset, (result.outcomes[retryAt] as { error: string }).error);
    return record.offset;
  }

  /**
   * The stage over the kept records only; the diverted ones are output to the diverter's topic as they
   * are (key, value, time, headers) and count as done. When the stage asks for a retry, the diverted
   * records after that one are delivered again and passed on again: a repeat, which the index ignores
   * (event ids), never a loss.
   */
  private async runDiverting(records: QueueRecord[], keep: number[], divert: number[]): Promise<StageResult> {
    const inner: StageResult = keep.length > 0 ? await this.options.stage(keep.map((i) => records[i]!)) : { outcomes: [], output: [], deadLetters: [], eventsIn: 0, eventsOut: 0 };
    const outcomes: StageResult["outcomes"] = new Array<StageResult["outcomes"][number]>(records.length);
    keep.forEach((i, k) => (outcomes[i] = inner.outcomes[k]!));
    for (const i of divert) outcomes[i] = { status: "ok" };
    const passed = divert.map((i) => {
      const r = records[i]!;
      return { key: r.key!, value: r.value, timestamp: r.timestamp, headers: r.headers };
    });
    return { ...inner, outcomes, output: [...inner.output, { topic: this.diverter!.topic, records: passed }] };
  }

  private noteRetry(batch: PartitionBatch, offset: number, error: string): void {
    const key = `${batch.topic}/${batch.partition}`;
    let b = this.blocked.get(key);
    if (!b) {
      this.blocked.set(key, (b = { since: Date.now(), attempts: 0 }));
      this.updateBlocked();
    }
    b.attempts++;
    this.instruments.retry();
    // The first failure, then every 10th: a lock held for an hour should not flood the log.
    if (b.attempts === 1 || b.attempts % 10 === 0) {
      this.logger.warn(`stage ${this.options.name}: ${key}@${offset} failed (attempt ${b.attempts}, blocked for ${Math.round((Date.now() - b.since) / 1000)} s), retrying until it succeeds: ${error}`, {
        topic: batch.topic,
        partition: batch.partition,
        offset,
        attempt: b.attempts,
        error,
      });
    }
  }

  private noteDone(batch: PartitionBatch): void {
    const key = `${batch.topic}/${batch.partition}`;
    const b = this.blocked.get(key);
    if (!b) return;
    this.blocked.delete(key);
    this.updateBlocked();
    this.logger.info(`stage ${this.options.name}: ${key} goes on after ${b.attempts} retries (${Math.round((Date.now() - b.since) / 1000)} s)`, { topic: batch.topic, partition: batch.partition, attempts: b.attempts });
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
