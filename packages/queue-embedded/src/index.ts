export { EmbeddedQueue, UnknownTopicError, type EmbeddedQueueOptions } from "./embedded-queue";
export { PartitionLog, AppendAbortedError } from "./partition-log";
export { writeFileAtomic } from "./fs-util";
export { QueueInUseError } from "./lock";
