/**
 * The process stage on AWS: an MSK event-source mapping on the `raw` topic. Raw batches in, parsed
 * Loggly events out to `processed.<tier>` of each tenant's tier (packages/core/src/stages/process-stage.ts).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { createProcessStage } from "@unmeltable/core";
import { createMskHandler, EmfMetrics, EmfUsage, errorHandling, functionEnv, kafkaProducer, log, logger, powertoolsMetrics, tenantDirectory } from "@unmeltable/lambda";

functionEnv("process"); // the whole environment checked at cold start, before the first batch
const tenants = await tenantDirectory();

export const handler = middy(
  createMskHandler({
    stage: createProcessStage({
      tierOf: (name) => tenants.byName(name)?.tier ?? "default",
      // A big tenant's processed records go to `partitionSpread` partitions of its tier's topic, as on raw.
      spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
    }),
    stageName: "process",
    producer: () => kafkaProducer(),
    errorHandling: errorHandling(),
    metrics: new EmfMetrics(),
    // Per-tenant usage as EMF lines with the tenant as a property (docs/deploy.md, "Per-tenant usage").
    usage: new EmfUsage(),
    log,
  }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(powertoolsMetrics));
