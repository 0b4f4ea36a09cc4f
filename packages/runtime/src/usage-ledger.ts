import type Database from "better-sqlite3";
import { lastDays, USAGE_DAYS, UsageTally, type IndexedUsage, type Logger, type UsageDay, type UsageDelta, type UsageObserver, type UsageSource } from "@unmeltable/core";
import { openDataDirDb } from "./sqlite-file";

/** How often the day's sums in memory are added to the table: what a crash can lose at most. */
export const USAGE_FLUSH_MS = 5_000;
/** Days kept: the 30 the API answers, and a margin so a day never goes while it is still shown. */
const KEEP_DAYS = USAGE_DAYS + 2;

/**
 * Per-tenant usage per UTC day on one machine, in `<data-dir>/usage.db` (SQLite, beside tenants.db).
 *
 * The pipeline tells the ledger what it does (the collector what it accepted, the index stages what they
 * stored for the first time, every part its tenants' dead letters); the counts are summed in memory and
 * added to the table every USAGE_FLUSH_MS in one transaction — one upsert per tenant and day seen
 * since, never a write per event. A crash loses at most the last few seconds' counts (usage is an
 * account view, not the log itself); a stop writes what is pending. Days older than KEEP_DAYS are deleted
 * at each write of a new day.
 */
export class UsageLedger implements UsageObserver, UsageSource {
  private readonly db: Database.Database;
  private readonly tally: UsageTally;
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly timer: NodeJS.Timeout;
  private prunedFor = "";
  private closed = false;

  constructor(
    dataDir: string,
    private readonly options: { now?: () => number; flushMs?: number; logger?: Logger } = {},
  ) {
    this.db = openDataDirDb(dataDir, "usage.db");
    this.db.exec(`CREATE TABLE IF NOT EXISTS usage (
      tenant TEXT NOT NULL,
      day TEXT NOT NULL,
      events INTEGER NOT NULL DEFAULT 0,
      bytes INTEGER NOT NULL DEFAULT 0,
      indexed INTEGER NOT NULL DEFAULT 0,
      indexed_bytes INTEGER NOT NULL DEFAULT 0,
      dead_lettered INTEGER NOT NULL DEFAULT 0,
      dead_lettered_bytes INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant, day)
    ) WITHOUT ROWID`);
    this.upsert = this.db.prepare(`INSERT INTO usage (tenant, day, events, bytes, indexed, indexed_bytes, dead_lettered, dead_lettered_bytes)
      VALUES (@tenant, @day, @events, @bytes, @indexed, @indexedBytes, @deadLettered, @deadLetteredBytes)
      ON CONFLICT (tenant, day) DO UPDATE SET events = events + excluded.events, bytes = bytes + excluded.bytes,
        indexed = indexed + excluded.indexed, indexed_bytes = indexed_bytes + excluded.indexed_bytes,
        dead_lettered = dead_lettered + excluded.dead_lettered, dead_lettered_bytes = dead_lettered_bytes + excluded.dead_lettered_bytes`);
    this.select = this.db.prepare(`SELECT day, events, bytes, indexed, indexed_bytes AS indexedBytes, dead_lettered AS deadLettered,
      dead_lettered_bytes AS deadLetteredBytes FROM usage WHERE tenant = ? AND day >= ? AND day <= ?`);
    this.tally = new UsageTally(options.now);
    this.timer = setInterval(() => this.flush(), options.flushMs ?? USAGE_FLUSH_MS);
    this.timer.unref();
  }

  ingested(tenant: string, events: number, bytes: number): void {
    this.tally.ingested(tenant, events, bytes);
  }

  indexed(usage: IndexedUsage): void {
    this.tally.indexed(usage);
  }

  deadLettered(tenant: string, events: number, bytes: number): void {
    this.tally.deadLettered(tenant, events, bytes);
  }

  /** Adds what was counted since the last flush to the table (one transaction). */
  flush(): void {
    if (this.closed || this.tally.size === 0) return;
    const rows = this.tally.drain();
    try {
      this.db.transaction((list: UsageDelta[]) => {
        for (const r of list) this.upsert.run(r);
      })(rows);
      this.prune();
    } catch (err) {
      // The disk is full or the file locked: keep the counts for the next flush rather than lose them.
      this.tally.restore(rows);
      this.options.logger?.warn(`usage: could not write ${rows.length} rows to usage.db, keeping them for the next try: ${(err as Error).message}`, { rows: rows.length, error: (err as Error).message });
    }
  }

  private prune(): void {
    const today = lastDays((this.options.now ?? Date.now)(), 1)[0]!;
    if (this.prunedFor === today) return;
    const oldest = lastDays((this.options.now ?? Date.now)(), KEEP_DAYS)[0]!;
    this.db.prepare("DELETE FROM usage WHERE day < ?").run(oldest);
    this.prunedFor = today;
  }

  /** The tenant's usage on each of `days` (oldest first): what the table holds plus what is still in memory. */
  async days(tenant: string, days: readonly string[]): Promise<UsageDay[]> {
    this.flush();
    if (days.length === 0) return [];
    const rows = this.select.all(tenant, days[0], days[days.length - 1]) as UsageDay[];
    const byDay = new Map(rows.map((r) => [r.day, r]));
    return days.map((day) => byDay.get(day) ?? { day, events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 });
  }

  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
