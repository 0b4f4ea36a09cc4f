import { S3Store } from "@unmeltable/archive";
import { ARCHIVE_STORE_ENV, readEnv } from "./function-env";

/**
 * The archive's S3 store from UNMELTABLE_ARCHIVE_BUCKET and UNMELTABLE_ARCHIVE_PREFIX (the archive planner,
 * its worker and the lifecycle's archive check); UNMELTABLE_S3_ENDPOINT: an S3-compatible endpoint
 * instead of AWS's (path-style addressing).
 */
export function archiveStore(env: NodeJS.ProcessEnv = process.env): S3Store {
  const s = readEnv(ARCHIVE_STORE_ENV, env);
  return new S3Store(s.UNMELTABLE_ARCHIVE_BUCKET, s.UNMELTABLE_ARCHIVE_PREFIX, s.UNMELTABLE_S3_ENDPOINT ? { endpoint: s.UNMELTABLE_S3_ENDPOINT, forcePathStyle: true } : {});
}
