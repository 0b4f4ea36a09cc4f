import { encodeProcessedRanges } from "../processed-batch";
import type { ToEventOptions } from "../process/to-event";
import { deferredTopic, processedTopic } from "../topics";
import type { PlanMeter } from "../plan-meter";
import { rawBatchTenant } from "../raw-record";
import type { DerivedRuleSource } from "../derived-fields/rule-source";
import { parseRawRecords, type ParsedRaw, type ParseRawOptions } from "./parse-raw";
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
  /** Tenants' derived-field rules, applied to each event after the built-in parsers. None: no rules. */
  derived?: DerivedRuleSource;
}

/**
 * Deferred records are cut smaller than processed ones: the deferred consumer takes one small batch at a
 * time between the regular path's batches, and a small record keeps that gap short.
 */
export const DEFERRED_RECORD_BYTES = 128 * 1024;

/**
 * Where the parsing happens: inline by default (Lambda), or in a worker thread (`start`, the runner
 * package's ParseThread) so that the thread accepting syslog is not the one parsing it.
 */
export type RawParser = (values: Buffer[], options: ParseRawOptions) => Promise<ParsedRaw>;

const parseInline: RawParser = (values, options) => Promise.resolve(parseRawRecords(values, options));

/**
 * The process stage: raw batches → parsed Loggly events, one processed record per tenant per input batch
 * (all the tenant's events of the batch together), to the processed topic of the tenant's tier.
 */
export function createProcessStage(options: ProcessStageOptions & { parse?: RawParser }): Stage {
  const parse = options.parse ?? parseInline;
  const parseOptions: ParseRawOptions = { toEvent: options.toEvent, sampleRate: options.sampleRate };
  return async (records: QueueRecord[]): Promise<StageResult> => {
    const values = records.map((r) => r.value);
    // A raw batch holds one tenant's events, named in its header: the rules are looked up before parsing.
    const derived = options.derived ? await options.derived.rulesFor([...new Set(values.map(rawBatchTenant))].filter((t) => t !== "")) : undefined;
    const parsed = await parse(values, derived && Object.keys(derived).length > 0 ? { ...parseOptions, derived } : parseOptions);
    const outcomes: RecordOutcome[] = parsed.recordErrors.map((error) => (error === null ? { status: "ok" } : { status: "dead", reason: "unparseable_record", error }));
    const deadLetters: DeadLetter[] = parsed.failures.map((f) => {
      const record = records[f.record]!;
      return { stage: "process", reason: "process_failed", error: f.error, at: Date.now(), tenant: f.raw.tenant, record: f.raw, source: `${record.topic}-${record.partition}@${record.offset}` };
    });
    // Per tenant (by its index in parsed.tenants), the events of this batch in order: within the plan, and over it.
    const byTenant = new Map<number, number[]>();
    const overPlan = new Map<number, number[]>();
    const events = parsed.docEnds.length;
    for (let k = 0; k < events; k++) {
      const t = parsed.tenantOf[k]!;
      const within = options.plans ? options.plans.admit(parsed.tenants[t]!, parsed.size[k]!, parsed.receivedAt[k]!) : true;
      const into = within ? byTenant : overPlan;
      let list = into.get(t);
      if (!list) into.set(t, (list = []));
      list.push(k);
    }
    const byTopic = new Map<string, OutgoingRecord[]>();
    const put = (groups: Map<number, number[]>, topicOf: (tier: string) => string, maxBytes: number) => {
      for (const [t, list] of groups) {
        const tenant = parsed.tenants[t]!;
        const topic = `${options.topicPrefix ?? ""}${topicOf(options.tierOf(tenant))}`;
        let out = byTopic.get(topic);
        if (!out) byTopic.set(topic, (out = []));
        // Ordering within a tenant is not needed downstream (an event's id makes indexing idempotent), so a
        // tenant's records may go to several partitions.
        const spread = Math.max(1, options.spreadOf?.(tenant) ?? 1);
        for (const chunk of chunkBySize(list, parsed.docEnds, maxBytes)) out.push({ key: tenant, spread, value: encodeProcessedRanges(tenant, parsed.docs, parsed.docEnds, chunk) });
      }
    };
    put(byTenant, processedTopic, options.maxRecordBytes ?? PROCESSED_RECORD_BYTES);
    put(overPlan, deferredTopic, Math.min(options.maxRecordBytes ?? PROCESSED_RECORD_BYTES, DEFERRED_RECORD_BYTES));
    const deferred = overPlan.size > 0 ? Object.fromEntries([...overPlan].map(([t, list]) => [parsed.tenants[t]!, list.length])) : undefined;
    for (let i = 0; i < records.length; i++) {
      const o = outcomes[i]!;
      if (o.status === "dead") deadLetters.push(recordDeadLetter("process", records[i]!, o.reason, o.error));
    }
    return { outcomes, output: [...byTopic].map(([topic, recs]) => ({ topic, records: recs })), deadLetters, eventsIn: parsed.eventsIn, eventsOut: events, received: parsed.received, ...(deferred ? { deferred } : {}) };
  };
}

/** Events cut into runs of at most maxBytes of documents (one larger event makes a run of its own). */
function* chunkBySize(events: readonly number[], docEnds: Uint32Array, maxBytes: number): Generator<number[]> {
  let chunk: number[] = [];
  let size = 0;
  for (const k of events) {
    const bytes = docEnds[k]! - (k === 0 ? 0 : docEnds[k - 1]!);
    if (chunk.length > 0 && size + bytes > maxBytes) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(k);
    size += bytes;
  }
  if (chunk.length > 0) yield chunk;
}
