/**
 * The topic setup step, run on deploy: creates the raw, dead-letter and per-tier processed and deferred topics that
 * are missing and verifies the partitions of those that exist (the AWS provider cannot create topics).
 * Input (optional): { "topics": [{ "name": "raw", "partitions": 12 }, ...] } — the deploy's plan, with each
 * tier's own partition count — or { "partitions": 12, "tiers": ["default", "gold"] }.
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DEAD_LETTER_TOPIC, deferredTopic, processedTopic, RAW_TOPIC } from "@unmeltable/core";
import { appLogger, functionEnv, kafka, logger } from "@unmeltable/lambda";

const env = functionEnv("topics");

export const handler = middy(async (event: { topics?: { name: string; partitions: number }[]; partitions?: number; tiers?: string[] } = {}) => {
  const partitions = event.partitions ?? env.UNMELTABLE_PARTITIONS;
  const tiers = event.tiers ?? env.UNMELTABLE_TIERS.split(",");
  const topics = event.topics ?? [
    { name: RAW_TOPIC, partitions },
    { name: DEAD_LETTER_TOPIC, partitions: 1 },
    ...tiers.map((tier) => ({ name: processedTopic(tier), partitions })),
    // Over-plan events (docs/plans.md): one partition, drained by one invocation at a time.
    ...tiers.map((tier) => ({ name: deferredTopic(tier), partitions: 1 })),
  ];
  const queue = await kafka();
  await queue.admin.ensureTopics(topics);
  appLogger.info("topics ready", { topics });
  return { topics };
}).use(injectLambdaContext(logger));
