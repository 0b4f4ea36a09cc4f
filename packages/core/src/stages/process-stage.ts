import { decodeRawBatch, type RawRecord } from "../raw-record";
import { encodeProcessedDocs } from "../processed-batch";
import { toEvent, type ToEventOptions } from "../process/to-event";
import { deferredTopic, processedTopic } from "../topics";
import type { PlanMeter } from "../plan-meter";
import { isSampled } from "../sampling";
import type { DeadLetter } from "../dead-letter";
import type { OutgoingRecord, QueueRecord } from "../ports/queue";
import { recordDeadLetter, type RecordOutcome, type Stage, type StageResult } from "./stage";

/**
 * The most bytes of documents in one processed record (a tenant's events of one raw batch are cut into
 * records of at most this): under Kafka's default 1 MB record limit, and with Lambda's 6 MB invocation
 * a handful per batch (stacks/config.ts, PAYLOAD). One event larger than this makes a record of its own.
 */
export const PROCESSED_RECORD_BYTES = 900 * 1024;

export interface ProcessStageOptions {
  /** The index tier of a tenant (each tier has its own processed topic). */
  tierOf: (tenant: string) => string;
  /**
   * Over how many partitions of the processed topic a tenant's records are spread (its
   * `partitionSpread`, as on raw): a big tenant gets that many index consumers. Default 1.
   */
  spreadOf?: (tenant: string) => number;
  /** See PROCESSED_RECORD_BYTES (the default). */
  maxRecordBytes?: number;
  toEvent?: ToEventOptions;
  /** Staging: keep only this fraction of events, chosen by a hash of the id (deterministic). */
  sampleRate?: number;
  /** Prefix of the processed topics written (a staging pipeline writes to topics of its own). */
  topicPrefix?: string;
  /**
   * Tenants' plans: an event over its tenant's plan goes to the tier's deferred topic instead of the
   * processed topic (indexed by a lower-priority consumer, docs/plans.md). None: every event is in plan.
   */
  plans?: PlanMeter;
}

/**
 * Deferred records are cut smaller than processed ones: the deferred consumer takes one small batch at a
 * time between the regular path's batches, and a small record keeps that gap short.
 */
export const DEFERRED_RECORD_BYTES = 128 * 1024;

/**
 * The process stage: raw batches → parsed Loggly events, one processed record per tenant per input batch
 * (all the tenant's events of the batch together), to the processed topic of the tenant's tier.
 */
export function createProcessStage(options: ProcessStageOptions): Stage {
  return async (records: QueueRecord[]): Promise<StageResult> => {
    const outcomes: RecordOutcome[] = [];
    const deadLetters: DeadLetter[] = [];
    // Per tenant, the JSON documents of this batch, in order: within the plan, and over it.
    const byTenant = new Map<string, string[]>();
    const overPlan = new Map<string, string[]>();
    let eventsIn = 0;
    let eventsOut = 0;
    const received = new Map<string, { tenant: string; events: number; bytes: number }>();
    for (const record of records) {
      let events: RawRecord[];
      try {
        events = decodeRawBatch(record.value).events;
      } catch (err) {
        outcomes.push({ status: "dead", reason: "unparseable_record", error: (err as Error).message });
        continue;
      }
      eventsIn += events.length;
      for (const raw of events) {
        let r = received.get(raw.tenant);
        if (!r) received.set(raw.tenant, (r = { tenant: raw.tenant, events: 0, bytes: 0 }));
        r.events++;
        r.bytes += rawSize(raw);
        if (options.sampleRate !== undefined && !isSampled(raw.id, options.sampleRate)) continue;
        let doc: string;
        try {
          doc = JSON.stringify(toEvent(raw, options.toEvent));
        } catch (err) {
          deadLetters.push({ stage: "process", reason: "process_failed", error: (err as Error).message, at: Date.now(), tenant: raw.tenant, record: raw, source: `${record.topic}-${record.partition}@${record.offset}` });
          continue;
        }
        const within = options.plans ? options.plans.admit(raw.tenant, Buffer.byteLength(raw.raw), raw.receivedAt) : true;
        const into = within ? byTenant : overPlan;
        let docs = into.get(raw.tenant);
        if (!docs) into.set(raw.tenant, (docs = []));
        docs.push(doc);
        eventsOut++;
      }
      outcomes.push({ status: "ok" });
    }
    const byTopic = new Map<string, OutgoingRecord[]>();
    const put = (tenants: Map<string, string[]>, topicOf: (tier: string) => string, maxBytes: number) => {
      for (const [tenant, docs] of tenants) {
        const topic = `${options.topicPrefix ?? ""}${topicOf(options.tierOf(tenant))}`;
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        // Ordering within a tenant is not needed downstream (an event's id makes indexing idempotent), so a
        // tenant's records may go to several partitions.
        const spread = Math.max(1, options.spreadOf?.(tenant) ?? 1);
        for (const chunk of chunkBySize(docs, maxBytes)) list.push({ key: tenant, spread, value: encodeProcessedDocs(tenant, chunk) });
      }
    };
    put(byTenant, processedTopic, options.maxRecordBytes ?? PROCESSED_RECORD_BYTES);
    put(overPlan, deferredTopic, Math.min(options.maxRecordBytes ?? PROCESSED_RECORD_BYTES, DEFERRED_RECORD_BYTES));
    const deferred = overPlan.size > 0 ? Object.fromEntries([...overPlan].map(([t, docs]) => [t, docs.length])) : undefined;
    for (let i = 0; i < records.length; i++) {
      const o = outcomes[i]!;
      if (o.status === "dead") deadLetters.push(recordDeadLetter("process", records[i]!, o.reason, o.error));
    }
    return { outcomes, output: [...byTopic].map(([topic, recs]) => ({ topic, records: recs })), deadLetters, eventsIn, eventsOut, received: [...received.values()], ...(deferred ? { deferred } : {}) };
  };
}

/** An event's size as received: its exact bytes when they were not UTF-8, else its text's UTF-8 length. */
function rawSize(raw: RawRecord): number {
  if (typeof raw.rawBytes === "string") return Math.floor((raw.rawBytes.length * 3) / 4) - (raw.rawBytes.endsWith("==") ? 2 : raw.rawBytes.endsWith("=") ? 1 : 0);
  return typeof raw.raw === "string" ? Buffer.byteLength(raw.raw) : 0;
}

function* chunkBySize(docs: string[], maxBytes: number): Generator<string[]> {
  let chunk: string[] = [];
  let size = 0;
  for (const d of docs) {
    const bytes = Buffer.byteLength(d);
    if (chunk.length > 0 && size + bytes > maxBytes) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(d);
    size += bytes;
  }
  if (chunk.length > 0) yield chunk;
}
