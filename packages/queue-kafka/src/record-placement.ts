import { tenantPartition, type OutgoingRecord, type PartitionOffsets, type QueueRecord, type RecordPosition } from "@unmeltable/core";

/**
 * Where records go in a topic's partitions and where they are found again, the same for both Kafka
 * adapters (js-queue.ts and native-queue.ts differ only in how they talk to the broker): the partition
 * a sent record goes to, the offset each one got, and the first offset at or after a time.
 */

/** Reads up to `max` records of one partition from `offset` (an adapter's reader). */
export type PartitionReader = (topic: string, partition: number, offset: number, max: number) => Promise<QueueRecord[]>;

/**
 * Picks the partition of each record one producer sends: the record's own, else its key's (core's
 * tenantPartition, as the collectors pick them on raw), a key with a spread taking its `spread`
 * partitions in turn, send after send.
 */
export function recordPartitioner(): (record: OutgoingRecord, partitions: number) => number {
  const turns = new Map<string, number>();
  return (r, partitions) => {
    if (r.partition !== undefined) return r.partition;
    const turn = turns.get(r.key) ?? 0;
    turns.set(r.key, turn + 1);
    return tenantPartition(r.key, partitions, r.spread ?? 1, turn);
  };
}

/**
 * The positions of the records of one send, in the order sent, from the first offset the broker
 * reported per partition (`baseOffset`): the records of one send to a partition are written in the
 * order given, in one batch, so each one's offset follows from it.
 */
export function sentPositions(topic: string, partitions: readonly number[], baseOffset: (partition: number) => number): RecordPosition[] {
  const seen = new Map<number, number>();
  return partitions.map((partition) => {
    const k = seen.get(partition) ?? 0;
    seen.set(partition, k + 1);
    return { topic, partition, offset: baseOffset(partition) + k };
  });
}

/**
 * The first offset at or after `ts` in every partition of `ends`: the broker's answer (`found`) where it
 * is an offset within the partition, else a search by reading. A broker answers -1 for "no record at or
 * after ts", and some cannot look offsets up by time at all (the test suite's mock cluster).
 */
export async function offsetsAtOrAfter(topic: string, ts: number, found: ReadonlyMap<number, number>, ends: readonly PartitionOffsets[], read: PartitionReader): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const { partition, start, end } of ends) {
    const f = found.get(partition);
    if (f !== undefined && f >= start && f <= end) out.set(partition, f);
    else out.set(partition, await searchByTime(read, topic, partition, start, end, ts));
  }
  return out;
}

/**
 * Binary search for the first offset with timestamp >= ts, reading single records (log2 n reads); the
 * last record is read first, so a partition with nothing that recent costs one read.
 */
async function searchByTime(read: PartitionReader, topic: string, partition: number, start: number, end: number, ts: number): Promise<number> {
  if (end <= start) return end;
  const stamp = async (offset: number) => (await read(topic, partition, offset, 1))[0]?.timestamp ?? Number.POSITIVE_INFINITY;
  if ((await stamp(end - 1)) < ts) return end;
  let lo = start;
  let hi = end - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await stamp(mid)) >= ts) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
