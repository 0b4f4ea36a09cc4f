/**
 * Archive: the S3 bucket of raw events per day, tenant and hour (private, encrypted, moved to cheaper
 * storage classes as it ages, expired after the stage's retention; incomplete multipart uploads removed
 * after a day), and the scheduled jobs as `sst.aws.CronV2` (EventBridge Scheduler, UTC):
 * - `functions/archive.handler` (the planner) every hour at :15: `raw` from the checkpoints to its end,
 *   in pieces, each archived by `functions/archive-worker.handler` (invoked by the planner), → S3.
 * - `functions/lifecycle.handler` every hour: creates the next time slices' indices ahead of time and
 *   drops the slices past each tenant's retention; reports archive days missing or not yet complete.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ARCHIVE, TOPICS, type StageConfig } from "./config";
import { consumePermissions, consumerGroup, functionArgs, openSearchPermissions, type FunctionContext } from "./functions";
import { privateBucket, type PrivateBucket } from "./storage";

export const SCHEDULES = {
  archive: ARCHIVE.schedule,
  lifecycle: "rate(1 hour)",
  alerts: "rate(1 minute)",
} as const;

export function archiveLifecycle(cfg: StageConfig) {
  const a = cfg.archive;
  // An object cannot move to another class on or after the day it expires (S3 rejects such rules).
  const transitions = [
    { days: a.infrequentAccessAfterDays, storageClass: "STANDARD_IA" },
    { days: a.glacierAfterDays, storageClass: "GLACIER_IR" },
  ].filter((t) => a.expireAfterDays === undefined || t.days < a.expireAfterDays);
  return [
    {
      id: "tiering",
      status: "Enabled",
      filter: {},
      ...(transitions.length > 0 ? { transitions } : {}),
      ...(a.expireAfterDays !== undefined ? { expiration: { days: a.expireAfterDays } } : {}),
    },
    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: ARCHIVE.abortIncompleteUploadsAfterDays } },
  ];
}

export function createArchiveBucket(cfg: StageConfig): PrivateBucket {
  return privateBucket("ArchiveBucket", cfg, { lifecycle: archiveLifecycle(cfg) });
}

export function createArchiveJobs(app: string, ctx: FunctionContext, archive: PrivateBucket, index: { domainArns: pulumi.Output<string>[] }) {
  const cfg = ctx.cfg;
  const kafkaRead = consumePermissions(ctx.clusterArn, TOPICS.raw, consumerGroup(app, cfg.stage, "archive"));
  const objects = archive.arn.apply((a) => `${a}/*`);
  const workerFn = new sst.aws.Function(
    "ArchiveWorker",
    functionArgs(ctx, {
      handler: "functions/archive-worker.handler",
      description: "Archive worker: one piece of the raw topic streamed to S3 (invoked by the archive planner)",
      memoryMb: ARCHIVE.worker.memoryMb,
      timeoutSeconds: ARCHIVE.worker.timeoutSeconds,
      environment: { UNMELTABLE_ARCHIVE_PART_BYTES: String(ARCHIVE.worker.partBytes), UNMELTABLE_ARCHIVE_MAX_OPEN: String(ARCHIVE.worker.maxOpen) },
      // A stub would answer for a piece it never wrote, and the checkpoint would move past it.
      live: false,
      permissions: [
        ...kafkaRead,
        // PutObject covers the multipart calls (create, upload part, complete); abort cleans up after a failure.
        { actions: ["s3:PutObject", "s3:AbortMultipartUpload"], resources: [objects] },
      ],
    }),
  );
  const archiveFn = new sst.aws.Function(
    "Archive",
    functionArgs(ctx, {
      handler: "functions/archive.handler",
      description: "Archive planner (hourly at :15 UTC): raw topic from the checkpoints, in pieces, to S3",
      memoryMb: ARCHIVE.planner.memoryMb,
      timeoutSeconds: ARCHIVE.planner.timeoutSeconds,
      environment: {
        UNMELTABLE_ARCHIVE_WORKER: workerFn.name,
        UNMELTABLE_ARCHIVE_CONCURRENCY: String(ARCHIVE.concurrency),
        UNMELTABLE_ARCHIVE_PIECE_BYTES: String(ARCHIVE.pieceBytes),
      },
      // A run the sst dev stub "did" would be a silent gap (the lifecycle check reports gaps anyway).
      live: false,
      // EventBridge Scheduler invokes asynchronously: Lambda retries a failed run twice. Safe: a run goes on
      // from the checkpoints, and a retry that overlaps a run finds the lease taken and returns. An event
      // older than an hour is dropped: the next scheduled run does the same work.
      async: { retries: 2, maxEventAgeSeconds: 3600 },
      permissions: [
        ...kafkaRead,
        { actions: ["lambda:InvokeFunction"], resources: [workerFn.arn] },
        // Checkpoints, lease and status (conditional writes), piece and day manifests.
        { actions: ["s3:PutObject", "s3:GetObject"], resources: [objects] },
        { actions: ["s3:ListBucket"], resources: [archive.arn] },
      ],
    }),
  );
  // `retries` of the schedule are EventBridge's attempts to hand the event to Lambda; the function's own
  // `async.retries` are Lambda's retries of a run that failed.
  const archiveCron = new sst.aws.CronV2("ArchiveSchedule", { schedule: SCHEDULES.archive, timezone: "UTC", function: archiveFn, retries: 2 });

  const lifecycleFn = new sst.aws.Function(
    "Lifecycle",
    functionArgs(ctx, {
      handler: "functions/lifecycle.handler",
      description: "Index lifecycle: next slices ahead of time, retention (hourly)",
      memoryMb: 512,
      timeoutSeconds: 300,
      openSearch: true,
      // Idempotent (retention, slice lengths, next slices): Lambda may retry a failed run; an old event is
      // useless (the next run is an hour away).
      async: { retries: 2, maxEventAgeSeconds: 3600 },
      permissions: [
        ...openSearchPermissions(index.domainArns),
        // Slice-length and placement changes are written back to tenants.json (a conditional write on its ETag).
        { actions: ["s3:PutObject"], resources: [ctx.tenantsObjectArn] },
        // A run cut by its deadline hands the rest to a new invocation of itself (functions/lifecycle.ts);
        // its own ARN cannot be named in its own arguments: this stage's Lifecycle function by name.
        { actions: ["lambda:InvokeFunction"], resources: [`arn:aws:lambda:*:*:function:*-${ctx.cfg.stage}-LifecycleFunction*`] },
        // The archive check lists the day manifests and reads how far the archive got.
        { actions: ["s3:ListBucket"], resources: [archive.arn] },
        { actions: ["s3:GetObject"], resources: [archive.arn.apply((a) => `${a}/raw/*`), archive.arn.apply((a) => `${a}/archive-state/status.json`)] },
      ],
    }),
  );
  const lifecycleCron = new sst.aws.CronV2("LifecycleSchedule", { schedule: SCHEDULES.lifecycle, timezone: "UTC", function: lifecycleFn, retries: 2 });

  return { archiveFn, workerFn, archiveCron, lifecycleFn, lifecycleCron };
}
