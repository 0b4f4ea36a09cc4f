import { Admin, Consumer, Producer, type ClusterMetadata, type CompressionAlgorithmValue } from "@platformatic/kafka";
import {
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
  type TopicSpec,
} from "@unmeltable/core";
import { sleep } from "./backoff";
import { closeForced } from "./close";
import { describe, errorCodes } from "./errors";
import { PlatformaticGroupConsumer } from "./js-consumer";
import { platformaticConnection, type PlatformaticConnectionOptions } from "./js-connection";
import { MAX_RECORD_BYTES } from "./limits";
import { checkKafkaOptions, KafkaOptionsError } from "./kafka-options";
import type { KafkaQueueBaseOptions } from "./queue-options";
import { offsetsAtOrAfter, recordPartitioner, sentPositions } from "./record-placement";

export interface KafkaQueueOptions extends KafkaQueueBaseOptions {
  /**
   * "lz4" (default), "snappy", "gzip" or "none". lz4 and snappy run in WebAssembly inside
   * @platformatic/kafka, gzip in Node's zlib: no native module either way. ("zstd" needs Node ≥ 22.15.)
   */
  compression?: string;
}

/** ListOffsets' special timestamps. */
const EARLIEST = -2n;
const LATEST = -1n;

/** Kafka error codes the reader recovers from by refreshing metadata (leadership moved, broker back). */
const STALE_LEADER_ERRORS = new Set([3, 6, 74, 75]);

/**
 * The queue port on Kafka (Amazon MSK or any cluster) with @platformatic/kafka, a pure-JavaScript client:
 * nothing to compile or download per platform, so it runs in Lambda as it runs anywhere.
 *
 * - Producer: acks=all and idempotence (no loss, no duplicate on a retried produce), lz4 compression.
 * - Consumer groups: PlatformaticGroupConsumer (js-consumer.ts).
 * - Admin: one Admin client (CreateTopics, CreatePartitions, ListOffsets, OffsetFetch for a group without
 *   joining it, metadata).
 * - Reader: direct Fetch requests on one long-lived client's connections: no consumer group (a role may
 *   allow only its own group) and no new connection per read.
 */
export class PlatformaticKafkaQueue implements Queue {
  readonly admin: QueueAdmin;
  readonly reader: QueueReader;
  private readonly connection: PlatformaticConnectionOptions;
  private adminClient: Admin | undefined;
  /** Fetches and offsets for reads; its group id is never joined, committed or even looked up. */
  private fetcher: Consumer | undefined;
  private readonly closers = new Set<() => Promise<void>>();
  private readonly partitionCounts = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: KafkaQueueOptions) {
    checkKafkaOptions(options);
    compressionOf(options.compression); // refused now, not at the first write
    this.connection = platformaticConnection(options);
    this.admin = {
      ensureTopics: (specs) => this.ensureTopics(specs),
      partitions: (topic) => this.partitionCount(topic),
      offsets: (topic) => this.offsets(topic),
      committed: (group, topic) => this.committed(group, topic),
      offsetsForTime: (topic, ts) => this.offsetsForTime(topic, ts),
    };
    this.reader = { read: (topic, partition, offset, max) => this.read(topic, partition, offset, max) };
  }

  private adminOf(): Admin {
    if (this.closed) throw new Error("the Kafka queue is closed");
    if (!this.adminClient) {
      const admin = new Admin({ ...this.connection, retries: 5, retryDelay: 500 });
      this.adminClient = admin;
      this.closers.add(() => admin.close());
    }
    return this.adminClient;
  }

  private fetcherOf(): Consumer {
    if (this.closed) throw new Error("the Kafka queue is closed");
    if (!this.fetcher) {
      const fetcher = new Consumer({ ...this.connection, groupId: `${this.connection.clientId}-reader-unused`, retries: 5, retryDelay: 500 });
      this.fetcher = fetcher;
      this.closers.add(() => closeForced(fetcher));
    }
    return this.fetcher;
  }

  private async metadata(topics: string[], forceUpdate = false): Promise<ClusterMetadata> {
    return this.adminOf().metadata({ topics, forceUpdate });
  }

  private async topicPartitions(names: string[]): Promise<Map<string, number>> {
    const all = new Set(await this.adminOf().listTopics());
    const present = names.filter((n) => all.has(n));
    const out = new Map<string, number>();
    if (present.length === 0) return out;
    const md = await this.metadata(present, true);
    for (const n of present) {
      const t = md.topics.get(n);
      if (t) out.set(n, t.partitionsCount);
    }
    return out;
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const n = (await this.topicPartitions([topic])).get(topic);
    if (n === undefined) throw new Error(`unknown topic ${topic}`);
    this.partitionCounts.set(topic, n);
    return n;
  }

  /**
   * Creates missing topics (CreateTopics, with max.message.bytes for 8 MiB records and the spec's config)
   * and raises the partitions of an existing topic that has fewer than asked (CreatePartitions). Partitions
   * are never removed: a spec with fewer partitions than the topic leaves it as it is.
   */
  private async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const existing = await this.topicPartitions(specs.map((s) => s.name));
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0 && this.options.createTopics) {
      await this.options.createTopics(missing);
    } else if (missing.length > 0) {
      const admin = this.adminOf();
      const brokers = (await this.metadata([])).brokers.size || this.options.brokers.length;
      const replicas = this.options.replicationFactor ?? Math.min(3, brokers);
      for (const s of missing) {
        try {
          await admin.createTopics({
            topics: [s.name],
            partitions: s.partitions,
            replicas,
            configs: [{ name: "max.message.bytes", value: String(MAX_RECORD_BYTES) }, ...Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value }))],
          });
        } catch (err) {
          // Another process (a second collector starting, the deploy's topics step) may have won the race.
          if (errorCodes(err).every((c) => c === 36)) continue;
          throw new Error(`could not create topic ${s.name} (${s.partitions} partitions): ${describe(err)}. Create it with your cluster's tools and start again.`, { cause: err });
        }
      }
    }
    const grow = specs.filter((s) => existing.has(s.name) && existing.get(s.name)! < s.partitions);
    for (const s of grow) {
      try {
        // Keys move to other partitions for new records (ordering per key is not needed: see TopicSpec).
        await this.adminOf().createPartitions({ topics: [{ name: s.name, count: s.partitions }] });
      } catch (err) {
        // 37 INVALID_PARTITIONS: someone else raised them meanwhile; the check below decides.
        if (!errorCodes(err).every((c) => c === 37)) {
          throw new Error(`could not raise topic ${s.name} from ${existing.get(s.name)} to ${s.partitions} partitions: ${describe(err)}`, { cause: err });
        }
      }
    }
    const after = missing.length > 0 || grow.length > 0 ? await this.waitForPartitions(specs) : existing;
    for (const s of specs) {
      const n = after.get(s.name);
      if (n === undefined) throw new Error(`topic ${s.name} does not exist after creating it`);
      if (n < s.partitions) throw new Error(`topic ${s.name} has ${n} partitions after raising them to ${s.partitions}`);
      this.partitionCounts.set(s.name, n);
    }
  }

  /** Metadata lags behind CreateTopics/CreatePartitions on a real cluster for a moment: poll briefly. */
  private async waitForPartitions(specs: TopicSpec[]): Promise<Map<string, number>> {
    for (let attempt = 0; ; attempt++) {
      const now = await this.topicPartitions(specs.map((s) => s.name));
      if (attempt >= 20 || specs.every((s) => (now.get(s.name) ?? 0) >= s.partitions)) return now;
      await sleep(250);
    }
  }

  private async listOffsets(topic: string, timestamp: bigint): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic);
    const topics = await this.adminOf().listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: n }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }] });
    const out = new Map<number, number>();
    for (const t of topics) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
    return out;
  }

  private async offsets(topic: string): Promise<PartitionOffsets[]> {
    const [start, end] = await Promise.all([this.listOffsets(topic, EARLIEST), this.listOffsets(topic, LATEST)]);
    const n = await this.partitionCount(topic);
    return Array.from({ length: n }, (_, partition) => ({ partition, start: start.get(partition) ?? 0, end: end.get(partition) ?? 0 }));
  }

  /** A group's committed offsets (OffsetFetch): the group is only looked up, never joined. */
  private async committed(group: string, topic: string): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic);
    const groups = await this.adminOf().listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: Array.from({ length: n }, (_, i) => i) }] }],
    });
    const out = new Map<number, number>();
    for (const g of groups) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
    return out;
  }

  private async offsetsForTime(topic: string, ts: number): Promise<Map<number, number>> {
    const [found, ends] = await Promise.all([this.listOffsets(topic, BigInt(ts)).catch(() => new Map<number, number>()), this.offsets(topic)]);
    return offsetsAtOrAfter(topic, ts, found, ends, (t, partition, offset, max) => this.read(t, partition, offset, max));
  }

  /**
   * Reads up to maxRecords records of one partition from `offset` with Fetch requests to the partition's
   * leader, on the fetcher client's pooled connections. Stops at maxRecords or at the high watermark the
   * broker reports (what is durable: acks=all records below it).
   */
  private async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<QueueRecord[]> {
    const fetcher = this.fetcherOf();
    const out: QueueRecord[] = [];
    let next = offset;
    let staleRetries = 0;
    while (out.length < maxRecords) {
      const md = await fetcher.metadata({ topics: [topic], forceUpdate: staleRetries > 0 });
      const t = md.topics.get(topic);
      if (!t) throw new Error(`unknown topic ${topic}`);
      const p = t.partitions[partition];
      if (!p) throw new RangeError(`topic ${topic} has no partition ${partition}`);
      let response;
      try {
        response = await fetcher.fetch({
          node: p.leader,
          maxWaitTime: 50,
          minBytes: 1,
          maxBytes: Math.max(MAX_RECORD_BYTES + 1024 * 1024, 4 * 1024 * 1024),
          topics: [{ topicId: t.id, partitions: [{ partition, fetchOffset: BigInt(next), currentLeaderEpoch: p.leaderEpoch, lastFetchedEpoch: -1, partitionMaxBytes: Math.max(1024 * 1024, Math.min(MAX_RECORD_BYTES, maxRecords * 64 * 1024)) }] }],
        });
      } catch (err) {
        const codes = errorCodes(err);
        // 1 OFFSET_OUT_OF_RANGE: nothing there (expired, or beyond the end).
        if (codes.includes(1)) return out;
        if ((codes.some((c) => STALE_LEADER_ERRORS.has(c)) || codes.length === 0) && staleRetries < 5) {
          staleRetries++;
          await sleep(200 * staleRetries);
          continue;
        }
        throw new Error(`could not read ${topic}[${partition}] at offset ${next}: ${describe(err)}`, { cause: err });
      }
      staleRetries = 0;
      const part = response.responses[0]?.partitions.find((x) => x.partitionIndex === partition);
      if (!part) return out;
      const highWatermark = Number(part.highWatermark);
      let progressed = false;
      for (const batch of part.records ?? []) {
        for (const r of batch.records) {
          const o = Number(batch.firstOffset) + r.offsetDelta;
          if (o < next || out.length >= maxRecords) continue;
          out.push({
            topic,
            partition,
            offset: o,
            key: r.key && r.key.length > 0 ? r.key.toString() : r.key ? "" : null,
            value: r.value ?? Buffer.alloc(0),
            timestamp: Number(batch.firstTimestamp + r.timestampDelta),
            headers: Object.fromEntries(r.headers.map(([k, v]) => [k?.toString() ?? "", v?.toString() ?? ""])),
          });
          next = o + 1;
          progressed = true;
        }
      }
      if (next >= highWatermark || !progressed) break;
    }
    return out;
  }

  producer(): QueueProducer {
    const timeoutMs = this.options.produceTimeoutMs ?? 30_000;
    const producer = new Producer({
      ...this.connection,
      // acks=all and idempotence: a retried produce after a broker failover neither loses nor duplicates.
      idempotent: true,
      acks: -1,
      compression: compressionOf(this.options.compression),
      // Retries spread over the produce timeout, then the send fails (the collector spools to disk).
      retries: Math.max(2, Math.ceil(timeoutMs / 500)),
      retryDelay: 500,
      timeout: Math.min(timeoutMs, 30_000),
    });
    const partitionOf = recordPartitioner();
    const close = () => producer.close();
    this.closers.add(close);
    return {
      send: async (topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]> => {
        const n = await this.partitionCount(topic);
        const messages = records.map((r) => ({
          topic,
          key: Buffer.from(r.key),
          value: r.value,
          partition: partitionOf(r, n),
          timestamp: BigInt(r.timestamp ?? Date.now()),
          headers: r.headers && new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        }));
        const result = await withDeadline(producer.send({ messages }), timeoutMs, `Kafka did not acknowledge ${messages.length} record(s) for ${topic} within ${timeoutMs} ms`);
        const base = new Map((result.offsets ?? []).filter((o) => o.topic === topic).map((o) => [o.partition, Number(o.offset)]));
        return sentPositions(topic, messages.map((m) => m.partition), (partition) => {
          const b = base.get(partition);
          if (b === undefined) throw new Error(`Kafka acknowledged no offset for ${topic}[${partition}]`);
          return b;
        });
      },
      close: async () => {
        this.closers.delete(close);
        await close();
      },
    };
  }

  consumer(options: ConsumerOptions): QueueConsumer {
    const consumer = new PlatformaticGroupConsumer(this.connection, options, this.options.sessionTimeoutMs ?? 10_000);
    const stop = () => consumer.stop();
    this.closers.add(stop);
    return consumer;
  }

  async close(): Promise<void> {
    this.closed = true;
    const closers = [...this.closers];
    this.closers.clear();
    const results = await Promise.allSettled(closers.map((c) => c()));
    for (const r of results) if (r.status === "rejected") console.warn(`kafka: closing a client failed: ${describe(r.reason)}`);
  }
}

/** What @platformatic/kafka compresses with, any case ("zstd" needs Node ≥ 22.15). */
function compressionOf(name: string | undefined): CompressionAlgorithmValue {
  const c = (name ?? "lz4").toLowerCase();
  if (c === "lz4" || c === "snappy" || c === "gzip" || c === "none" || c === "zstd") return c;
  throw new KafkaOptionsError([{ option: "compression", message: `expected one of "lz4", "snappy", "gzip", "zstd", "none", got ${JSON.stringify(name)}` }]);
}

function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
