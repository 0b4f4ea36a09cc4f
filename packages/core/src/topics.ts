/** Topic names shared by every deployment. One processed topic per index tier. */
export const RAW_TOPIC = "raw";
export const DEAD_LETTER_TOPIC = "deadletter";
export function processedTopic(tier: string): string {
  return `processed.${tier}`;
}
