import type { MSKEvent, MSKRecord } from "aws-lambda";
import type { PartitionBatch, QueueRecord } from "@unmeltable/core";

/**
 * An MSK (or self-managed Kafka) event-source mapping event, as Lambda delivers it: records grouped under
 * "<topic>-<partition>" keys, key and value base64, header values as arrays of byte values, and — when
 * one invocation carries several partitions — one group per partition, each in offset order.
 */
export function partitionBatches(event: Pick<MSKEvent, "records">): PartitionBatch[] {
  const out: PartitionBatch[] = [];
  for (const records of Object.values(event.records ?? {})) {
    if (!records || records.length === 0) continue;
    const first = records[0]!;
    out.push({
      topic: first.topic,
      partition: first.partition,
      // Lambda keeps partition order; sort anyway, so a hand-made event cannot reorder a partition.
      records: [...records].sort((a, b) => a.offset - b.offset).map(toQueueRecord),
    });
  }
  return out;
}

function toQueueRecord(r: MSKRecord): QueueRecord {
  const headers: Record<string, string> = {};
  for (const h of r.headers ?? []) for (const [k, bytes] of Object.entries(h)) headers[k] = Buffer.from(bytes).toString("utf8");
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    key: r.key ? Buffer.from(r.key, "base64").toString("utf8") : null,
    value: r.value ? Buffer.from(r.value, "base64") : Buffer.alloc(0),
    timestamp: r.timestamp,
    headers,
  };
}
