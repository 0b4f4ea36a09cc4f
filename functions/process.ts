/**
 * The process stage on AWS: an MSK event-source mapping on the `raw` topic. Raw batches in, parsed
 * Loggly events out to `processed.<tier>` of each tenant's tier (packages/core/src/stages/process-stage.ts).
 */
import { createProcessStage } from "@unmeltable/core";
import { stageHandler, tenantDirectory } from "@unmeltable/lambda";

const tenants = await tenantDirectory();

export const handler = stageHandler({
  stage: createProcessStage({
    tierOf: (name) => tenants.byName(name)?.tier ?? "default",
    // A big tenant's processed records go to `partitionSpread` partitions of its tier's topic, as on raw.
    spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
  }),
  stageName: "process",
});
