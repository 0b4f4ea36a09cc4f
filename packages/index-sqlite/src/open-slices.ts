import { readFileSync } from "node:fs";

/**
 * How many slice connections the embedded index keeps open (`--index-open-slices`), and how they are
 * shared between its threads. The default is derived from the process's open-files limit: the index
 * takes a quarter of it, leaving the rest to the queue's segment files, syslog and HTTP connections.
 *
 * A connection in WAL mode holds three descriptors (the database, -wal, -shm), and up to one more: when
 * a connection closes a file that another connection of this process still holds (the writer's and a
 * reader's of the same slice), SQLite keeps its descriptor open until the other one closes too, because
 * closing it would drop the other's POSIX locks (measured: 3.8 per connection with 1,666 open).
 */
export const FDS_PER_SLICE = 4;
/** The open-files limit assumed where /proc/self/limits cannot be read (Linux's usual soft limit). */
export const FALLBACK_FD_LIMIT = 1024;
/**
 * Bounds of the derived default. An open connection costs ~210 KiB besides its page cache (measured,
 * bench/RESULTS.md), so memory follows the slices in use: the cap only matters once that many are.
 */
export const MIN_OPEN_SLICES = 16;
export const MAX_OPEN_SLICES = 4096;
/** A reader thread's share at most: a search opens one slice at a time, newest first. */
export const MAX_READER_SLICES = 64;

/** The soft "Max open files" limit of this process (Linux), else FALLBACK_FD_LIMIT. */
export function fdLimit(limitsFile = "/proc/self/limits"): number {
  try {
    const line = readFileSync(limitsFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === "unlimited") return Number.MAX_SAFE_INTEGER;
    const n = Number(soft);
    if (Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // Not Linux: the fallback below.
  }
  return FALLBACK_FD_LIMIT;
}

/** The default number of open slice connections for an open-files limit. */
export function defaultOpenSlices(limit = fdLimit()): number {
  return Math.min(MAX_OPEN_SLICES, Math.max(MIN_OPEN_SLICES, Math.floor(limit / 4 / FDS_PER_SLICE)));
}

/**
 * The total split between the writer thread and the readers. The writer gets most: it writes every
 * active tenant's current slice, round after round, and a least-recently-used cache smaller than that
 * set misses every time (each miss closes a slice — a WAL checkpoint with fsyncs — and opens another).
 * Each reader thread gets a quarter of the total shared among them, at most 64 (a search opens one slice
 * at a time, newest first; recent slices of recent searches stay open). Each gets at least one, so the
 * total is exceeded only when it is below 1 + readers.
 */
export function splitOpenSlices(total: number, readers: number): { writer: number; reader: number } {
  const n = Math.max(1, readers);
  const reader = Math.min(MAX_READER_SLICES, Math.max(1, Math.floor(total / 4 / n)));
  return { writer: Math.max(1, total - reader * n), reader };
}
