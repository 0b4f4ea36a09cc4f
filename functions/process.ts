/**
 * The process stage on AWS: an MSK event-source mapping on the `raw` topic. Raw batches in, parsed
 * Loggly events out to `processed.<tier>` of each tenant's tier (packages/core/src/stages/process-stage.ts);
 * the events of a tenant over its plan, beyond it, to `deferred.<tier>` (docs/plans.md).
 */
import { createProcessStage, PlanMeter } from "@unmeltable/core";
import { appLogger, functionEnv, stageHandler, tenantDirectory } from "@unmeltable/lambda";

functionEnv("process"); // the whole environment checked at cold start, before the first batch
const tenants = await tenantDirectory();

// Each container meters the share of a tenant's plan its raw partitions carry: a tenant's batches are
// spread over `partitionSpread` partitions, each read by one invocation at a time (docs/plans.md).
const plans = new PlanMeter({
  planOf: (name) => tenants.byName(name)?.plan,
  shareOf: (name) => 1 / Math.max(1, tenants.byName(name)?.partitionSpread ?? 1),
  onChange: (c) =>
    c.over
      ? appLogger.warn("tenant over its plan: its excess events go to the deferred path", { tenant: c.tenant, reason: c.reason, plan: c.plan, dayBytes: c.dayBytes })
      : appLogger.info("tenant back within its plan", { tenant: c.tenant, reason: c.reason, plan: c.plan, dayBytes: c.dayBytes }),
});
setInterval(() => plans.tick(), 5_000).unref();

export const handler = stageHandler({
  stage: createProcessStage({
    tierOf: (name) => tenants.byName(name)?.tier ?? "default",
    // A big tenant's processed records go to `partitionSpread` partitions of its tier's topic, as on raw.
    spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
    // UNMELTABLE_PLANS=off: every event on the regular path (plans not applied).
    plans: process.env.UNMELTABLE_PLANS === "off" ? undefined : plans,
  }),
  stageName: "process",
});
