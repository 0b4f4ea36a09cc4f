/**
 * Where the daily archive puts things:
 *
 *   raw/<YYYY-MM-DD>/<tenant>/<HH>.ndjson.gz   the tenant's raw events received in that hour (UTC), one
 *                                              raw record per line (JSON), in queue order
 *   raw/<YYYY-MM-DD>/manifest.json            what the day's run wrote: files with event counts and
 *                                              SHA-256, and per partition the first and last offset read
 */
export function dayPrefix(day: string): string {
  return `raw/${day}/`;
}

export function hourKey(day: string, tenant: string, hour: number): string {
  return `raw/${day}/${tenant}/${String(hour).padStart(2, "0")}.ndjson.gz`;
}

export function manifestKey(day: string): string {
  return `raw/${day}/manifest.json`;
}

export interface ArchiveFile {
  key: string;
  tenant: string;
  hour: number;
  events: number;
  bytes: number;
  sha256: string;
}

export interface ArchiveManifest {
  day: string;
  /** Epoch ms of the day's start and end (exclusive). */
  from: number;
  until: number;
  events: number;
  files: ArchiveFile[];
  /** Per raw-topic partition: the offsets the run read (records whose events fell in the day). */
  partitions: Record<string, { first: number; last: number; records: number }>;
  /** SHA-256 over the files' keys and checksums, in key order: one value to compare two runs. */
  checksum: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD into the day's UTC start; throws a clear error otherwise. */
export function parseDay(day: string): number {
  const m = DAY.exec(day);
  const start = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== day) throw new Error(`not a day: ${JSON.stringify(day)} (expected YYYY-MM-DD)`);
  return start;
}

export function dayOf(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}
