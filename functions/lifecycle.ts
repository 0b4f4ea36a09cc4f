/**
 * The index lifecycle on AWS (EventBridge, hourly).
 *
 * With OpenSearch's layout (packages/index-opensearch/README.md): the batched run of
 * packages/index-opensearch/src/lifecycle.ts — pooled and dedicated retention, promotion and demotion
 * between the layouts written as placements with ONE conditional update of the tenants config, the next
 * indices created ahead, sized. It stops starting work a minute before the function's timeout; what is
 * left is continued by an asynchronous invocation of this function with `{ "start": <next> }` (the
 * next hourly run would otherwise start at another 24th of the tenants: none starves).
 *
 * Otherwise (the embedded index): slice indices past each tenant's retention are
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
import { errorFields, missingArchiveDays, runLifecycle, type Placement, type Tenant } from "@unmeltable/core";
import { applyPlacementChange, type PlacementChange } from "@unmeltable/index-opensearch";
import { appLogger, archiveStore, DEFAULT_RETENTION_DAYS, functionEnv, indexPort, logger, powertoolsMetrics, tenantDirectory, updateTenant, updateTenants } from "@unmeltable/lambda";

const env = functionEnv("lifecycle");

export const handler = middy(async (event: { start?: number } = {}, context?: { getRemainingTimeInMillis(): number }) => {
  const [index, tenants] = await Promise.all([indexPort(), tenantDirectory()]);
  if (index.layoutLifecycle) return layoutRun(index.layoutLifecycle, tenants.list(), event, context);
  const report = await runLifecycle({
    admin: index,
    tenants: tenants.list(),
    setSliceLength: async (tenant, length) => {
      await updateTenant(env.UNMELTABLE_TENANTS, tenant, { slice: length });
      appLogger.info("slice length changed", { tenant, slice: length });
    },
    targetBytes: env.UNMELTABLE_SLICE_TARGET_BYTES,
  });
  appLogger.info("lifecycle done", { dropped: report.dropped.length, resliced: report.resliced, prepared: report.prepared.length, failed: report.failed });
  const archiveMissing = await checkArchive();
  if (report.failed.length > 0) throw new Error(`lifecycle failed for ${report.failed.length} tenant(s), the others were done: ${report.failed.map((f) => `${f.tenant}: ${f.error}`).join("; ")}`);
  return { ...report, archiveMissing };
}).use(injectLambdaContext(logger));

async function layoutRun(
  run: NonNullable<Awaited<ReturnType<typeof indexPort>>["layoutLifecycle"]>,
  tenants: Tenant[],
  event: { start?: number },
  context: { getRemainingTimeInMillis(): number } | undefined,
) {
  const source = env.UNMELTABLE_TENANTS;
  const report = await run({
    tenants,
    start: typeof event.start === "number" && Number.isSafeInteger(event.start) ? event.start : undefined,
    // A minute of margin: the requests in flight finish and the report is written.
    timeLeft: context ? () => context.getRemainingTimeInMillis() - 60_000 : undefined,
    savePlacements: (changes) => savePlacements(source, changes),
  });
  for (const c of report.placed) appLogger.info("placement changed", { tenant: c.tenant, placement: c.placement, ...(c.bytesPerDay !== undefined ? { bytesPerDay: Math.round(c.bytesPerDay) } : { reason: "retention changed" }) });
  appLogger.info("lifecycle done", { dropped: report.dropped.length, placed: report.placed.length, recorded: report.recorded.length, prepared: report.prepared.length, done: report.done, remaining: report.remaining, failed: report.failed });
  if (report.next !== undefined) await continueRun(report.next);
  const archiveMissing = await checkArchive();
  if (report.failed.length > 0) throw new Error(`lifecycle failed for ${report.failed.length} tenant(s), the others were done: ${report.failed.map((f) => `${f.tenant}: ${f.error}`).join("; ")}`);
  return { dropped: report.dropped.length, placed: report.placed, prepared: report.prepared.length, done: report.done, remaining: report.remaining, next: report.next, archiveMissing };
}

/**
 * The run's placement changes in ONE conditional write of the tenants config, each re-applied to what is
 * there after a conflict (applyPlacementChange: a placement is appended only after the tenant's last one,
 * a retention is recorded as the entry has it then).
 */
export async function savePlacements(source: string, changes: PlacementChange[]): Promise<void> {
  await updateTenants(source, (find) => {
    for (const c of changes) {
      const entry = find(c.tenant);
      if (!entry) continue; // removed meanwhile
      // An entry without retentionDays has the schema's default (what the writers read it with).
      const retentionDays = typeof entry.retentionDays === "number" ? entry.retentionDays : DEFAULT_RETENTION_DAYS;
      const placements = applyPlacementChange({ placements: entry.placements as Placement[] | undefined, retentionDays }, c);
      if (placements) entry.placements = placements;
    }
  });
}

/** Hands the rest of a run cut by its deadline to a new invocation of this function (asynchronous). */
async function continueRun(start: number): Promise<void> {
  const self = env.AWS_LAMBDA_FUNCTION_NAME;
  if (!self) return;
  try {
    const { InvokeCommand, LambdaClient } = await import("@aws-sdk/client-lambda");
    await new LambdaClient({}).send(new InvokeCommand({ FunctionName: self, InvocationType: "Event", Payload: Buffer.from(JSON.stringify({ start })) }));
    appLogger.info("lifecycle continues in a new invocation", { start });
  } catch (err) {
    // The next hourly run starts at another 24th of the tenants; nothing is lost but time.
    appLogger.error("lifecycle continuation not invoked", { start, ...errorFields(err) });
  }
}

/** Days of the last week the archive has no manifest for: logged with the command that re-runs them, and counted. */
async function checkArchive(): Promise<string[] | undefined> {
  if (!env.UNMELTABLE_ARCHIVE_BUCKET) return undefined;
  try {
    const store = archiveStore();
    const missing = await missingArchiveDays(store);
    const metric = powertoolsMetrics.singleMetric();
    metric.addMetric("ArchiveMissingDays", MetricUnit.Count, missing.length);
    for (const day of missing) appLogger.error("archive day missing", { day, rerun: `aws lambda invoke --function-name <Archive function> --invocation-type Event --payload '{"day":"${day}"}' /dev/null` });
    return missing;
  } catch (err) {
    appLogger.error("archive check failed", errorFields(err));
    return undefined;
  }
}
