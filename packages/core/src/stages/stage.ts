import type { DeadLetter } from "../dead-letter";
import type { DropReason } from "../drop-reasons";
import type { OutgoingRecord, QueueRecord } from "../ports/queue";
import type { IndexedUsage } from "../usage";

/**
 * A stage: a batch of queue records of one partition in, an outcome per record out. Stages hold no
 * delivery logic: drivers (the local runner over the embedded queue, the Lambda MSK handler) produce the
 * stage's output and dead letters durably, then commit — exactly what a Lambda event-source mapping does.
 */
export type RecordOutcome =
  | { status: "ok" }
  /** A transient failure (the index is unavailable...): deliver this record again later. */
  | { status: "retry"; error: string }
  /** The record itself cannot be processed: it goes to the dead letters and its partition moves on. */
  | { status: "dead"; reason: DropReason; error: string };

export interface StageResult {
  /** One per input record, in input order. */
  outcomes: RecordOutcome[];
  /** Records to produce before the batch counts as done (e.g. the processed topic). */
  output: { topic: string; records: OutgoingRecord[] }[];
  /** Single events that failed inside records that are otherwise ok. */
  deadLetters: DeadLetter[];
  eventsIn: number;
  eventsOut: number;
  /** Index stages: per tenant, the events stored for the first time and their receive → stored lag (the drivers report it as usage). */
  indexed?: IndexedUsage[];
  /**
   * The process stage: per tenant, the raw events (and their bytes) it read. Where no collector of ours
   * reports what it accepts (the functions on AWS), the driver reports this as the tenants' ingest.
   */
  received?: { tenant: string; events: number; bytes: number }[];
  /**
   * Events passed on to a lower-priority path because their tenant is over its plan, by tenant (counted
   * by the driver once the output is durable). Absent: none.
   */
  deferred?: Record<string, number>;
}

export type Stage = (records: QueueRecord[]) => Promise<StageResult>;

/** The dead letter for a whole queue record that a stage gave up on. */
export function recordDeadLetter(stage: string, record: QueueRecord, reason: DropReason, error: string): DeadLetter {
  return {
    stage,
    reason,
    error,
    at: Date.now(),
    tenant: record.key ?? undefined,
    bytes: record.value.toString("base64"),
    source: `${record.topic}-${record.partition}@${record.offset}`,
  };
}
