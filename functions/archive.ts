/**
 * The archive planner on AWS (EventBridge Scheduler, every hour at :15 UTC): cuts the raw topic, from
 * each partition's checkpoint to its end, into pieces of at most UNMELTABLE_ARCHIVE_PIECE_BYTES raw bytes
 * (1 GiB) and invokes the archive worker (functions/archive-worker.ts, UNMELTABLE_ARCHIVE_WORKER) for
 * each, UNMELTABLE_ARCHIVE_CONCURRENCY (8) at a time; then rebuilds the manifests of the days written to
 * and records how far the archive got (packages/archive, planner.ts).
 *
 * Input `{}` (the schedule) or `{ "day": "YYYY-MM-DD" }` (a re-run: the same catch-up, and that day's
 * manifest rebuilt in any case). Safe to retry and to overlap: one run holds the lease, a second one
 * returns at once. A failed piece fails the invocation after the others are done (Lambda's retry, or the
 * next hour, redoes it from the checkpoint); without UNMELTABLE_ARCHIVE_WORKER the worker runs in this
 * process (tests, a single function).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { parseDay, type ArchiveManifest } from "@unmeltable/core";
import { inProcessWorker, LeaseHeldError, runArchive } from "@unmeltable/archive";
import { lambdaWorker } from "@unmeltable/archive/lambda-worker";
import { appLogger, archiveStore, functionEnv, kafka, logger, powertoolsMetrics } from "@unmeltable/lambda";

const env = functionEnv("archive");

export const handler = middy(async (event: { day?: string } = {}, context: { getRemainingTimeInMillis(): number }) => {
  const day = event.day;
  if (day !== undefined) parseDay(day);
  const queue = await kafka();
  const store = archiveStore();
  const workerName = env.UNMELTABLE_ARCHIVE_WORKER;
  // No piece starts in the last 6 minutes (of 15): the worker's 5 minutes fit, and the run ends on its
  // own terms, having moved the checkpoints of what was done.
  const remaining = context.getRemainingTimeInMillis();
  const deadline = Date.now() + remaining - Math.min(6 * 60_000, remaining / 2);
  let report;
  try {
    report = await runArchive({
      queue,
      store,
      invoke: workerName ? lambdaWorker(workerName) : inProcessWorker(queue, store, { pieceTimeMs: 4 * 60_000, logger: appLogger }),
      concurrency: env.UNMELTABLE_ARCHIVE_CONCURRENCY,
      maxBytesPerPiece: env.UNMELTABLE_ARCHIVE_PIECE_BYTES,
      deadline,
      days: day ? [day] : [],
      // A partition without a checkpoint (a new deployment) starts at the day re-run, or today.
      bootstrapFrom: day ? parseDay(day) - 6 * 3_600_000 : undefined,
      logger: appLogger,
    });
  } catch (err) {
    if (!(err instanceof LeaseHeldError)) throw err;
    // An EventBridge retry or an overlapping run: the one holding the lease does the work.
    appLogger.info("archive run skipped: another run is going", { holder: err.owner, until: new Date(err.until).toISOString() });
    return { skipped: true as const, reason: err.message };
  }
  const behind = Date.now() - report.through;
  const metric = powertoolsMetrics.singleMetric();
  metric.addMetric("ArchiveBehindSeconds", MetricUnit.Seconds, Math.max(0, Math.round(behind / 1000)));
  metric.addMetric("ArchivePiecesFailed", MetricUnit.Count, report.failed.length);
  metric.addMetric("ArchiveBytes", MetricUnit.Bytes, report.bytes);
  if (report.lost.length > 0) metric.addMetric("ArchiveRecordsLost", MetricUnit.Count, report.lost.reduce((n, l) => n + (l.to - l.from), 0));
  for (const l of report.lost) appLogger.error("archive: raw records expired before they were archived", l);
  const summary = {
    day,
    pieces: report.pieces.length,
    events: report.events,
    bytes: report.bytes,
    through: new Date(report.through).toISOString(),
    unfinished: report.unfinished,
    manifests: report.manifests.map((m: ArchiveManifest) => ({ day: m.day, events: m.events, files: m.files.length, checksum: m.checksum })),
  };
  appLogger.info("archive run done", summary);
  if (report.failed.length > 0) {
    for (const f of report.failed) appLogger.error("archive piece failed", f);
    throw new Error(`archive: ${report.failed.length} piece(s) failed (redone from their checkpoints by the next run): ${report.failed.map((f) => `partition ${f.partition} from ${f.from}: ${f.error}`).join("; ")}`);
  }
  return summary;
}).use(injectLambdaContext(logger));
