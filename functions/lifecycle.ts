/**
 * The index lifecycle on AWS (EventBridge, hourly): slice indices past each tenant's retention are
 * deleted, each tenant's slice length is fitted to its volume (a slice should reach
 * UNMELTABLE_SLICE_TARGET_BYTES, 40 GB by default: 30-50 GB per shard), and the next slice index is
 * created ahead of time with the tier's template. Slice-length changes are written to the tenants config,
 * which every function re-reads within a minute.
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { runLifecycle } from "@unmeltable/core";
import { indexPort, log, logger, tenantDirectory, updateTenant } from "@unmeltable/lambda";

export const handler = middy(async () => {
  const [index, tenants] = await Promise.all([indexPort(), tenantDirectory()]);
  const report = await runLifecycle({
    admin: index,
    tenants: tenants.list(),
    setSliceLength: async (tenant, length) => {
      await updateTenant(process.env.UNMELTABLE_TENANTS!, tenant, { slice: length });
      log("slice length changed", { tenant, slice: length });
    },
    targetBytes: Number(process.env.UNMELTABLE_SLICE_TARGET_BYTES ?? 40e9),
  });
  log("lifecycle done", { dropped: report.dropped.length, resliced: report.resliced, prepared: report.prepared.length });
  return report;
}).use(injectLambdaContext(logger));
