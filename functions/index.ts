/**
 * The index stage on AWS, one function per tier: an MSK event-source mapping on `processed.<tier>`,
 * writing to that tier's OpenSearch domain, idempotently by event id (packages/core/src/stages/index-stage.ts):
 * one stream of bulk requests for all the tenants of a batch (the index's writeMany), each event into the
 * index its tenant's placement says (packages/index-opensearch/README.md, "The layout").
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { createIndexStage } from "@unmeltable/core";
import { createMskHandler, EmfMetrics, EmfUsage, errorHandling, functionEnv, indexPort, kafkaProducer, log, logger, powertoolsMetrics } from "@unmeltable/lambda";

functionEnv("index"); // the whole environment checked at cold start, before the first batch
const index = await indexPort();

export const handler = middy(
  createMskHandler({
    stage: createIndexStage({ index }),
    stageName: "index",
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
