/**
 * The queue port: a partitioned, durable log with consumer groups, in Kafka's terms, so that the embedded
 * on-disk log (one machine) and Kafka / Amazon MSK (AWS) are interchangeable. Offsets are plain numbers
 * (they stay below 2^53 for any realistic log).
 *
 * Guarantees every adapter must give (checked by test/contract/queue.contract.ts):
 * - `send` resolves only once every record is durable (embedded: fsync'd; Kafka: acks=all), and then
 *   reports each record's partition and offset, in the order given.
 * - Within a partition, records are read in offset order; a consumer only ever sees durable records.
 * - A consumer group commits the offset after a batch only when its handler resolved; a handler that
 *   throws gets the same records again (at-least-once), and the group resumes at the committed offset
 *   after a restart.
 */
export interface TopicSpec {
  name: string;
  partitions: number;
  /**
   * Topic settings for Kafka (e.g. `retention.ms`), applied when the topic is created (and to an
   * existing topic by an adapter that can alter settings). The embedded queue has its own retention.
   */
  config?: Record<string, string>;
}

export interface OutgoingRecord {
  key: string;
  value: Buffer;
  /** Explicit partition; when absent the adapter picks one from the key. */
  partition?: number;
  /**
   * Without an explicit partition: spread the records of this key over this many consecutive partitions
   * from the key's own (round robin per producer), as `tenantPartition` does; default 1, one partition.
   */
  spread?: number;
  /** Epoch ms; defaults to now. */
  timestamp?: number;
  headers?: Record<string, string>;
}

export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
}

export interface QueueRecord extends RecordPosition {
  key: string | null;
  value: Buffer;
  timestamp: number;
  headers: Record<string, string>;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  records: QueueRecord[];
}

export interface ConsumerOptions {
  group: string;
  topics: string[];
  /** Where a group without a committed offset starts: the oldest retained record, or the end. */
  fromBeginning?: boolean;
  /** Upper bounds of one batch (Lambda ESM: BatchSize, and the 6 MB payload). */
  maxBatchRecords?: number;
  maxBatchBytes?: number;
  /** The batching window: how long to wait for a batch to fill once it has a first record. */
  maxWaitMs?: number;
}

/**
 * Handles one batch. Resolving with nothing commits the whole batch. Resolving with an offset commits
 * only up to it (the records before it are done) and delivers the records from it again after a backoff:
 * how a stage retries a record without re-doing, or blocking on, the ones before it.
 */
export type BatchHandler = (batch: PartitionBatch) => Promise<void | number>;

export interface QueueConsumer {
  /**
   * Delivers batches, at most one in flight per partition, until stop(). After `handler` resolves the
   * offset after the batch's last record (or the offset it returned) is committed; when it throws, the
   * batch is delivered again after a backoff.
   */
  run(handler: BatchHandler): Promise<void>;
  stop(): Promise<void>;
}

export interface SendOptions {
  /**
   * Withdraws records that are still waiting to be written: the send then rejects with an error named
   * "AbortError" and none of them is stored. Records whose write has begun settle with its outcome (an
   * adapter that cannot withdraw anything, like Kafka's, always waits for the outcome).
   */
  signal?: AbortSignal;
}

export interface QueueProducer {
  /**
   * Resolves once every record is durable. A rejection other than AbortError may leave some records
   * stored when they went to several partitions; records of one send to one partition are all stored
   * or none (the embedded queue writes them in one group commit).
   */
  send(topic: string, records: OutgoingRecord[], options?: SendOptions): Promise<RecordPosition[]>;
  close(): Promise<void>;
}

export interface PartitionOffsets {
  partition: number;
  /** Oldest retained offset. */
  start: number;
  /** Offset the next record will get (the high watermark). */
  end: number;
}

export interface QueueAdmin {
  /** Creates missing topics; verifies that existing ones have at least the requested partitions. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  partitions(topic: string): Promise<number>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /** Committed offsets of a group (partition → next offset to read); absent partitions have none. */
  committed(group: string, topic: string): Promise<Map<number, number>>;
  /** The first offset whose timestamp is >= ts, per partition (Kafka's ListOffsets by time). */
  offsetsForTime(topic: string, ts: number): Promise<Map<number, number>>;
}

export interface QueueReader {
  /** Reads up to maxRecords durable records of one partition starting at `offset`. */
  read(topic: string, partition: number, offset: number, maxRecords: number): Promise<QueueRecord[]>;
}

export interface Queue {
  readonly admin: QueueAdmin;
  readonly reader: QueueReader;
  producer(): QueueProducer;
  consumer(options: ConsumerOptions): QueueConsumer;
  close(): Promise<void>;
}
