export { EmbeddedQueue, UnknownTopicError, type EmbeddedQueueOptions } from "./embedded-queue";
