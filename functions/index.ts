/**
 * The index stage on AWS, one function per tier: an MSK event-source mapping on `processed.<tier>`,
 * writing to that tier's OpenSearch domain, idempotently by event id (packages/core/src/stages/index-stage.ts):
 * one stream of bulk requests for all the tenants of a batch (the index's writeMany), each event into the
 * index its tenant's placement says (packages/index-opensearch/README.md, "The layout").
 */
import { createIndexStage } from "@unmeltable/core";
import { functionEnv, indexPort, stageHandler } from "@unmeltable/lambda";

functionEnv("index"); // the whole environment checked at cold start, before the first batch
const index = await indexPort();

export const handler = stageHandler({ stage: createIndexStage({ index }), stageName: "index" });
