import { EventEmitter } from "node:events";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { rawBatchEventCount, type Logger, type Metrics, type OutgoingRecord } from "@unmeltable/core";
import { PartitionLog, writeFileAtomic } from "@unmeltable/partition-log";
import type { RawSink } from "./batcher";

/**
 * The collector's disk spool: what keeps it accepting logs while the queue (Kafka) is unreachable or
 * slow. A batch the queue does not take is appended to a local append-only log (fsync'd, so it is
 * acknowledged like a queue write) and a drainer hands the spooled batches to the queue in order once it
 * answers again. While anything is spooled, new batches are spooled behind it, so order holds.
 *
 * Bounded: above `maxBytes` a send fails with SpoolFullError, the batcher keeps the batch in memory and
 * retries, and its back-pressure stops reading TCP and answers HTTP 503 — nothing acknowledged is lost.
 * It survives restarts: the drained position is kept next to the log (`<dir>/drained.json`). A crash
 * between the queue's acknowledgement and that file's update re-sends a batch: duplicates, which the
 * index absorbs by event id, never losses.
 */
export interface SpoolOptions {
  dir: string;
  /** The queue: resolves when the records are durable there. */
  primary: RawSink;
  maxBytes?: number;
  metrics: Metrics;
  /** Where it says that it spools, drains, and that the queue is still unavailable. */
  logger?: Logger;
}

export class SpoolFullError extends Error {
  constructor(bytes: number) {
    super(`the spool is full (${bytes} bytes) and the queue is not accepting writes`);
    this.name = "SpoolFullError";
  }
}

const PARTITION_HEADER = "p";

export class SpoolingSink extends EventEmitter implements RawSink {
  private drained = 0;
  private draining: Promise<void> | undefined;
  private closed = false;
  private appendsInFlight = 0;
  private readonly maxBytes: number;
  private readonly spooledEvents;
  private readonly producedEvents;
  private readonly spoolBytes;
  private readonly spoolRecords;

  private constructor(
    private readonly options: SpoolOptions,
    private readonly log: PartitionLog,
  ) {
    super();
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    const m = options.metrics;
    this.spooledEvents = m.counter("unmeltable_events_spooled_total", "Events written to the collector's disk spool because the queue did not take them").labels({});
    this.producedEvents = m.counter("unmeltable_events_produced_total", "Events written to the queue (directly or from the spool)", ["via"]);
    this.spoolBytes = m.gauge("unmeltable_spool_bytes", "Bytes in the collector's disk spool");
    this.spoolRecords = m.gauge("unmeltable_spool_records", "Raw batches waiting in the collector's disk spool");
  }

  static async open(options: SpoolOptions): Promise<SpoolingSink> {
    await fsp.mkdir(options.dir, { recursive: true });
    // Small enough segments that drained ones are deleted well before the spool is full.
    const segmentBytes = Math.max(1024 * 1024, Math.min(64 * 1024 * 1024, Math.floor((options.maxBytes ?? 1024 ** 3) / 8)));
    const log = await PartitionLog.open(path.join(options.dir, "log"), { segmentBytes });
    const sink = new SpoolingSink(options, log);
    try {
      sink.drained = (JSON.parse(await fsp.readFile(sink.drainedFile, "utf8")) as { drained: number }).drained;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      sink.drained = log.startOffset;
    }
    sink.updateGauges();
    // A spool left by the last run is drained first.
    if (sink.pending > 0) {
      options.logger?.info(`spool: ${sink.pending} batches from before the restart, draining`, { batches: sink.pending });
      sink.startDraining();
    }
    return sink;
  }

  private get drainedFile(): string {
    return path.join(this.options.dir, "drained.json");
  }

  /** Batches spooled and not yet in the queue. */
  get pending(): number {
    return Math.max(0, this.log.endOffset - this.drained);
  }

  get bytes(): number {
    return this.log.sizeBytes;
  }

  /** True while batches wait in the spool (the queue was unreachable). */
  get spooling(): boolean {
    return this.pending > 0 || this.appendsInFlight > 0;
  }

  get full(): boolean {
    return this.log.sizeBytes >= this.maxBytes;
  }

  /**
   * `signal` can withdraw records only while they wait for a spool write they went to directly: once
   * the queue has been tried, its outcome is unknown, so they are spooled whatever the signal says
   * (a duplicate carries the same event ids; a withdrawn batch the client resends would not).
   */
  async send(records: OutgoingRecord[], signal?: AbortSignal): Promise<void> {
    if (!this.spooling) {
      try {
        await this.options.primary.send(records);
        this.count(records, "direct");
        return;
      } catch (err) {
        this.options.logger?.warn(`queue write failed (${(err as Error).message}); spooling to disk`, { error: (err as Error).message });
      }
      await this.append(records);
      return;
    }
    await this.append(records, signal);
  }

  private async append(records: OutgoingRecord[], signal?: AbortSignal): Promise<void> {
    if (this.full) throw new SpoolFullError(this.log.sizeBytes);
    this.appendsInFlight++;
    try {
      await this.log.append(
        records.map((r) => ({
          key: r.key,
          value: r.value,
          timestamp: r.timestamp ?? Date.now(),
          headers: r.partition === undefined ? undefined : { [PARTITION_HEADER]: String(r.partition) },
        })),
        signal,
      );
    } finally {
      this.appendsInFlight--;
    }
    let events = 0;
    for (const r of records) events += rawBatchEventCount(r.value);
    this.spooledEvents.inc(events);
    this.updateGauges();
    this.startDraining();
  }

  private startDraining(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Something was appended while the drainer was finishing: go again.
      if (!this.closed && this.pending > 0) this.startDraining();
    });
  }

  /** Moves spooled batches to the queue, oldest first, until the spool is empty. */
  private async drain(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.pending > 0) {
      const batch = await this.log.read(this.drained, 50, 8 * 1024 * 1024);
      if (batch.length === 0) break;
      const records: OutgoingRecord[] = batch.map((r) => ({
        key: r.key ?? "_none",
        value: r.value,
        timestamp: r.timestamp,
        partition: r.headers[PARTITION_HEADER] === undefined ? undefined : Number(r.headers[PARTITION_HEADER]),
      }));
      try {
        await this.options.primary.send(records);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 30 === 0) this.options.logger?.warn(`spool: queue still unavailable (${(err as Error).message}); ${this.pending} batches waiting`, { error: (err as Error).message, batches: this.pending });
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(failures, 6))));
        continue;
      }
      if (failures > 0) this.options.logger?.info("spool: the queue is back, draining");
      failures = 0;
      this.count(records, "spool");
      this.drained = batch[batch.length - 1]!.offset + 1;
      await writeFileAtomic(this.drainedFile, JSON.stringify({ drained: this.drained }));
      await this.log.deleteSegments((seg) => seg.end <= this.drained);
      this.updateGauges();
    }
    if (this.pending === 0) this.emit("drained");
  }

  private count(records: OutgoingRecord[], via: string): void {
    let events = 0;
    for (const r of records) events += rawBatchEventCount(r.value);
    this.producedEvents.inc({ via }, events);
  }

  private updateGauges(): void {
    this.spoolBytes.set(this.log.sizeBytes);
    this.spoolRecords.set(this.pending);
  }

  /** Waits for the drainer to finish what it is sending, then closes the log. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
    await this.log.close();
  }
}
