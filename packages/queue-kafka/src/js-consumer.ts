import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import type { BatchHandler, ConsumerOptions, QueueConsumer, QueueRecord } from "@unmeltable/core";
import type { PlatformaticConnectionOptions } from "./js-connection";
import { backoff } from "./backoff";
import { closeForced } from "./close";
import { describe } from "./errors";

/** Records held in memory (all partitions) before the fetch loop pauses: bounds memory under a slow handler. */
const BUFFER_HIGH_BYTES = 64 * 1024 * 1024;
/** Batches handled at once across partitions (one per partition at most). */
const CONCURRENT_PARTITIONS = 16;

interface PartitionState {
  topic: string;
  partition: number;
  /** Fetched, not yet committed records, in offset order. */
  records: QueueRecord[];
  bytes: number;
  /** The offset after the last record queued: later duplicates (a re-fetch after a rejoin) are dropped. */
  next: number | undefined;
  busy: boolean;
  failures: number;
  /** Set while waiting out a backoff, so no other batch starts. */
  waiting: boolean;
  /** The partition was revoked: drop what is queued, commit nothing more. */
  revoked: boolean;
  /** An offset whose commit failed (a rebalance under way): committed again once the group is joined. */
  uncommitted: number | undefined;
}

/**
 * A consumer group member on @platformatic/kafka with the queue port's semantics:
 * - The client's message stream fills a queue per partition; a worker per partition cuts a batch
 *   (maxBatchRecords / maxBatchBytes) and hands it to the handler, at most one batch in flight per partition.
 * - Offsets are committed explicitly, after the handler resolves: the offset after the batch, or the
 *   offset it returned. A handler that throws gets the same records again after a backoff (100 ms doubling
 *   to 30 s); the records stay in memory, so a retry neither re-fetches nor skips.
 * - When the membership fails (the group cannot be joined, the stream fails: brokers gone for longer than
 *   the client's retries), run() rejects after leaving; the stage runner starts a new consumer after a
 *   backoff, which resumes at the committed offsets: nothing committed is lost, nothing uncommitted skipped.
 * - stop() waits for batches in flight (their commits included), then leaves the group.
 */
export class PlatformaticGroupConsumer implements QueueConsumer {
  private stopped = false;
  private wake: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly connection: PlatformaticConnectionOptions,
    private readonly options: ConsumerOptions,
    private readonly sessionTimeoutMs: number,
  ) {}

  run(handler: BatchHandler): Promise<void> {
    this.running ??= this.stopped ? Promise.resolve() : this.member(handler);
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.stopping ??= (this.running ?? Promise.resolve()).catch(() => undefined);
    await this.stopping;
  }

  /** The membership: join, consume until stop() or a failure (then reject), leave. */
  private async member(handler: BatchHandler): Promise<void> {
    const o = this.options;
    const consumer = new Consumer({
      ...this.connection,
      groupId: o.group,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(this.sessionTimeoutMs, 30_000),
      autocommit: false,
      minBytes: 1,
      // The batching window: the broker holds a fetch until there is data or the wait is over.
      maxWaitTime: Math.max(1, o.maxWaitMs ?? 500),
      maxBytesPerPartition: Math.max(1024 * 1024, o.maxBatchBytes ?? 6 * 1024 * 1024),
      retries: 5,
      retryDelay: 500,
    });
    const partitions = new Map<string, PartitionState>();
    let buffered = 0;
    let inFlight = 0;
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
    let failed: ((err: Error) => void) | undefined;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    const settled = new Set<Promise<void>>();

    const stateOf = (topic: string, partition: number) => {
      const key = `${topic}:${partition}`;
      let s = partitions.get(key);
      if (!s) {
        s = { topic, partition, records: [], bytes: 0, next: undefined, busy: false, failures: 0, waiting: false, revoked: false, uncommitted: undefined };
        partitions.set(key, s);
      }
      return s;
    };

    const maxRecords = Math.max(1, o.maxBatchRecords ?? 100);
    const maxBytes = Math.max(1, o.maxBatchBytes ?? 6 * 1024 * 1024);

    const schedule = () => {
      for (const s of partitions.values()) {
        if (this.stopped || inFlight >= CONCURRENT_PARTITIONS) return;
        if (s.busy || s.waiting || s.revoked || s.records.length === 0) continue;
        s.busy = true;
        inFlight++;
        const work = handle(s).finally(() => {
          s.busy = false;
          inFlight--;
          settled.delete(work);
          if (stream?.isPaused() && buffered < BUFFER_HIGH_BYTES / 2) stream.resume();
          setImmediate(schedule);
        });
        settled.add(work);
      }
    };

    // While the group rebalances, commits wait for the new generation: a commit refused for the old one
    // makes the client start a join of its own beside the heartbeat's, and two joins in flight keep the
    // group rebalancing.
    let rebalancing = false;
    const commit = async (s: PartitionState, offset: number) => {
      if (rebalancing) {
        s.uncommitted = Math.max(s.uncommitted ?? 0, offset);
        return;
      }
      try {
        await consumer.commit({ offsets: [{ topic: s.topic, partition: s.partition, offset: BigInt(offset), leaderEpoch: -1 }] });
        if (s.uncommitted !== undefined && s.uncommitted <= offset) s.uncommitted = undefined;
      } catch (err) {
        // The work is done. A rebalance is the usual cause: the offset is committed again once this
        // member has rejoined (or with a later batch); if the partition moves to another member, that
        // one starts at the last committed offset (at-least-once).
        s.uncommitted = Math.max(s.uncommitted ?? 0, offset);
        console.warn(`kafka: ${o.group} ${s.topic}[${s.partition}]: commit of offset ${offset} failed, retried after the rebalance: ${describe(err)}`);
      }
    };

    /** The partition's next batch waits this long (its records stay queued). */
    const retryLater = (s: PartitionState, wait: number) => {
      s.waiting = true;
      const timer = setTimeout(() => {
        s.waiting = false;
        schedule();
      }, wait);
      timer.unref();
    };

    const handle = async (s: PartitionState): Promise<void> => {
      let bytes = 0;
      let count = 0;
      while (count < s.records.length && count < maxRecords) {
        const size = s.records[count]!.value.length + (s.records[count]!.key?.length ?? 0);
        if (count > 0 && bytes + size > maxBytes) break;
        bytes += size;
        count++;
      }
      const records = s.records.slice(0, count);
      let next: number;
      try {
        const upTo = await handler({ topic: s.topic, partition: s.partition, records });
        next = typeof upTo === "number" ? upTo : records[records.length - 1]!.offset + 1;
      } catch (err) {
        s.failures++;
        const wait = backoff(s.failures);
        if (s.failures === 1 || s.failures % 10 === 0) console.warn(`kafka: ${o.group} ${s.topic}[${s.partition}] offset ${records[0]!.offset}: handler failed (${(err as Error).message}), retry ${s.failures} in ${wait} ms`);
        retryLater(s, wait);
        return;
      }
      if (next > records[0]!.offset && !s.revoked) await commit(s, next);
      let done = 0;
      while (done < s.records.length && s.records[done]!.offset < next) {
        s.bytes -= size(s.records[done]!);
        buffered -= size(s.records[done]!);
        done++;
      }
      s.records.splice(0, done);
      if (done < count) {
        // A partial result: the rest of the batch comes again after a backoff.
        s.failures++;
        retryLater(s, backoff(s.failures));
      } else {
        s.failures = 0;
      }
    };

    const onData = (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      const s = stateOf(m.topic, m.partition);
      const offset = Number(m.offset);
      if (s.revoked) return;
      if (s.next !== undefined && offset < s.next) return;
      const record: QueueRecord = {
        topic: m.topic,
        partition: m.partition,
        offset,
        key: m.key && m.key.length > 0 ? m.key.toString() : m.key ? "" : null,
        value: m.value ?? Buffer.alloc(0),
        timestamp: Number(m.timestamp),
        headers: Object.fromEntries([...m.headers].map(([k, v]) => [k.toString(), v?.toString() ?? ""])),
      };
      s.records.push(record);
      s.next = offset + 1;
      s.bytes += size(record);
      buffered += size(record);
      if (buffered > BUFFER_HIGH_BYTES) stream?.pause();
      // After the current fetch response is pushed: batches then hold what one fetch brought.
      setImmediate(schedule);
    };

    const onRebalance = () => {
      rebalancing = true;
    };

    const onJoin = () => {
      rebalancing = false;
      // Partitions this member lost: drop their queues (the new owner starts at the committed offset).
      const assigned = new Set((consumer.assignments ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)));
      for (const [key, s] of partitions) {
        if (assigned.has(key)) continue;
        s.revoked = true;
        buffered -= s.bytes;
        s.records = [];
        s.bytes = 0;
        partitions.delete(key);
      }
      if (stream?.isPaused() && buffered < BUFFER_HIGH_BYTES / 2) stream.resume();
      // Commits that failed during the rebalance, for the partitions this member kept.
      for (const s of partitions.values()) {
        if (s.uncommitted === undefined || s.busy) continue;
        const work = commit(s, s.uncommitted);
        settled.add(work);
        void work.finally(() => settled.delete(work));
      }
    };

    try {
      consumer.on("consumer:group:join", onJoin);
      consumer.on("consumer:group:rebalance", onRebalance);
      // The client emits "error" when it cannot rejoin the group after a failed heartbeat: the membership
      // is over (and an "error" event without a listener would take the process down).
      consumer.on("error", (err: Error) => failed?.(err));
      stream = await consumer.consume({
        topics: o.topics,
        autocommit: false,
        mode: "committed",
        fallbackMode: o.fromBeginning ? "earliest" : "latest",
        sessionTimeout: this.sessionTimeoutMs,
        heartbeatInterval: Math.max(500, Math.floor(this.sessionTimeoutMs / 5)),
      });
      stream.on("data", onData);
      stream.on("error", (err: Error) => failed?.(err));
      stream.on("close", () => failed?.(new Error("the message stream closed")));
      // stop() may have come while joining: then leave at once.
      if (!this.stopped) await Promise.race([failure, new Promise<void>((resolve) => (this.wake = resolve))]);
    } finally {
      this.wake = undefined;
      // Let batches in flight finish (their commits too) before leaving the group.
      while (settled.size > 0) await Promise.allSettled([...settled]);
      stream?.removeListener("data", onData);
      await stream?.close().catch((err: Error) => console.warn(`kafka: ${o.group}: closing the message stream: ${err.message}`));
      await closeForced(consumer).catch((err: Error) => console.warn(`kafka: ${o.group}: leaving the group: ${err.message}`));
    }
  }
}

function size(r: QueueRecord): number {
  return r.value.length + (r.key?.length ?? 0);
}
