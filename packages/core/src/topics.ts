/** Topic names shared by every deployment. One processed topic per index tier. */
export const RAW_TOPIC = "raw";
export const DEAD_LETTER_TOPIC = "deadletter";
export function processedTopic(tier: string): string {
  return `processed.${tier}`;
}
/**
 * The lower-priority path of a tier: the processed events of tenants over their plan, beyond it
 * (docs/plans.md). Same record format as the processed topic; indexed by a consumer of its own that
 * yields to the tier's regular path.
 */
export function deferredTopic(tier: string): string {
  return `deferred.${tier}`;
}

/** Whether a topic is an index stage's feed (a processed or deferred topic): read only by its consumer groups. */
export function isIndexFeed(topic: string): boolean {
  return topic.startsWith("processed.") || topic.startsWith("deferred.");
}
