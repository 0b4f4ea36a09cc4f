/**
 * The stage-metrics compliance spec, shared by both runtimes' tests (Vector's component-compliance tests
 * are the model): one input that exercises every path of the stages — events in plan, a tenant over its
 * plan (deferred), a record that cannot be decoded (a dead letter) — and, per stage, the metrics of
 * core's STAGE_METRICS it must emit on it. The standard ones every stage emits for every batch; the
 * others where the input makes them happen.
 */
import { encodeRawBatch, newEventId, PlanMeter, STAGE_METRICS, type OutgoingRecord, type RawRecord, type StageMetricKey } from "@unmeltable/core";

export const STANDARD: StageMetricKey[] = (Object.keys(STAGE_METRICS) as StageMetricKey[]).filter((k) => STAGE_METRICS[k].standard);

/** What each stage must emit on the compliance input, beyond the standard set. */
export const EXPECTED: Record<"process" | "index", StageMetricKey[]> = {
  process: [...STANDARD, "deadLetters", "deferred"],
  index: [...STANDARD, "lagSeconds"],
};

/** The tenant over its plan (1000 bytes a day: its events past the first ones are deferred). */
export const OVER_PLAN = "burst";
export const compliancePlans = () => new PlanMeter({ planOf: (t) => (t === OVER_PLAN ? { bytesPerDay: 1000, eventsPerSecond: 1e6 } : undefined) });

const raw = (tenant: string, text: string): RawRecord => ({ id: newEventId(), tenant, receivedAt: Date.now() - 1000, transport: "http", remote: "127.0.0.1", collector: "c1", tags: [], raw: text });

/**
 * Raw records: 20 events of acme (in plan), 20 events of 100 bytes of burst (over its plan of 1000 bytes),
 * one undecodable record; on two partitions (of a raw topic of at least two), so that a driver sees two
 * batches.
 */
export function complianceInput(): OutgoingRecord[] {
  return [
    { key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", Array.from({ length: 20 }, (_, i) => raw("acme", `<14>1 - web api - - - acme event ${i}`))) },
    { key: OVER_PLAN, partition: 1, value: encodeRawBatch(OVER_PLAN, "c1", Array.from({ length: 20 }, (_, i) => raw(OVER_PLAN, `burst event ${i} `.padEnd(100, "x")))) },
    { key: "acme", partition: 1, value: Buffer.from("not a raw batch") },
  ];
}

/** Events of the input that the process stage reads (the undecodable record is no event). */
export const INPUT_EVENTS = 40;
