/**
 * The index lifecycle on AWS (EventBridge, hourly): slice indices past each tenant's retention are
 * deleted, each tenant's slice length is fitted to its volume (a slice should reach
 * UNMELTABLE_SLICE_TARGET_BYTES, 40 GB by default: 30-50 GB per shard), and the next slice index is
 * created ahead of time with the tier's template. Slice-length changes are written to the tenants config,
 * which every function re-reads within a minute (a conditional write: an upload by ops at the same time
 * is re-read, not overwritten). A tenant that fails does not stop the others; the run then ends in an
 * error naming them (the function's Errors metric), after the others are done.
 *
 * It also checks the archive: days of the last week whose manifest is missing, or that the archive has
 * not got through (its status), are logged and counted (metric ArchiveMissingDays), so a skipped
 * archive day is seen and re-run (docs/deploy.md, archive runbook).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { missingArchiveDays, runLifecycle } from "@unmeltable/core";
import { S3Store } from "@unmeltable/archive";
import { indexPort, log, logger, powertoolsMetrics, tenantDirectory, updateTenant } from "@unmeltable/lambda";

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
  log("lifecycle done", { dropped: report.dropped.length, resliced: report.resliced, prepared: report.prepared.length, failed: report.failed });
  const archiveMissing = await checkArchive();
  if (report.failed.length > 0) throw new Error(`lifecycle failed for ${report.failed.length} tenant(s), the others were done: ${report.failed.map((f) => `${f.tenant}: ${f.error}`).join("; ")}`);
  return { ...report, archiveMissing };
}).use(injectLambdaContext(logger));

/** Days of the last week the archive has no manifest for: logged with the command that re-runs them, and counted. */
async function checkArchive(): Promise<string[] | undefined> {
  const bucket = process.env.UNMELTABLE_ARCHIVE_BUCKET;
  if (!bucket) return undefined;
  try {
    const endpoint = process.env.UNMELTABLE_S3_ENDPOINT;
    const store = new S3Store(bucket, process.env.UNMELTABLE_ARCHIVE_PREFIX ?? "", endpoint ? { endpoint, forcePathStyle: true } : {});
    const missing = await missingArchiveDays(store);
    const metric = powertoolsMetrics.singleMetric();
    metric.addMetric("ArchiveMissingDays", MetricUnit.Count, missing.length);
    for (const day of missing) logger.error("archive day missing", { day, rerun: `aws lambda invoke --function-name <Archive function> --invocation-type Event --payload '{"day":"${day}"}' /dev/null` });
    return missing;
  } catch (err) {
    logger.error("archive check failed", { error: (err as Error).message });
    return undefined;
  }
}
