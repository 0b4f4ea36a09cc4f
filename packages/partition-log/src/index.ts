/**
 * An append-only, group-committed log of records on disk: the storage under the embedded queue's
 * partitions and the collector's spool. It knows nothing of topics, tenants or events.
 */
export { PartitionLog, AppendAbortedError, type PartitionLogOptions } from "./partition-log";
export type { StoredRecord } from "./record-format";
export { fsyncDir, writeFileAtomic } from "./fs-util";
