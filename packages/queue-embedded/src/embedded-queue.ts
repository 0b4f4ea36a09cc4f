import { promises as fsp } from "node:fs";
import path from "node:path";
import {
  errorFields,
  noLogger,
  tenantPartition,
  type Logger,
  isIndexFeed,
  RAW_TOPIC,
  type BatchHandler,
  type ConsumerOptions,
  type OutgoingRecord,
  type PartitionOffsets,
  type Queue,
  type QueueAdmin,
  type QueueConsumer,
  type QueueProducer,
  type QueueReader,
  type QueueRecord,
  type RecordPosition,
  type SendOptions,
  type TopicSpec,
} from "@unmeltable/core";
import { PartitionLog, writeFileAtomic } from "@unmeltable/partition-log";
import { acquireLock, releaseLock } from "./lock";

/**
 * The embedded durable queue: Kafka's model (topics, partitions, offsets, consumer groups) on local disk,
 * for the single-machine deployment. One process owns a queue directory (a lock file says which);
 * other processes may open it read-only to inspect it.
 *
 *   <dir>/LOCK                              pid of the owner
 *   <dir>/topics/<topic>/meta.json          {"partitions": N}
 *   <dir>/topics/<topic>/<partition>/*.log  segments (see packages/partition-log)
 *   <dir>/groups/<group>/<topic>.json       committed offsets {"<partition>": nextOffset}
 */
export interface EmbeddedQueueOptions {
  dir: string;
  /** Roll segments at this size (default 64 MiB). */
  segmentBytes?: number;
  /**
   * Roll the segments of the topics dropped once consumed (`dropOnceConsumed`) at this size instead
   * (default 8 MiB, never more than `segmentBytes`). Only whole segments go, so what stays on disk
   * after the index has caught up is the active segment of each partition: at 64 MiB that was ~72 B
   * per event still on disk after 1M events were indexed (bench/RESULTS.md, "data folder").
   */
  feedSegmentBytes?: number;
  /** Keep fully consumed segments at least this long (default 48 h, so the daily archive can read a whole day). */
  retentionMs?: number;
  /** And drop fully consumed segments beyond this many bytes per partition (default 10 GiB). */
  retentionBytes?: number;
  readOnly?: boolean;
  /** How often retention runs (default every minute). */
  retentionCheckMs?: number;
  /**
   * Topics whose records matter only to their consumer groups: a segment of theirs goes as soon as every
   * group has committed past it, without waiting for the retention time. Default: the index stages' feeds
   * (processed and deferred topics, core/src/topics.ts) — once indexed, the index holds those events, and
   * keeping them 48 h more doubled the data folder (a processed event is ~4.5x its raw line).
   */
  dropOnceConsumed?: (topic: string) => boolean;
  /**
   * Topics whose large record values are stored deflated (partition-log record-format.ts). Default: the
   * raw topic, the one kept for its retention (48 h): a raw batch of 200 lines shrinks to 23 % for
   * ~1.3 µs of CPU per line to deflate and ~0.5 µs to inflate (level 1; measured, bench/RESULTS.md
   * "issue 16 §2"). The index feeds are dropped once indexed, so compressing them would only cost CPU.
   */
  compress?: (topic: string) => boolean;
  /** Where failures it handles itself go (retention runs, a consumer's failing handler, an offset file not written). */
  logger?: Logger;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_FEED_SEGMENT_BYTES = 8 * 1024 * 1024;
const DEFAULT_RETENTION_MS = 48 * 3600_000;
const DEFAULT_RETENTION_BYTES = 10 * 1024 ** 3;

export class EmbeddedQueue implements Queue {
  readonly admin: QueueAdmin;
  readonly reader: QueueReader;
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly groupOffsets = new Map<string, Map<string, Map<number, number>>>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** @internal */
  readonly logger: Logger;

  private constructor(readonly options: Required<Omit<EmbeddedQueueOptions, "readOnly" | "logger">> & { readOnly: boolean; logger?: Logger }) {
    this.logger = (options.logger ?? noLogger).child({ queue: options.dir });
    this.admin = {
      ensureTopics: (specs) => this.ensureTopics(specs),
      partitions: async (topic) => (await this.logs(topic)).length,
      offsets: async (topic) =>
        (await this.logs(topic)).map((log, partition): PartitionOffsets => ({ partition, start: log.startOffset, end: log.endOffset })),
      committed: async (group, topic) => new Map(await this.loadCommitted(group, topic)),
      offsetsForTime: async (topic, ts) => {
        const out = new Map<number, number>();
        const logs = await this.logs(topic);
        for (let p = 0; p < logs.length; p++) out.set(p, await logs[p]!.offsetForTime(ts));
        return out;
      },
    };
    this.reader = {
      read: async (topic, partition, offset, maxRecords) => {
        const log = (await this.logs(topic))[partition];
        if (!log) throw new Error(`topic ${topic} has no partition ${partition}`);
        return (await log.read(offset, maxRecords)).map((r) => toQueueRecord(topic, partition, r));
      },
    };
  }

  static async open(options: EmbeddedQueueOptions): Promise<EmbeddedQueue> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const q = new EmbeddedQueue({
      dir: options.dir,
      segmentBytes,
      feedSegmentBytes: Math.min(options.feedSegmentBytes ?? DEFAULT_FEED_SEGMENT_BYTES, segmentBytes),
      retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
      retentionBytes: options.retentionBytes ?? DEFAULT_RETENTION_BYTES,
      retentionCheckMs: options.retentionCheckMs ?? 60_000,
      dropOnceConsumed: options.dropOnceConsumed ?? isIndexFeed,
      compress: options.compress ?? ((topic: string) => topic === RAW_TOPIC),
      readOnly: options.readOnly ?? false,
      logger: options.logger,
    });
    if (!q.options.readOnly) {
      await fsp.mkdir(path.join(options.dir, "topics"), { recursive: true });
      await fsp.mkdir(path.join(options.dir, "groups"), { recursive: true });
      await acquireLock(path.join(options.dir, "LOCK"));
      // A failed run (an offsets file unreadable, a segment that cannot be deleted) is retried at the
      // next one; the disk fills meanwhile, so say it, at each failed run.
      q.retentionTimer = setInterval(() => void q.applyRetention().catch((err: unknown) => q.logger.warn("queue retention failed; tried again at the next run", { everyMs: q.options.retentionCheckMs, ...errorFields(err) })), q.options.retentionCheckMs);
      q.retentionTimer.unref();
    }
    return q;
  }

  /** Lists topics present on disk. */
  async listTopics(): Promise<string[]> {
    return (await fsp.readdir(path.join(this.options.dir, "topics")).catch(() => [] as string[])).sort();
  }

  private async ensureTopics(specs: TopicSpec[]): Promise<void> {
    if (this.options.readOnly) throw new Error("queue is open read-only");
    for (const spec of specs) {
      if (!/^[A-Za-z0-9._-]{1,200}$/.test(spec.name)) throw new Error(`invalid topic name ${JSON.stringify(spec.name)}`);
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) throw new Error(`topic ${spec.name}: partitions must be >= 1`);
      const dir = path.join(this.options.dir, "topics", spec.name);
      await fsp.mkdir(dir, { recursive: true });
      const existing = await readMeta(dir);
      if (existing === undefined || existing < spec.partitions) {
        // Like Kafka, partitions can be added but never removed.
        await writeFileAtomic(path.join(dir, "meta.json"), JSON.stringify({ partitions: spec.partitions }));
        this.topics.delete(spec.name);
      }
      await this.logs(spec.name);
    }
  }

  private async logs(topic: string): Promise<PartitionLog[]> {
    const open = this.topics.get(topic);
    if (open) return open;
    const dir = path.join(this.options.dir, "topics", topic);
    const partitions = await readMeta(dir);
    if (partitions === undefined) throw new UnknownTopicError(topic);
    const logs: PartitionLog[] = [];
    for (let p = 0; p < partitions; p++) {
      const segmentBytes = this.options.dropOnceConsumed(topic) ? this.options.feedSegmentBytes : this.options.segmentBytes;
      logs.push(await PartitionLog.open(path.join(dir, String(p)), { segmentBytes, readOnly: this.options.readOnly, compress: this.options.compress(topic) }));
    }
    // Another caller may have opened the same topic while we awaited.
    const raced = this.topics.get(topic);
    if (raced) {
      await Promise.all(logs.map((l) => l.close()));
      return raced;
    }
    this.topics.set(topic, logs);
    return logs;
  }

  producer(): QueueProducer {
    const turns = new Map<string, number>();
    return {
      send: async (topic: string, records: OutgoingRecord[], options?: SendOptions): Promise<RecordPosition[]> => {
        if (this.closed) throw new Error("queue is closed");
        const logs = await this.logs(topic);
        const byPartition = new Map<number, number[]>();
        records.forEach((r, i) => {
          let p = r.partition;
          if (p === undefined) {
            const turn = turns.get(r.key) ?? 0;
            turns.set(r.key, turn + 1);
            p = tenantPartition(r.key, logs.length, r.spread ?? 1, turn);
          }
          if (p < 0 || p >= logs.length) throw new Error(`topic ${topic} has no partition ${p}`);
          let list = byPartition.get(p);
          if (!list) byPartition.set(p, (list = []));
          list.push(i);
        });
        const out: RecordPosition[] = new Array<RecordPosition>(records.length);
        await Promise.all(
          [...byPartition].map(async ([partition, indexes]) => {
            const now = Date.now();
            const first = await logs[partition]!.append(
              indexes.map((i) => {
                const r = records[i]!;
                return { key: r.key, value: r.value, timestamp: r.timestamp ?? now, headers: r.headers };
              }),
              options?.signal,
            );
            indexes.forEach((i, k) => (out[i] = { topic, partition, offset: first + k }));
          }),
        );
        return out;
      },
      close: async () => undefined,
    };
  }

  consumer(options: ConsumerOptions): QueueConsumer {
    const consumer = new EmbeddedConsumer(this, options);
    return consumer;
  }

  /** @internal */
  registerConsumer(c: EmbeddedConsumer): void {
    for (const other of this.consumers) {
      if (other.options.group === c.options.group) {
        throw new Error(`consumer group ${c.options.group} already has a member in this process (the embedded queue allows one)`);
      }
    }
    this.consumers.add(c);
  }

  /** @internal */
  unregisterConsumer(c: EmbeddedConsumer): void {
    this.consumers.delete(c);
  }

  /** @internal */
  async topicLogs(topic: string): Promise<PartitionLog[]> {
    return this.logs(topic);
  }

  /** @internal Committed offsets of a group for a topic, loaded once and then kept in memory. */
  async loadCommitted(group: string, topic: string): Promise<Map<number, number>> {
    let byTopic = this.groupOffsets.get(group);
    if (!byTopic) this.groupOffsets.set(group, (byTopic = new Map<string, Map<number, number>>()));
    let offsets = byTopic.get(topic);
    if (!offsets) {
      offsets = new Map();
      try {
        const doc = JSON.parse(await fsp.readFile(this.offsetsFile(group, topic), "utf8")) as Record<string, number>;
        for (const [p, o] of Object.entries(doc)) offsets.set(Number(p), o);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      byTopic.set(topic, offsets);
    }
    return offsets;
  }

  private commitChains = new Map<string, Promise<void>>();

  /** @internal Durably records the next offset to read for a group's partition. */
  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    const offsets = await this.loadCommitted(group, topic);
    offsets.set(partition, nextOffset);
    const file = this.offsetsFile(group, topic);
    // Serialise writes per file; each write carries the latest offsets of every partition.
    const prev = this.commitChains.get(file) ?? Promise.resolve();
    const next = prev.then(async () => {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, JSON.stringify(Object.fromEntries(offsets)));
    });
    this.commitChains.set(file, next.catch(() => undefined));
    await next;
  }

  private offsetsFile(group: string, topic: string): string {
    return path.join(this.options.dir, "groups", encodeURIComponent(group), `${topic}.json`);
  }

  /**
   * Deletes segments that every known consumer group has read past, once they are older than the
   * retention time or the partition is over its byte budget. Unread records are never deleted: the
   * queue is what lets the pipeline always accept while a stage is down.
   */
  async applyRetention(now = Date.now()): Promise<number> {
    const groupsDir = path.join(this.options.dir, "groups");
    const groups = await fsp.readdir(groupsDir).catch(() => [] as string[]);
    let deleted = 0;
    for (const topic of await this.listTopics()) {
      const logs = await this.logs(topic);
      const committed = await Promise.all(groups.map((g) => this.loadCommitted(decodeURIComponent(g), topic)));
      const dropOnceConsumed = this.options.dropOnceConsumed(topic);
      for (let p = 0; p < logs.length; p++) {
        const log = logs[p]!;
        const readers = committed.filter((m) => m.size > 0);
        const minCommitted = readers.length === 0 ? 0 : Math.min(...readers.map((m) => m.get(p) ?? 0));
        let size = log.sizeBytes;
        deleted += await log.deleteSegments((seg) => {
          const consumed = seg.end <= minCommitted;
          const expired = dropOnceConsumed || seg.maxTimestamp < now - this.options.retentionMs || size > this.options.retentionBytes;
          if (consumed && expired) {
            size -= seg.size;
            return true;
          }
          return false;
        });
      }
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.retentionTimer);
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await Promise.all([...this.commitChains.values()]);
    for (const logs of this.topics.values()) await Promise.all(logs.map((l) => l.close()));
    if (!this.options.readOnly) await releaseLock(path.join(this.options.dir, "LOCK"));
  }
}

export class UnknownTopicError extends Error {
  constructor(readonly topic: string) {
    super(`unknown topic ${topic}`);
    this.name = "UnknownTopicError";
  }
}

async function readMeta(dir: string): Promise<number | undefined> {
  try {
    const meta = JSON.parse(await fsp.readFile(path.join(dir, "meta.json"), "utf8")) as { partitions: number };
    return meta.partitions;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function toQueueRecord(topic: string, partition: number, r: { offset: number; key: string | null; value: Buffer; timestamp: number; headers: Record<string, string> }): QueueRecord {
  return { topic, partition, offset: r.offset, key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers };
}

/**
 * A consumer group member that owns every partition of its topics (the embedded queue has one process).
 * Each partition runs its own loop, so a slow or failing partition never holds up the others — the same
 * per-partition concurrency a Lambda event-source mapping gives.
 */
class EmbeddedConsumer implements QueueConsumer {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly queue: EmbeddedQueue,
    readonly options: ConsumerOptions,
  ) {}

  async run(handler: BatchHandler): Promise<void> {
    this.queue.registerConsumer(this);
    try {
      for (const topic of this.options.topics) {
        const logs = await this.queue.topicLogs(topic);
        const committed = await this.queue.loadCommitted(this.options.group, topic);
        logs.forEach((log, partition) => {
          const start = committed.get(partition) ?? (this.options.fromBeginning ? log.startOffset : log.endOffset);
          this.loops.push(this.partitionLoop(topic, partition, log, start, handler));
        });
      }
      await Promise.all(this.loops);
    } finally {
      this.queue.unregisterConsumer(this);
    }
  }

  private async partitionLoop(topic: string, partition: number, log: PartitionLog, start: number, handler: BatchHandler): Promise<void> {
    const signal = this.abort.signal;
    const maxRecords = this.options.maxBatchRecords ?? 100;
    const maxBytes = this.options.maxBatchBytes ?? 6 * 1024 * 1024;
    const windowMs = this.options.maxWaitMs ?? 500;
    let offset = start;
    let failures = 0;
    while (!signal.aborted) {
      let records = await log.read(offset, maxRecords, maxBytes);
      if (records.length === 0) {
        await log.waitFor(offset, 1000, signal);
        continue;
      }
      // The batching window only applies when the partition has nothing more for us yet: with a backlog,
      // a batch cut short by the byte limit goes out at once.
      if (records.length < maxRecords && windowMs > 0 && log.endOffset <= records[records.length - 1]!.offset + 1) {
        // The batching window: give the batch a chance to fill before handing it over.
        const deadline = Date.now() + windowMs;
        while (!signal.aborted && records.length < maxRecords && Date.now() < deadline) {
          const last = records[records.length - 1]!.offset;
          await log.waitFor(last + 1, deadline - Date.now(), signal);
          if (log.endOffset <= last + 1) break;
          records = await log.read(offset, maxRecords, maxBytes);
        }
      }
      if (records[0]!.offset > offset) offset = records[0]!.offset; // retention moved past us
      const batch = { topic, partition, records: records.map((r) => toQueueRecord(topic, partition, r)) };
      let next: number;
      try {
        const upTo = await handler(batch);
        next = typeof upTo === "number" ? Math.min(upTo, records[records.length - 1]!.offset + 1) : records[records.length - 1]!.offset + 1;
      } catch (err) {
        failures++;
        // Back off and deliver the same batch again: at-least-once, in order. The first failure, then
        // every 10th: a handler failing for an hour should not flood the log.
        if (failures === 1 || failures % 10 === 0) {
          this.queue.logger.warn("consumer's handler failed; delivering the batch again", { group: this.options.group, topic, partition, offset, attempt: failures, retryInMs: backoffMs(failures), ...errorFields(err) });
        }
        await sleep(backoffMs(failures), signal);
        continue;
      }
      if (next > offset) {
        offset = next;
        // The batch's output is durable already. An offset file that cannot be written now (a full
        // disk) is written with the next commit; a crash before that redelivers, never loses.
        await this.queue.commit(this.options.group, topic, partition, offset).catch((err: unknown) => this.queue.logger.warn("could not write a consumer group's offsets; written with the next commit", { group: this.options.group, topic, partition, offset, ...errorFields(err) }));
      }
      if (next <= records[records.length - 1]!.offset) {
        // The handler asked for the rest again: back off before redelivering it.
        failures++;
        await sleep(backoffMs(failures), signal);
      } else failures = 0;
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }
}

function backoffMs(failures: number): number {
  return Math.min(30_000, 100 * 2 ** Math.min(failures - 1, 9));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
