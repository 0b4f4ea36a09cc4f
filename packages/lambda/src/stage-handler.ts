import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Stage, UsageObserver } from "@unmeltable/core";
import { errorHandling, kafkaProducer } from "./environment";
import { createMskHandler } from "./msk-driver";
import { appLogger, EmfMetrics, EmfUsage, logger } from "./powertools";

/**
 * A stage as a Lambda function on an MSK event-source mapping: the one handler of functions/process.ts
 * and functions/index.ts, which differ only in their stage. The output and dead letters go through the
 * Kafka producer of the environment, the stage metrics and per-tenant usage to EMF (one flush per
 * invocation), the log to Powertools Logger with the invocation's context.
 */
export function stageHandler(options: { stage: Stage; stageName: string; usage?: UsageObserver }) {
  return middy(
    createMskHandler({
      stage: options.stage,
      stageName: options.stageName,
      producer: () => kafkaProducer(),
      errorHandling: errorHandling(),
      metrics: new EmfMetrics(),
      // Per-tenant usage as EMF lines with the tenant as a property (docs/deploy.md, "Per-tenant usage").
      usage: options.usage ?? new EmfUsage(),
      logger: appLogger,
    }),
  ).use(injectLambdaContext(logger));
}
