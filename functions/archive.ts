/**
 * The daily archive on AWS (EventBridge, 00:15 UTC): the previous day's raw events read back from MSK by
 * time and written to S3 per tenant and hour with a manifest. Idempotent: a rerun of a day (input
 * `{ "day": "YYYY-MM-DD" }`) writes the same objects.
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { archiveDay, previousDay, S3Store } from "@unmeltable/archive";
import { kafka, log, logger } from "@unmeltable/lambda";

export const handler = middy(async (event: { day?: string } = {}) => {
  const bucket = process.env.UNMELTABLE_ARCHIVE_BUCKET;
  if (!bucket) throw new Error("environment variable UNMELTABLE_ARCHIVE_BUCKET is not set");
  const day = event.day ?? previousDay();
  const manifest = await archiveDay({
    queue: await kafka(),
    // UNMELTABLE_S3_ENDPOINT: an S3-compatible endpoint instead of AWS's (path-style addressing).
    store: new S3Store(bucket, process.env.UNMELTABLE_ARCHIVE_PREFIX ?? "", process.env.UNMELTABLE_S3_ENDPOINT ? { endpoint: process.env.UNMELTABLE_S3_ENDPOINT, forcePathStyle: true } : {}),
    day,
    onProgress: (p) => {
      if (p.offset === p.end) log("archive partition done", { day, partition: p.partition, events: p.events });
    },
  });
  log("archive done", { day, events: manifest.events, files: manifest.files.length, checksum: manifest.checksum });
  return { day, events: manifest.events, files: manifest.files.length, checksum: manifest.checksum };
}).use(injectLambdaContext(logger));
