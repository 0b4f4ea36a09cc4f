import { DEAD_LETTER_TOPIC, deferredTopic, processedTopic, RAW_TOPIC } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";

/**
 * The stages' topics: raw, and the default tier's processed and deferred, on two partitions each (so
 * that a driver sees two batches); the dead letters on one.
 */
export const STAGE_TOPICS = [
  { name: RAW_TOPIC, partitions: 2 },
  { name: processedTopic("default"), partitions: 2 },
  { name: deferredTopic("default"), partitions: 2 },
  { name: DEAD_LETTER_TOPIC, partitions: 1 },
];

/** What the stage tests run the stages over on one machine: an embedded queue with STAGE_TOPICS and an embedded index, each in a directory of `tmp`. */
export async function openStageQueue(tmp: () => string) {
  const queue = await EmbeddedQueue.open({ dir: tmp() });
  const index = new EmbeddedIndex({ dir: tmp(), writer: "inline" });
  const producer = queue.producer();
  await queue.admin.ensureTopics(STAGE_TOPICS);
  return { queue, index, producer };
}
