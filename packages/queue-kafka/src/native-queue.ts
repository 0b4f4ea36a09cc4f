/* eslint-disable @typescript-eslint/prefer-promise-reject-errors, @typescript-eslint/no-unsafe-return --
 * the native client's callbacks are typed loosely (any): the errors they pass are its LibrdKafkaError
 * objects, rejected as they come so callers see the client's own code and message. */
import { createRequire } from "node:module";
import type { KafkaJS as KafkaJSTypes, KafkaConsumer as RdKafkaConsumer } from "@confluentinc/kafka-javascript";
import {
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
  type TopicSpec,
} from "@unmeltable/core";
import { backoff, sleep } from "./backoff";
import { MAX_RECORD_BYTES } from "./limits";
import { rdkafkaConfig, type RdkafkaConfig } from "./native-connection";
import { checkCompression, checkKafkaOptions } from "./kafka-options";
import type { KafkaQueueBaseOptions } from "./queue-options";
import { offsetsAtOrAfter, recordPartitioner, sentPositions } from "./record-placement";

type KafkaModule = typeof import("@confluentinc/kafka-javascript");

/** What to do when the Kafka client is not installed, in one line (the CLI prints it as it is). */
export const KAFKA_CLIENT_MISSING =
  "--kafka-client native needs @confluentinc/kafka-javascript, an optional native addon that is not installed here (the default, --kafka-client js, needs nothing): " +
  "apt-get install librdkafka-dev libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev liblz4-dev libsasl2-dev && CKJS_LINKING=dynamic npm install";

let kafkaModule: KafkaModule | undefined;

/**
 * The client is CommonJS with a native addon and an optional dependency (the embedded mode never needs
 * it, and it cannot be built on a machine without librdkafka's libraries): load it the CommonJS way from
 * ESM, and only when a Kafka queue is opened.
 */
export function loadKafkaClient(): KafkaModule {
  if (kafkaModule) return kafkaModule;
  try {
    kafkaModule = createRequire(import.meta.url)("@confluentinc/kafka-javascript") as KafkaModule;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "MODULE_NOT_FOUND" || code === "ERR_DLOPEN_FAILED") throw new Error(KAFKA_CLIENT_MISSING, { cause: err });
    throw err;
  }
  return kafkaModule;
}

export interface NativeKafkaQueueOptions extends KafkaQueueBaseOptions {
  /** "lz4" (default), "zstd", "gzip", "snappy" or "none". */
  compression?: string;
}

/**
 * The queue port on Kafka (Amazon MSK or any cluster) with @confluentinc/kafka-javascript (librdkafka), the
 * optional native alternative to PlatformaticKafkaQueue (entry `@unmeltable/queue-kafka/native`; the
 * runtime picks it with `--kafka-client native`):
 * producer with acks=all and compression; consumer groups with offsets committed only after the
 * handler's output is durable; admin and reads through librdkafka's classic calls (metadata, watermark
 * offsets, offsets for times, committed offsets), which every broker version answers.
 */
export class NativeKafkaQueue implements Queue {
  readonly admin: QueueAdmin;
  readonly reader: QueueReader;
  private readonly base: RdkafkaConfig;
  private readonly kafka: KafkaJSTypes.Kafka;
  private inspector: Promise<RdKafkaConsumer> | undefined;
  private readonly closers = new Set<() => Promise<void>>();
  private readonly partitionCounts = new Map<string, number>();

  constructor(private readonly options: NativeKafkaQueueOptions) {
    checkKafkaOptions(options);
    checkCompression(options.compression, ["lz4", "zstd", "gzip", "snappy", "none"]);
    this.base = rdkafkaConfig(options);
    this.kafka = new (loadKafkaClient().KafkaJS.Kafka)({ ...(this.base as object) });
    this.admin = {
      ensureTopics: (specs) => this.ensureTopics(specs),
      partitions: (topic) => this.partitionCount(topic),
      offsets: (topic) => this.offsets(topic),
      committed: (group, topic) => this.committed(group, topic),
      offsetsForTime: (topic, ts) => this.offsetsForTime(topic, ts),
    };
    this.reader = { read: (topic, partition, offset, max) => this.read(topic, partition, offset, max) };
  }

  /** A low-level consumer without subscriptions, for metadata and offset queries. */
  private inspect(): Promise<RdKafkaConsumer> {
    this.inspector ??= (async () => {
      const c = new (loadKafkaClient().KafkaConsumer)({ ...(this.base as object), "group.id": `unmeltable-inspector-${process.pid}`, "enable.auto.commit": false }, {});
      await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
      this.closers.add(() => new Promise<void>((r) => c.disconnect(() => r())));
      return c;
    })();
    return this.inspector;
  }

  private async topicPartitions(): Promise<Map<string, number>> {
    const c = await this.inspect();
    const md = await new Promise<{ topics: { name: string; partitions: unknown[] }[] }>((resolve, reject) =>
      c.getMetadata({ timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    return new Map(md.topics.map((t) => [t.name, t.partitions.length]));
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const n = (await this.topicPartitions()).get(topic);
    if (n === undefined) throw new Error(`unknown topic ${topic}`);
    this.partitionCounts.set(topic, n);
    return n;
  }

  /**
   * Creates missing topics through the Admin API and verifies existing ones. Partitions are never removed;
   * a topic with fewer partitions than asked for is reported, not altered (that reshuffles keys).
   */
  private async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const existing = await this.topicPartitions();
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0 && this.options.createTopics) {
      await this.options.createTopics(missing);
    } else if (missing.length > 0) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const brokers = this.options.brokers.length;
        await admin.createTopics({
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: this.options.replicationFactor ?? Math.min(3, brokers),
            configEntries: [{ name: "max.message.bytes", value: String(MAX_RECORD_BYTES) }, ...Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value }))],
          })),
        });
      } catch (err) {
        throw new Error(`could not create topics ${missing.map((s) => `${s.name} (${s.partitions} partitions)`).join(", ")}: ${(err as Error).message}. Create them with your cluster's tools and start again.`);
      } finally {
        await admin.disconnect();
      }
    }
    const after = missing.length > 0 ? await this.topicPartitions() : existing;
    for (const s of specs) {
      const n = after.get(s.name);
      if (n === undefined) throw new Error(`topic ${s.name} does not exist after creating it`);
      if (n < s.partitions) throw new Error(`topic ${s.name} has ${n} partitions, ${s.partitions} wanted: add partitions with your cluster's tools`);
      this.partitionCounts.set(s.name, n);
    }
  }

  private async offsets(topic: string): Promise<PartitionOffsets[]> {
    const c = await this.inspect();
    const n = await this.partitionCount(topic);
    return Promise.all(
      Array.from({ length: n }, (_, partition) =>
        new Promise<PartitionOffsets>((resolve, reject) =>
          c.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve({ partition, start: o.lowOffset, end: o.highOffset }))),
        ),
      ),
    );
  }

  private async committed(group: string, topic: string): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic);
    const c = new (loadKafkaClient().KafkaConsumer)({ ...(this.base as object), "group.id": group, "enable.auto.commit": false }, {});
    await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    try {
      const parts = await new Promise<{ partition: number; offset: number }[]>((resolve, reject) =>
        c.committed(
          Array.from({ length: n }, (_, partition) => ({ topic, partition })),
          10_000,
          (err, tps) => (err ? reject(err) : resolve(tps)),
        ),
      );
      return new Map(parts.filter((p) => p.offset >= 0).map((p) => [p.partition, p.offset]));
    } finally {
      await new Promise<void>((r) => c.disconnect(() => r()));
    }
  }

  private async offsetsForTime(topic: string, ts: number): Promise<Map<number, number>> {
    const c = await this.inspect();
    const n = await this.partitionCount(topic);
    const found = await new Promise<{ partition: number; offset: number }[]>((resolve, reject) =>
      c.offsetsForTimes(
        Array.from({ length: n }, (_, partition) => ({ topic, partition, offset: ts })),
        10_000,
        (err, offsets) => (err ? reject(err) : resolve(offsets)),
      ),
    );
    // librdkafka leaves a partition's input (the timestamp) in place when it has no answer for it (an
    // empty partition, an error): only an offset within the partition is an answer (offsetsAtOrAfter checks).
    const answers = new Map<number, number>();
    for (const f of found as { partition: number; offset: number; err?: unknown; error?: unknown }[]) if (!f.err && !f.error) answers.set(f.partition, f.offset);
    return offsetsAtOrAfter(topic, ts, answers, await this.offsets(topic), (t, partition, offset, max) => this.read(t, partition, offset, max));
  }

  /**
   * Reads records of one partition from an offset, with a short-lived assigned consumer (no group).
   * It stops at maxRecords or when the partition has nothing more to give for a few polls: a high
   * watermark asked for right after a write can lag behind it, so it is only the fast path for
   * "nothing at or after this offset", not the limit.
   */
  private async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<QueueRecord[]> {
    const end = ((await this.offsets(topic)).find((o) => o.partition === partition) as PartitionOffsets).end;
    const c = new (loadKafkaClient().KafkaConsumer)({ ...(this.base as object), "group.id": `unmeltable-reader-${process.pid}-${++readers}`, "enable.auto.commit": false }, { "auto.offset.reset": "earliest" });
    await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    try {
      c.setDefaultConsumeTimeout(offset >= end ? 300 : 1000);
      c.assign([{ topic, partition, offset }]);
      const out: QueueRecord[] = [];
      let idle = 0;
      const maxIdle = offset >= end ? 1 : 5;
      while (out.length < maxRecords && idle < maxIdle) {
        const msgs = await new Promise<{ offset: number; key?: Buffer | null; value: Buffer | null; timestamp?: number; headers?: Record<string, Buffer | string>[] }[]>((resolve, reject) =>
          c.consume(maxRecords - out.length, (err, m) => (err ? reject(err) : resolve(m as never))),
        );
        idle = msgs.length === 0 ? idle + 1 : 0;
        for (const m of msgs) {
          if (m.offset < offset) continue;
          out.push({ topic, partition, offset: m.offset, key: m.key ? m.key.toString() : null, value: m.value ?? Buffer.alloc(0), timestamp: m.timestamp ?? 0, headers: flattenHeaders(m.headers) });
        }
        // Caught up with what the partition held when we asked: no need to wait for more.
        if (out.length > 0 && out[out.length - 1]!.offset >= end - 1) break;
      }
      return out;
    } finally {
      await new Promise<void>((r) => c.disconnect(() => r()));
    }
  }

  producer(): QueueProducer {
    const producer = this.kafka.producer({
      ...(this.base as object),
      "linger.ms": 5,
      "message.timeout.ms": this.options.produceTimeoutMs ?? 30_000,
      // A raw batch is up to ~1 MiB, and one event may be 1 MiB on its own: allow records up to 8 MiB
      // (the topics are created with the same max.message.bytes).
      "message.max.bytes": MAX_RECORD_BYTES,
      // acks=all and idempotence: a retried produce after a broker failover neither loses nor duplicates.
      "enable.idempotence": true,
      kafkaJS: { acks: -1, compression: (this.options.compression ?? "lz4") as KafkaJSTypes.CompressionTypes },
    });
    let connected: Promise<void> | undefined;
    const partitionOf = recordPartitioner();
    const close = async () => {
      if (connected) await producer.disconnect().catch(() => undefined);
    };
    this.closers.add(close);
    return {
      send: async (topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]> => {
        connected ??= producer.connect();
        await connected;
        const n = await this.partitionCount(topic);
        const messages = records.map((r) => ({ key: r.key, value: r.value, partition: partitionOf(r, n), timestamp: r.timestamp === undefined ? undefined : String(r.timestamp), headers: r.headers }));
        const metadata = await producer.send({ topic, messages });
        const base = new Map(metadata.map((m) => [m.partition, Number(m.baseOffset ?? m.offset ?? -1)]));
        return sentPositions(topic, messages.map((m) => m.partition), (partition) => base.get(partition) ?? -1);
      },
      close: async () => {
        this.closers.delete(close);
        await close();
      },
    };
  }

  consumer(options: ConsumerOptions): QueueConsumer {
    return new KafkaGroupConsumer(this.kafka, this.base, options, this.options.sessionTimeoutMs ?? 10_000);
  }

  async close(): Promise<void> {
    await Promise.all([...this.closers].map((c) => c()));
    this.closers.clear();
  }
}

/** Each short-lived reader gets a group id of its own: two readers of one process never share state. */
let readers = 0;

function flattenHeaders(headers: Record<string, Buffer | string>[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers ?? []) for (const [k, v] of Object.entries(h)) out[k] = v.toString();
  return out;
}

/**
 * A consumer group member. Batches come from librdkafka per partition (partitionsConsumedConcurrently),
 * are cut to maxBatchRecords, and are committed explicitly after the handler resolves. A failing handler
 * is retried in place with backoff (the partition waits, as with a Lambda event-source mapping in
 * on-demand mode); a partial result commits what is done and retries the rest.
 */
class KafkaGroupConsumer implements QueueConsumer {
  private readonly consumer: KafkaJSTypes.Consumer;
  private stopped = false;

  constructor(
    kafka: KafkaJSTypes.Kafka,
    base: RdkafkaConfig,
    private readonly options: ConsumerOptions,
    sessionTimeoutMs: number,
  ) {
    this.consumer = kafka.consumer({
      ...(base as object),
      // The batching window: the broker holds a fetch until there is enough data or the wait is over.
      "fetch.wait.max.ms": Math.max(1, options.maxWaitMs ?? 500),
      "fetch.min.bytes": 1,
      // How long a member that vanished without leaving (a crash) holds its partitions.
      "session.timeout.ms": sessionTimeoutMs,
      "heartbeat.interval.ms": Math.max(500, Math.floor(sessionTimeoutMs / 5)),
      "max.partition.fetch.bytes": Math.max(1024 * 1024, options.maxBatchBytes ?? 6 * 1024 * 1024),
      kafkaJS: { groupId: options.group, fromBeginning: options.fromBeginning ?? false, autoCommit: false },
    });
  }

  async run(handler: BatchHandler): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics });
    const maxRecords = this.options.maxBatchRecords ?? 100;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    await this.consumer.run({
      partitionsConsumedConcurrently: 16,
      // eslint-disable-next-line @typescript-eslint/unbound-method -- plain functions of the batch payload
      eachBatch: async ({ batch, isRunning, isStale }) => {
        const all: QueueRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key ? m.key.toString() : null,
          value: m.value ?? Buffer.alloc(0),
          timestamp: Number(m.timestamp),
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }));
        let failures = 0;
        for (let i = 0; i < all.length && !this.stopped && isRunning() && !isStale(); ) {
          const records = all.slice(i, i + maxRecords);
          let next: number;
          try {
            const upTo = await handler({ topic: batch.topic, partition: batch.partition, records });
            next = typeof upTo === "number" ? upTo : records[records.length - 1]!.offset + 1;
          } catch {
            failures++;
            await sleep(backoff(failures));
            continue;
          }
          if (next > records[0]!.offset) {
            await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(next) }]);
          }
          const consumed = records.findIndex((r) => r.offset >= next);
          if (consumed !== -1) failures++;
          if (consumed === -1) {
            i += records.length;
            failures = 0;
          } else {
            i += consumed;
            await sleep(backoff(failures));
          }
          if (i < all.length && (this.stopped || !isRunning() || isStale())) {
            // Leaving the batch unfinished: the fetch position must go back to the first unhandled record.
            this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(all[i]!.offset) });
          }
        }
      },
    });
    const check = setInterval(() => {
      if (this.stopped) {
        clearInterval(check);
        finished();
      }
    }, 50);
    await done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer.disconnect().catch(() => undefined);
  }
}
