/**
 * The archive worker on AWS: one piece of the raw topic (a partition from its checkpoint, at most a
 * bounded number of raw bytes) streamed to S3 as gzipped NDJSON per day, tenant and hour with multipart
 * uploads — no use of /tmp — then the piece's manifests (packages/archive, piece.ts). Invoked by the
 * planner (functions/archive.ts) with `{ partition, from, to, maxBytes }`; answers the piece's result.
 * It stops reading a minute before its timeout and completes what it has read: the planner starts the
 * next piece where this one ended.
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { archivePiece, type PieceRequest } from "@unmeltable/archive";
import { appLogger, archiveStore, functionEnv, kafka, logger } from "@unmeltable/lambda";

const env = functionEnv("archive-worker");

export const handler = middy(async (event: PieceRequest, context: { getRemainingTimeInMillis(): number }) => {
  for (const field of ["partition", "from", "to"] as const) if (!Number.isSafeInteger(event[field])) throw new Error(`archive worker: ${field} must be an integer offset, got ${JSON.stringify(event[field])}`);
  const result = await archivePiece({
    queue: await kafka(),
    store: archiveStore(),
    ...event,
    deadline: Math.min(event.deadline ?? Number.POSITIVE_INFINITY, Date.now() + context.getRemainingTimeInMillis() - 60_000),
    partBytes: env.UNMELTABLE_ARCHIVE_PART_BYTES,
    maxOpen: env.UNMELTABLE_ARCHIVE_MAX_OPEN,
    logger: appLogger,
  });
  appLogger.info("archive piece done", { ...result });
  return result;
}).use(injectLambdaContext(logger));
