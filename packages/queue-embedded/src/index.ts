export { EmbeddedQueue, UnknownTopicError, type EmbeddedQueueOptions } from "./embedded-queue";
export { QueueInUseError } from "./lock";
