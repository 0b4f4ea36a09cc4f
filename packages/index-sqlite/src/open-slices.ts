import { readFileSync } from "node:fs";

/**
 * How many slice connections the embedded index keeps open (`--index-open-slices`), and how they are
 * shared between its threads. Each connection holds three file descriptors in WAL mode (the database,
 * -wal and -shm), so the default is derived from the process's open-files limit: the index takes a
 * quarter of it, leaving the rest to the queue's segment files, syslog and HTTP connections.
 */
export const FDS_PER_SLICE = 3;
/** The open-files limit assumed where /proc/self/limits cannot be read (Linux's usual soft limit). */
export const FALLBACK_FD_LIMIT = 1024;
/** Bounds of the derived default: enough for a few tenants' recent slices, and at most this many. */
export const MIN_OPEN_SLICES = 16;
export const MAX_OPEN_SLICES = 1024;

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
 * The total split between the writer thread and the readers: half to the writer (a busy machine writes
 * every active tenant's current slice), the other half shared by the reader threads (a search opens one
 * slice at a time, newest first, and queries of recent time ranges find theirs open). Each gets at least
 * one, so the total is exceeded only when it is below 1 + readers.
 */
export function splitOpenSlices(total: number, readers: number): { writer: number; reader: number } {
  const writer = Math.max(1, Math.ceil(total / 2));
  const reader = Math.max(1, Math.floor((total - writer) / Math.max(1, readers)));
  return { writer, reader };
}
