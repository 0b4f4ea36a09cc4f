/**
 * A model of a Lambda event-source mapping on Kafka, driven by the mapping arguments the stacks make
 * (stacks/pipeline.ts `mappingArgs`), so that a test runs the real handler the way Lambda would with
 * those settings. It encodes this project's reading of AWS's documentation, not Lambda itself:
 *
 * - docs.aws.amazon.com/lambda/latest/dg/with-msk.html: per partition, batches of up to BatchSize
 *   records and at most 6 MB of event; offsets are committed after a batch succeeds.
 * - .../kafka-retry-configurations.html: MaximumRetryAttempts counts retries after the first attempt
 *   (-1: infinite); ReportBatchItemFailures resumes a partition from the reported offset (an identifier
 *   not in the event fails the whole batch); BisectBatchOnFunctionError splits the batch on a function
 *   error.
 * - .../kafka-on-failure-destination.html: after the retries (infinite becomes 10 when a destination is
 *   set) the batch goes to the destination topic as {requestContext, responseContext, version,
 *   timestamp, KafkaBatchInfo, payload} keyed by the original key, and the partition moves on.
 *
 * One partition per invocation, and a function that outlives its timeout counts as a function error.
 */
import type { MSKEvent, MSKRecord } from "aws-lambda";
import type { Queue, QueueProducer, QueueRecord } from "@unmeltable/core";

export interface MappingSettings {
  topics?: string[];
  batchSize?: number;
  maximumRetryAttempts?: number;
  bisectBatchOnFunctionError?: boolean;
  functionResponseTypes?: string[];
  destinationConfig?: { onFailure?: { destinationArn?: string } };
}

type Handler = (event: MSKEvent, context: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

const PAYLOAD_BYTES = 6 * 1024 * 1024;

export class EsmEmulator {
  readonly committed = new Map<number, number>();
  invocations = 0;
  /** Invocations that ended with a function error or reported failures. */
  failedInvocations = 0;
  /** Records sent to the on-failure destination. */
  discarded = 0;
  private readonly topic: string;
  private readonly maxRetries: number;
  private readonly destination: string | undefined;

  constructor(
    private readonly o: {
      queue: Queue;
      producer: QueueProducer;
      mapping: MappingSettings;
      handler: Handler;
      functionTimeoutMs: number;
      functionArn?: string;
    },
  ) {
    const m = o.mapping;
    if (!m.topics || m.topics.length !== 1) throw new Error("a Kafka mapping has exactly one topic");
    this.topic = m.topics[0]!;
    const arn = m.destinationConfig?.onFailure?.destinationArn;
    this.destination = arn?.startsWith("kafka://") ? arn.slice("kafka://".length) : undefined;
    const retries = m.maximumRetryAttempts ?? -1;
    this.maxRetries = retries === -1 ? (this.destination ? 10 : Number.POSITIVE_INFINITY) : retries;
  }

  /** Runs until every partition's committed offset reaches its end, or `maxInvocations` is reached. */
  async drain(maxInvocations = 10_000): Promise<void> {
    const partitions = await this.o.queue.admin.offsets(this.topic);
    for (const p of partitions) if (!this.committed.has(p.partition)) this.committed.set(p.partition, p.start);
    // Partitions in turn, one batch each, as pollers would interleave them.
    const state = new Map<number, { retries: number; limit: number | undefined }>();
    for (;;) {
      const ends = await this.o.queue.admin.offsets(this.topic);
      const pending = ends.filter((p) => (this.committed.get(p.partition) ?? p.start) < p.end);
      if (pending.length === 0) return;
      for (const p of pending) {
        if (this.invocations >= maxInvocations) throw new Error(`the mapping did not catch up within ${maxInvocations} invocations`);
        const s = state.get(p.partition) ?? { retries: 0, limit: undefined };
        state.set(p.partition, s);
        await this.step(p.partition, p.end, s);
      }
    }
  }

  private async step(partition: number, end: number, s: { retries: number; limit: number | undefined }): Promise<void> {
    const from = this.committed.get(partition)!;
    const records = await this.readBatch(partition, from, Math.min(end - from, s.limit ?? this.o.mapping.batchSize ?? 100));
    if (records.length === 0) return;
    this.invocations++;
    const started = Date.now();
    let outcome: { ok: true } | { resumeAt: number } | { error: string };
    try {
      const result = (await this.o.handler(this.event(records), { getRemainingTimeInMillis: () => started + this.o.functionTimeoutMs - Date.now() })) as { batchItemFailures?: { itemIdentifier: { partition: string; offset: number } }[] } | undefined;
      if (Date.now() - started > this.o.functionTimeoutMs) outcome = { error: "Task timed out" };
      else if (this.o.mapping.functionResponseTypes?.includes("ReportBatchItemFailures") && result?.batchItemFailures && result.batchItemFailures.length > 0) {
        const mine = result.batchItemFailures.map((f) => f.itemIdentifier).filter((i) => i.partition === `${this.topic}-${partition}`);
        const known = mine.every((i) => records.some((r) => r.offset === i.offset)) && mine.length === result.batchItemFailures.length;
        outcome = known ? { resumeAt: Math.min(...mine.map((i) => i.offset)) } : { error: "invalid batchItemFailures" };
      } else outcome = { ok: true };
    } catch (err) {
      outcome = { error: (err as Error).message };
    }
    if ("ok" in outcome) {
      this.committed.set(partition, records[records.length - 1]!.offset + 1);
      s.retries = 0;
      s.limit = undefined;
      return;
    }
    this.failedInvocations++;
    if ("resumeAt" in outcome) this.committed.set(partition, outcome.resumeAt);
    else if (this.o.mapping.bisectBatchOnFunctionError && records.length > 1) s.limit = Math.ceil(records.length / 2);
    s.retries++;
    if (s.retries <= this.maxRetries) return;
    // Retries exhausted: what is left of the batch goes to the destination (or is dropped), and the partition moves on.
    const left = records.filter((r) => r.offset >= this.committed.get(partition)!);
    if (this.destination) await this.o.producer.send(this.destination, left.map((r) => ({ key: r.key ?? "", value: this.envelope(r, s.retries) })));
    this.discarded += left.length;
    this.committed.set(partition, records[records.length - 1]!.offset + 1);
    s.retries = 0;
    s.limit = undefined;
  }

  private async readBatch(partition: number, from: number, max: number): Promise<QueueRecord[]> {
    const records = await this.o.queue.reader.read(this.topic, partition, from, max);
    const out: QueueRecord[] = [];
    let bytes = 1024;
    for (const r of records) {
      bytes += JSON.stringify(toMskRecord(r)).length;
      if (out.length > 0 && bytes > PAYLOAD_BYTES) break;
      out.push(r);
    }
    return out;
  }

  private event(records: QueueRecord[]): MSKEvent {
    const key = `${this.topic}-${records[0]!.partition}`;
    return { eventSource: "aws:kafka", eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/test/uuid", bootstrapServers: "b-1.test:9098", records: { [key]: records.map(toMskRecord) } };
  }

  private envelope(r: QueueRecord, attempts: number): Buffer {
    const msk = toMskRecord(r);
    return Buffer.from(
      JSON.stringify({
        requestContext: { requestId: `req-${this.invocations}`, functionArn: this.o.functionArn ?? "arn:aws:lambda:eu-west-1:123456789012:function:test", condition: "RetriesExhausted", approximateInvokeCount: attempts },
        responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
        version: "1.0",
        timestamp: new Date().toISOString(),
        KafkaBatchInfo: {
          batchSize: 1,
          eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/test/uuid",
          bootstrapServers: "b-1.test:9098",
          payloadSize: JSON.stringify(msk).length,
          recordInfo: { offset: String(r.offset), timestamp: new Date(r.timestamp).toISOString() },
        },
        payload: { bootstrapServers: "b-1.test:9098", eventSource: "aws:kafka", eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/test/uuid", records: { [`${r.topic}-${r.partition}`]: [msk] } },
      }),
    );
  }
}

export function toMskRecord(r: QueueRecord): MSKRecord {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: "CREATE_TIME",
    key: Buffer.from(r.key ?? "").toString("base64"),
    value: r.value.toString("base64"),
    headers: Object.entries(r.headers).map(([k, v]) => ({ [k]: [...Buffer.from(v)] })),
  };
}
