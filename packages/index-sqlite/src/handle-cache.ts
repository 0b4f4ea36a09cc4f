/**
 * Open slice connections, bounded. Each tenant has one file per time slice, so 1,000 tenants with 30
 * days of day slices are 30,000 files; each open connection in WAL mode holds three file descriptors
 * (the database, -wal, -shm) and a page cache. The writer thread and every reader thread keep their
 * connections in one of these caches: least recently used ones are closed beyond `capacity`, a
 * connection in use (leased) is never closed under its user, and connections idle for a while give
 * their page cache back (`idle`), so memory follows the slices in use rather than the slices open.
 *
 * Counts (open connections, evictions) go to a shared Int32Array when given, so the thread that serves
 * /metrics reads the totals of all threads without asking them.
 */
export interface HandleCacheOptions<T> {
  /** Connections kept open at most (leased ones beyond it stay open until they are released). */
  capacity: number;
  close: (handle: T) => void;
  /** Called once for a connection unused for `idleMs` (e.g. PRAGMA shrink_memory). */
  idle?: (handle: T) => void;
  idleMs?: number;
  /** A connection unused this long is closed (default 10 minutes): yesterday's slices, quiet tenants. */
  closeIdleMs?: number;
  /** [open connections, evictions], added to atomically (shared by the index's threads). */
  counters?: Int32Array;
  /** The clock (tests). */
  now?: () => number;
}

export interface Lease<T> {
  readonly value: T;
  /** Gives the connection back; once per lease. */
  release(): void;
}

interface Entry<T> {
  key: string;
  value: T;
  leases: number;
  lastUsed: number;
  /** Its idle hook ran and it was not used since. */
  rested: boolean;
  /** Close it when its last lease is released (its file is about to be deleted). */
  doomed: boolean;
}

export const OPEN = 0;
export const EVICTIONS = 1;

export class HandleCache<T> {
  /** In least recently used order: Map keeps insertion order, and a use re-inserts. */
  private readonly entries = new Map<string, Entry<T>>();
  private readonly idleMs: number;
  private readonly closeIdleMs: number;
  private readonly now: () => number;
  private lastRest = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: HandleCacheOptions<T>) {
    if (!(Number.isSafeInteger(options.capacity) && options.capacity >= 1)) throw new RangeError(`a handle cache holds at least 1 connection, not ${options.capacity}`);
    this.idleMs = options.idleMs ?? 10_000;
    this.closeIdleMs = options.closeIdleMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.options.capacity;
  }

  /** The connection of `key`, opened with `open` if it is not open; hold it until release(). */
  acquire(key: string, open: () => T): Lease<T> {
    const now = this.now();
    // (A deleted connection still serving its leases is no longer listed: this gets one of its own.)
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.leases++;
    } else {
      entry = { key, value: open(), leases: 1, lastUsed: now, rested: false, doomed: false };
      this.entries.set(key, entry);
      this.count(OPEN, 1);
      // Leased already: the new connection is not the one to make room.
      this.evict();
    }
    entry.rested = false;
    this.rest(now);
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        held.lastUsed = this.now();
        if (held.leases === 0 && held.doomed) this.closeEntry(held);
        else this.evict();
      },
    };
  }

  /** Closes `key`'s connection now, or when its last lease is released. */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (entry.leases > 0) entry.doomed = true;
    else this.closeEntry(entry, false);
  }

  /** Closes every connection (the cache's owner is closing; nothing may be in use). */
  closeAll(): void {
    for (const entry of this.entries.values()) this.closeEntry(entry, false);
    this.entries.clear();
  }

  /** Closes least recently used connections not in use while there are more than `capacity`. */
  private evict(): void {
    if (this.entries.size <= this.options.capacity) return;
    for (const entry of this.entries.values()) {
      if (this.entries.size <= this.options.capacity) return;
      if (entry.leases > 0) continue;
      this.entries.delete(entry.key);
      this.closeEntry(entry, false);
      this.count(EVICTIONS, 1);
    }
  }

  /**
   * Closes connections unused for closeIdleMs and runs the idle hook of those unused for idleMs (oldest
   * first; stops at a recently used one).
   */
  private rest(now: number): void {
    // At most once a second: the walk passes the connections rested already.
    if (now - this.lastRest < 1000) return;
    this.lastRest = now;
    const idle = this.options.idle;
    for (const entry of this.entries.values()) {
      if (now - entry.lastUsed < Math.min(this.idleMs, this.closeIdleMs)) return;
      if (entry.leases > 0) continue;
      if (now - entry.lastUsed >= this.closeIdleMs) {
        this.entries.delete(entry.key);
        this.closeEntry(entry, false);
        continue;
      }
      if (!idle || entry.rested) continue;
      entry.rested = true;
      try {
        idle(entry.value);
      } catch (err) {
        // Giving memory back is best effort: the connection still works.
        process.emitWarning(`unmeltable index: an idle slice connection could not give its memory back: ${(err as Error).message}`);
      }
    }
  }

  private closeEntry(entry: Entry<T>, unlist = true): void {
    if (unlist && this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    this.count(OPEN, -1);
    this.options.close(entry.value);
  }

  private count(slot: number, delta: number): void {
    if (this.options.counters) Atomics.add(this.options.counters, slot, delta);
  }
}
