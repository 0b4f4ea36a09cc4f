/**
 * Where the archive puts things (packages/archive writes them; replay reads the day manifest):
 *
 *   raw/<YYYY-MM-DD>/<tenant>/<HH>/<partition>-<first>.<seg>.ndjson.gz
 *                                  the tenant's raw events received in that hour (UTC) found in one piece
 *                                  of the raw topic (partition, from offset <first>), one raw record per
 *                                  line (JSON), in queue order
 *   raw/<YYYY-MM-DD>/_pieces/<partition>-<first>.json
 *                                  what that piece wrote for the day (files, counts, offsets)
 *   raw/<YYYY-MM-DD>/manifest.json the day: every piece's files, rebuilt from the piece manifests
 *   archive-state/…                checkpoints per partition, the run lease, the status (through when)
 *
 * Archives of the former daily job have one file per tenant and hour, `raw/<day>/<tenant>/<HH>.ndjson.gz`
 * (hourKey), listed in the same day manifest.
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
  /** The pieces the manifest was rebuilt from (`<partition>-<first>`); absent for the former daily job. */
  pieces?: string[];
}

/** What the archive planner last saw (written after every run). */
export interface ArchiveStatus {
  /** Epoch ms up to which every record written to the raw topic is archived (the slowest partition). */
  through: number;
  updatedAt: number;
  /** Pieces of the last run that failed (they are redone by the next run). */
  failed: { partition: number; from: number; error: string }[];
}

export function archiveStatusKey(): string {
  return "archive-state/status.json";
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
