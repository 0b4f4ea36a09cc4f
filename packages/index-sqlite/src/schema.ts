import Database from "better-sqlite3";

/**
 * One slice file. Measured choices (SQLite FTS5 through better-sqlite3 on the project's 2-core machine, with
 * 1M and 10M syslog-like events; the figures come from that one-off study, summarised here):
 * - SQLite FTS5 (~34-40k events/s per core in batches sorted by rowid; unsorted batches were 40 % slower,
 *   as FTS5 flushes its pending terms whenever a rowid is not above the last one), rather than DuckDB (no
 *   offline full-text index: every text query a scan, 3.4 s at 10M), in-memory engines (flexsearch,
 *   minisearch: 0.7-2 KB of RAM per event, no time range) or ripgrep over NDJSON files.
 * - Day slices by default: hour slices cost 23 % more disk and made a rare-term query 20x slower (72 files
 *   probed); a tenant's slice length follows its volume (core/src/lifecycle/slice-policy.ts).
 * - `events.rowid` is the time: `timestamp_ms * 1000 + seq`. A time range is a rowid range for every
 *   structure, and newest-first comes straight off the FTS posting lists, without a sort.
 * - The FTS table is contentless (the text lives once, inside the event's document, stored compressed in
 *   blocks: doc-blocks.ts) with `columnsize=0` (logs are ordered by time, not ranked), tokenizer unicode61
 *   with diacritics removed. Its layout (FtsLayout, below) is "one" for new slices.
 * - `idb` (the event id, 16 bytes) is unique: writing an event twice stores it once.
 * - `rollup` counts events per (field, minute, value) for a few low-cardinality fields (and `*` for all
 *   events), so unfiltered facets, counts and histograms never scan the events.
 * - WAL with synchronous=FULL: a committed batch survives a power cut, because the index stage commits
 *   its queue offsets right after.
 * - FTS5 `automerge` 8 (FTS_AUTOMERGE) instead of its default 4: segments are merged once 8 of a level
 *   exist, not 4. Measured on 1M events of the seeded corpus in one slice: the FTS inserts' CPU
 *   30.4 → 18.7 µs/event, 14 → 22 segments, +0.5 % bytes, and every query shape still under a
 *   millisecond (bench/RESULTS.md, "FTS5 automerge").
 */
export const ROLLUP_FIELDS = ["tag", "logtype", "syslog.host", "syslog.appName", "syslog.severity", "syslog.facility", "json.level", "apache.status", "nginx.status"] as const;

/**
 * How a slice's FTS table keeps its terms.
 * - "keyed" (new slices): one column `k`, the event text then its field tokens in field-tokens.ts's "keyed"
 *   scheme: a leaf's value token begins with its path's key, and only objects and leaves without a value
 *   token get an exists token. `path:*` is then a prefix query over the path's values, or its exists token.
 *   Measured (bench/RESULTS.md, issue 16 §2, "value tokens keyed by their path"): fewer tokens per event,
 *   fewer FTS bytes, every query exact as before.
 * - "one" (slices made before): one column `t`, the event text then its field tokens in the "exists" scheme
 *   (an exists token for every path), with positions.
 *   In both, field tokens begin with FIELD_MARK, a token character of this table only (`tokenchars`),
 *   which the event text gives up (ftsText): no word of a text can equal a field token, no text query can
 *   reach one (core's tokenizer splits at FIELD_MARK, as unicode61 does by default), and a phrase never
 *   runs from the text into them, so one column needs no column filter and FTS5 stores no column number
 *   per field token. Measured (bench/fts-layouts.ts, 200,000 events of the seeded mixed corpus): 312 FTS
 *   bytes per event against 361 for "two"; every query stays exact.
 * - "two" (slices made before "one"): `fts5(raw, f)`, `raw` the text and `f` the field tokens in the "exists"
 *   scheme; its tokenizer drops FIELD_MARK, so the same field tokens find its terms.
 * Measured and not taken (bench/RESULTS.md, issue 16 §2): `detail=none` (no positions: 201 B/event, but a
 * phrase, an IP address or a host name like web-01 is then checked on every candidate's stored event —
 * a phrase's histogram over a day 10-17× slower), and field tokens in a second FTS table (263 B/event, but
 * a query of text and fields joins two tables: 40-700× slower than one posting-list merge).
 */
export type FtsLayout = "keyed" | "one" | "two";

/** The first character of every field token (see FtsLayout). */
export const FIELD_MARK = "~";

/** The FTS table of a one-column layout ("keyed": column `k`, "one": column `t`). */
const oneColumnDdl = (column: string) =>
  `CREATE VIRTUAL TABLE fts USING fts5(${column}, content='', columnsize=0, tokenize="unicode61 remove_diacritics 2 tokenchars '${FIELD_MARK}'")`;

/** The column of a one-column layout; undefined for "two". */
export function ftsColumnOf(layout: FtsLayout): string | undefined {
  return layout === "keyed" ? "k" : layout === "one" ? "t" : undefined;
}

/** The value a one-column slice's FTS column gets for an event: its text without FIELD_MARK, then its field tokens. */
export function ftsText(raw: string, fieldTokens: string): string {
  const text = raw.includes(FIELD_MARK) ? raw.replaceAll(FIELD_MARK, " ") : raw;
  return fieldTokens === "" ? text : `${text} ${fieldTokens}`;
}

/** Whether a slice has table `name` (what a slice has tells the layout it was made with). */
export function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

const layouts = new WeakMap<Database.Database, FtsLayout>();

/** A slice's FTS layout, read once per connection. */
export function ftsLayoutOf(db: Database.Database): FtsLayout {
  let l = layouts.get(db);
  if (l === undefined) {
    const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'fts'").pluck().get() as string | undefined;
    const column = sql === undefined ? undefined : /fts5\(\s*(\w+)\s*,/i.exec(sql)?.[1];
    l = column === "k" ? "keyed" : column === "t" ? "one" : "two";
    layouts.set(db, l);
  }
  return l;
}

/** FTS5's `automerge`: how many segments of one level wait before they are merged (see above). */
export const FTS_AUTOMERGE = 8;

/** Page cache of one slice connection, KiB. */
export const PAGE_CACHE_KIB = 16_384;

/**
 * How a new slice stores its events' documents: "blocks" (compressed, doc-blocks.ts; the default) or
 * "rows" (one `events.doc` text per event, the layout of slices made before; kept so that those slices
 * are read and written as they are, and for the comparison in bench/index-writer.ts).
 */
export type DocLayout = "blocks" | "rows";

/**
 * Where a slice of blocks keeps its events' ids: "table" (new slices), a table `ids(idb, rowid)` keyed by
 * the id beside a table `events` of rowids alone; "column" (slices made before), `events.idb` with a
 * unique index — the id's 16 bytes twice, once in the row and once in the index. Measured in `start`'s
 * data folder (bench/RESULTS.md, issue 16 §2): 64.8 B/event before, 47.7 after.
 */
export type IdLayout = "table" | "column";

/** How a new slice is made; an existing slice keeps the layout it was made with. */
export interface SliceLayout {
  docs: DocLayout;
  fts: FtsLayout;
  ids: IdLayout;
}
export const NEW_SLICE_LAYOUT: SliceLayout = { docs: "blocks", fts: "keyed", ids: "table" };

/**
 * Page size of a new slice, bytes. A block of 32 documents deflates to 2.5-4 KiB: with SQLite's default
 * 4 KiB pages one block took a page and up to a third of it stayed empty. Measured in `start`'s data folder
 * (bench/RESULTS.md, issue 16 §2): the stored documents 129 → 101 B/event with 16 KiB pages (93 with
 * 32 KiB, but every commit writes its pages whole to the WAL: a quiet tenant's small batches would write
 * twice the bytes again), the other tables within 1 %.
 */
export const SLICE_PAGE_SIZE = 16_384;

/**
 * The WAL of a slice in bytes, whatever its page size: checkpointed at this size (SQLite's default is
 * 1,000 pages, 4 MiB of 4 KiB pages), and cut back to it after a checkpoint (it otherwise keeps its largest
 * size on disk for as long as a connection is open).
 */
export const WAL_BYTES = 4 * 1024 * 1024;

export function openSlice(file: string, readonly: boolean, busyTimeoutMs = 5000, layout: SliceLayout = NEW_SLICE_LAYOUT): Database.Database {
  const db = new Database(file, { readonly, fileMustExist: readonly });
  try {
    // First: the statements below wait for a lock too (set after them, a locked file failed at once).
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (!readonly) {
      // An existing slice keeps its layout: a `docs` table added to a "rows" slice would hide its documents.
      const fresh = !hasTable(db, "events");
      // Before the first table (and before WAL, which fixes the page size): a slice made before keeps its own.
      if (fresh) db.pragma(`page_size = ${SLICE_PAGE_SIZE}`);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(WAL_BYTES / (db.pragma("page_size", { simple: true }) as number)))}`);
      db.pragma(`journal_size_limit = ${WAL_BYTES}`);
      if (fresh && layout.docs === "blocks") {
        db.exec(
          layout.ids === "table"
            ? `CREATE TABLE events (rowid INTEGER PRIMARY KEY);
               CREATE TABLE ids (idb BLOB PRIMARY KEY, rowid INTEGER NOT NULL) WITHOUT ROWID;`
            : "CREATE TABLE events (rowid INTEGER PRIMARY KEY, idb BLOB NOT NULL UNIQUE);",
        );
        db.exec("CREATE TABLE docs (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, data BLOB NOT NULL);");
      }
      // Likewise its FTS layout: only a new slice gets today's.
      const column = ftsColumnOf(layout.fts);
      if (fresh && column !== undefined) db.exec(oneColumnDdl(column));
      db.exec(`
        CREATE TABLE IF NOT EXISTS events (rowid INTEGER PRIMARY KEY, idb BLOB NOT NULL UNIQUE, doc TEXT NOT NULL);
        CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(raw, f, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2');
        CREATE TABLE IF NOT EXISTS rollup (field TEXT NOT NULL, minute INTEGER NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (field, minute, value)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS fieldnames (name TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS dicts (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
      `);
      // Kept in the slice (fts_config), so it is set once; slices made before get it when next written.
      if (db.prepare("SELECT v FROM fts_config WHERE k = 'automerge'").pluck().get() !== FTS_AUTOMERGE) {
        db.exec(`INSERT INTO fts (fts, rank) VALUES ('automerge', ${FTS_AUTOMERGE})`);
      }
    }
    db.pragma("temp_store = MEMORY");
    // 16 MiB at most per connection (64 MiB before): up to --index-open-slices connections are open, and a
    // connection left idle gives its cache back (handle-cache.ts), so memory follows the slices in use.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (readonly) db.pragma("mmap_size = 268435456");
  } catch (err) {
    // Locked or failing now: the caller tries again later, with a new connection, not a leaked one.
    db.close();
    throw err;
  }
  return db;
}

/** The 16 bytes of a UUID, or the UTF-8 of any other id. */
export function idBytes(id: string): Buffer {
  if (id.length === 36 && id[8] === "-" && id[13] === "-" && id[18] === "-" && id[23] === "-") {
    const hex = id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24);
    if (/^[0-9a-fA-F]{32}$/.test(hex)) return Buffer.from(hex, "hex");
  }
  return Buffer.from(id, "utf8");
}

/** The rowid range of the inclusive time range [from, until]. */
export function rowidRange(from: number, until: number): [number, number] {
  return [clampTs(from) * 1000, clampTs(until) * 1000 + 999];
}

/** Rowids must stay below 2^53: event times are clamped to [1970, 2255]. */
export function clampTs(ts: number): number {
  if (!Number.isFinite(ts) || ts < 0) return 0;
  return Math.min(Math.floor(ts), 9_000_000_000_000);
}
