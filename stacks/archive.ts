/**
 * Archive: the S3 bucket of daily raw-event snapshots (private, encrypted, moved to cheaper storage
 * classes as it ages, expired after the stage's retention), and the two scheduled jobs of the index
 * lifecycle issue as `sst.aws.CronV2` (EventBridge Scheduler, UTC):
 * - `functions/archive.handler` at 00:15 UTC: yesterday's `raw` records → S3, per tenant and hour.
 * - `functions/lifecycle.handler` every hour: creates the next time slices' indices ahead of time and
 *   drops the slices past each tenant's retention.
 */
import type * as pulumi from "@pulumi/pulumi";
import { TOPICS, type StageConfig } from "./config";
import { consumePermissions, consumerGroup, functionArgs, openSearchPermissions, type FunctionContext } from "./functions";
import { privateBucket, type PrivateBucket } from "./storage";

export const SCHEDULES = {
  archive: "cron(15 0 * * ? *)",
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
    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
  ];
}

export function createArchiveBucket(cfg: StageConfig): PrivateBucket {
  return privateBucket("ArchiveBucket", cfg, { lifecycle: archiveLifecycle(cfg) });
}

export function createArchiveJobs(app: string, ctx: FunctionContext, archive: PrivateBucket, index: { domainArns: pulumi.Output<string>[] }) {
  const cfg = ctx.cfg;
  const archiveFn = new sst.aws.Function(
    "Archive",
    functionArgs(ctx, {
      handler: "functions/archive.handler",
      description: "Daily snapshot of yesterday's raw events to S3 (00:15 UTC)",
      memoryMb: 3008,
      timeoutSeconds: 900,
      // A day the sst dev stub "archived" would be a silent gap (the lifecycle check reports gaps anyway).
      live: false,
      // EventBridge Scheduler invokes asynchronously: Lambda retries a failed run twice; a run is idempotent.
      async: { retries: 2 },
      permissions: [
        ...consumePermissions(ctx.clusterArn, TOPICS.raw, consumerGroup(app, cfg.stage, "archive")),
        { actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], resources: [archive.arn.apply((a) => `${a}/*`)] },
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
      // Idempotent (retention, slice lengths, next slices): Lambda may retry a failed run; an old event is
      // useless (the next run is an hour away).
      async: { retries: 2, maxEventAgeSeconds: 3600 },
      permissions: [
        ...openSearchPermissions(index.domainArns),
        // Slice-length changes are written back to tenants.json (a conditional write on its ETag).
        { actions: ["s3:PutObject"], resources: [ctx.tenantsObjectArn] },
        // The archive check lists the day manifests.
        { actions: ["s3:ListBucket"], resources: [archive.arn] },
        { actions: ["s3:GetObject"], resources: [archive.arn.apply((a) => `${a}/raw/*`)] },
      ],
    }),
  );
  const lifecycleCron = new sst.aws.CronV2("LifecycleSchedule", { schedule: SCHEDULES.lifecycle, timezone: "UTC", function: lifecycleFn, retries: 2 });

  return { archiveFn, archiveCron, lifecycleFn, lifecycleCron };
}
