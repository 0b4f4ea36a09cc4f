import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { flattenFields, type IndexWriteResult, type LogEvent } from "@unmeltable/core";
import { fieldTokens, type TokenScheme } from "./field-tokens";
import { HandleCache, type Lease } from "./handle-cache";
import { atReceiveTime, misplacedTimestamp } from "./placement";
import { BLOCK_SPAN, BlockBuilder, buildDictionary, currentDictionary, decodeBlock, dictionaries, encodeBlock, hasDocBlocks, type Dictionary } from "./doc-blocks";
import { clampTs, ftsColumnOf, ftsLayoutOf, ftsText, hasTable, idBytes, NEW_SLICE_LAYOUT, openSlice, ROLLUP_FIELDS, type DocLayout, type FtsLayout, type IdLayout, type SliceLayout } from "./schema";
import { sliceFor, sliceStart, type Slice, type SliceLength } from "./slices";

const ROLLUP = new Set<string>(ROLLUP_FIELDS);
/** Open slice connections of a writer made without a capacity (tools, tests). */
const DEFAULT_OPEN = 32;
const WRITER_BUSY_TIMEOUT_MS = 1000;
/** Values per event in a prepared slice's rows: index, time, id, raw, document, field tokens, roll-up pairs. */
const ROW = 7;
/** Slices made before the "keyed" scheme remembered at most (SliceSchemes). */
const LEGACY_KEPT = 10_000;

/**
 * Events made ready for the writer: parsed, checked, grouped by slice and sorted, with their field tokens
 * and roll-up values — the CPU work, done in the calling thread, so that the writer thread only inserts
 * (measured: parsing, flattening and hashing were half of the writer's time per event). Rows are one flat
 * array per slice, which crosses to the writer thread far cheaper than an object per event.
 */
export interface PreparedWrite {
  /** Per document: its result already (rejected), or null until the writer stores it. */
  results: (IndexWriteResult | null)[];
  /**
   * Per slice: its rows, the field names its events have (Loggly's /apiv2/fields), and the scheme its rows'
   * field tokens are in (field-tokens.ts; the writer makes them again from the documents if the slice's
   * own differs).
   */
  slices: { name: string; start: number; length: SliceLength; rows: (string | number)[]; names: string[]; scheme: TokenScheme }[];
}

/**
 * The field-token scheme of a tenant's slice as the caller knows it: "keyed" (new slices) unless the
 * writer has said the slice is one made before (IndexWriter.schemeOf, and `schemes` in its worker's replies).
 */
export type SchemeOf = (sliceName: string) => TokenScheme;
const ALL_KEYED: SchemeOf = () => "keyed";

/**
 * The slices known to be of the scheme before "keyed" (`tenant/slice`; at most LEGACY_KEPT, then forgotten:
 * forgetting only costs the writer the work of making their tokens again). Kept by the writer from what it
 * opens, and by the thread that prepares from what the writer thread replies.
 */
export class SliceSchemes {
  private readonly legacy = new Set<string>();

  static key(tenant: string, sliceName: string): string {
    return `${tenant}/${sliceName}`;
  }

  of(tenant: string): SchemeOf {
    return (sliceName) => (this.legacy.has(SliceSchemes.key(tenant, sliceName)) ? "exists" : "keyed");
  }

  learn(key: string, scheme: TokenScheme): void {
    if (scheme === "keyed") this.legacy.delete(key);
    else {
      if (this.legacy.size >= LEGACY_KEPT) this.legacy.clear();
      this.legacy.add(key);
    }
  }
}

/**
 * `onParsed` receives each valid event as parsed (and as stored), for callers that need the objects too.
 * With the tenant's `retentionDays`, an event stating a time past it is stored at its receive time
 * (placement.ts).
 */
export function prepareWrite(tenant: string, docs: string[], length: SliceLength, onParsed?: (i: number, ev: LogEvent) => void, retentionDays?: number, schemeOf: SchemeOf = ALL_KEYED): PreparedWrite {
  const results: (IndexWriteResult | null)[] = new Array<(IndexWriteResult | null)>(docs.length).fill(null);
  const groups = new Map<number, { i: number; ev: LogEvent; ts: number; doc: string }[]>();
  for (let i = 0; i < docs.length; i++) {
    let ev: LogEvent;
    try {
      ev = JSON.parse(docs[i]!) as LogEvent;
    } catch (err) {
      results[i] = { status: "rejected", error: `not a JSON document: ${(err as Error).message}` };
      continue;
    }
    if (typeof ev?.id !== "string" || ev.id === "" || typeof ev.timestamp !== "number" || typeof ev.raw !== "string") {
      results[i] = { status: "rejected", error: "an event needs a string id, a numeric timestamp and a raw text" };
      continue;
    }
    if (ev.tenant !== undefined && ev.tenant !== tenant) {
      results[i] = { status: "rejected", error: `event of tenant ${ev.tenant} written to tenant ${tenant}` };
      continue;
    }
    let doc = docs[i]!;
    if (misplacedTimestamp(ev, retentionDays)) {
      ev = atReceiveTime(ev);
      doc = JSON.stringify(ev);
    }
    onParsed?.(i, ev);
    const ts = clampTs(ev.timestamp);
    const start = sliceStart(ts, length);
    let g = groups.get(start);
    if (!g) groups.set(start, (g = []));
    g.push({ i, ev, ts, doc });
  }
  const slices: PreparedWrite["slices"] = [];
  for (const [start, items] of groups) {
    const names = new Set<string>();
    // In time order within the transaction: FTS5 flushes its pending terms whenever a rowid arrives
    // below the previous one (40 % slower ingest, measured).
    items.sort((a, b) => a.ts - b.ts || (a.ev.id < b.ev.id ? -1 : a.ev.id > b.ev.id ? 1 : 0));
    const rows: (string | number)[] = [];
    const name = sliceFor(start, length).name;
    const scheme = schemeOf(name);
    for (const { i, ev, ts, doc } of items) {
      // The id gets no token: unique per event, it would add a term to the FTS dictionary per event.
      const fields = flattenFields(ev, { maxValue: Number.POSITIVE_INFINITY });
      let pairs = "";
      for (const [p, v] of fields) {
        names.add(p);
        if (ROLLUP.has(p)) pairs += `${pairs === "" ? "" : "\u0001"}${p}\u0000${rollupValue(v)}`;
      }
      rows.push(i, ts, ev.id, ev.raw, doc, fieldTokens(fields, scheme), pairs);
    }
    slices.push({ name, start, length, rows, names: [...names], scheme });
  }
  return { results, slices };
}

interface SliceDb {
  db: Database.Database;
  /** Stores an event's row (and its id); false when the id is stored already. Throws on a taken rowid. */
  insert: (rowid: number, idb: Buffer, doc: string | undefined) => boolean;
  /** The rowid of a stored id. */
  rowidOf: Database.Statement;
  /** Removes an event's row (and its id). */
  forget: (rowid: number, idb: Buffer) => void;
  /** Set when the slice stores its documents in blocks (doc-blocks.ts). */
  block?: Database.Statement;
  /** The dictionary its new blocks are compressed with (doc-blocks.ts), once it has one. */
  dict?: Dictionary;
  /**
   * An event's field tokens in the slice's scheme: the prepared ones when prepared in it, else made again
   * from its document (dearer: the first batch into a slice made before, until the caller learns its scheme).
   */
  tokens: (prepared: string, preparedScheme: TokenScheme, doc: string) => string;
  /** The field-token scheme of the slice (field-tokens.ts). */
  scheme: TokenScheme;
  /** Indexes an event's text and field tokens, in the slice's FTS layout. */
  fts: (rowid: number, raw: string, fieldTokens: string) => void;
  /** Tells the contentless FTS table what it indexed for an event that goes (its 'delete' command). */
  ftsDelete: (rowid: number, raw: string, fieldTokens: string) => void;
  maxInMs: Database.Statement;
  rollup: Database.Statement;
  fieldname: Database.Statement;
  /** Next free sequence number per millisecond recently written. */
  nextSeq: Map<number, number>;
}

/**
 * Writes events into their tenant's slice files. Synchronous (better-sqlite3): it runs in a worker
 * thread in the server (writer-worker.ts) so that a 5,000-event transaction does not stall the event loop.
 * One transaction per slice per batch; within it events go in time order, because FTS5 flushes its
 * pending terms whenever a rowid arrives below the previous one (40 % slower ingest, measured).
 */
export interface IndexWriterOptions {
  /** Slice connections kept open (see handle-cache.ts); default 32. */
  openSlices?: number;
  /** Shared [open, evictions] counters (handle-cache.ts). */
  counters?: Int32Array;
  /** A tenant's retention in days, when known: events stating older times go in at their receive time. */
  retentionOf?: (tenant: string) => number | undefined;
  /** How new slices store documents (schema.ts DocLayout); default "blocks". */
  layout?: DocLayout;
  /** How new slices keep their search terms (schema.ts FtsLayout); default "keyed". */
  fts?: FtsLayout;
  /** Where new slices of blocks keep the events' ids (schema.ts IdLayout); default "table". */
  ids?: IdLayout;
}

export class IndexWriter {
  private readonly open: HandleCache<SliceDb>;

  constructor(
    private readonly root: string,
    private sliceOf: (tenant: string) => SliceLength,
    private readonly options: IndexWriterOptions = {},
  ) {
    this.open = new HandleCache<SliceDb>({
      capacity: options.openSlices ?? DEFAULT_OPEN,
      counters: options.counters,
      close: (s) => s.db.close(),
      // An idle slice (a quiet tenant, yesterday's slice) gives back its page cache and sequence numbers.
      idle: (s) => {
        s.nextSeq.clear();
        s.db.pragma("shrink_memory");
      },
    });
  }

  /**
   * The field-token scheme of a tenant's slices as far as this writer has seen them open: "exists" for a
   * slice made before the "keyed" scheme, so that the caller prepares its events in it (see SliceDb.tokens).
   */
  schemeOf(tenant: string): SchemeOf {
    return this.schemes.of(tenant);
  }

  /** What this writer's openings said of each slice's scheme. */
  private readonly schemes = new SliceSchemes();

  /** Slice connections open now. */
  get openSlices(): number {
    return this.open.size;
  }

  setSlicePolicy(sliceOf: (tenant: string) => SliceLength): void {
    this.sliceOf = sliceOf;
  }

  /** Parses, prepares and stores events: what the inline mode does in one call. */
  write(tenant: string, docs: string[]): IndexWriteResult[] {
    return this.apply(tenant, prepareWrite(tenant, docs, this.sliceOf(tenant), undefined, this.options.retentionOf?.(tenant), this.schemeOf(tenant)));
  }

  /**
   * Stores prepared events (see prepareWrite), one transaction per slice. An event that cannot be
   * stored for what it is was "rejected" by prepareWrite already; a failure here is the storage's (the
   * file locked by another connection, the disk full or failing), so its events are "retry": the stage
   * tries again, with backoff, until it works — they never go to the dead letters for it.
   */
  apply(tenant: string, prepared: PreparedWrite): IndexWriteResult[] {
    const results = prepared.results as IndexWriteResult[];
    for (const slice of prepared.slices) {
      try {
        this.writeSlice(tenant, sliceFor(slice.start, slice.length), slice.rows, slice.names, slice.scheme, results);
      } catch (err) {
        // Nothing of this slice's transaction was kept.
        for (let k = 0; k < slice.rows.length; k += ROW) results[slice.rows[k] as number] = { status: "retry", error: (err as Error).message };
        // A lock leaves the connection as good as it was; after a disk error, open the file afresh.
        if (!/^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? "")) this.closeSlice(tenant, slice.name);
      }
    }
    return results;
  }

  /**
   * Stores events in place of the stored events with the same ids (a replay that applies the tenant's
   * derived-field rules as they are now to archived days): in one transaction per slice, each old event's
   * row, search terms, roll-up counts and document go, and the new one is stored as a new event would be.
   * Results as `apply`'s, with `replaced: true` where an event was stored before.
   */
  replace(tenant: string, docs: string[]): IndexWriteResult[] {
    const prepared = prepareWrite(tenant, docs, this.sliceOf(tenant), undefined, this.options.retentionOf?.(tenant), this.schemeOf(tenant));
    const results = prepared.results as (IndexWriteResult & { replaced?: boolean })[];
    for (const slice of prepared.slices) {
      const lease = this.sliceDb(tenant, sliceFor(slice.start, slice.length));
      try {
        const s = lease.value;
        const removed: number[] = [];
        s.db.transaction(() => {
          for (let k = 0; k < slice.rows.length; k += ROW) if (removeEvent(s, idBytes(slice.rows[k + 2] as string))) removed.push(slice.rows[k] as number);
          this.insertRows(s, slice.rows, slice.names, slice.scheme, results);
        })();
        if (s.block) s.dict = currentDictionary(s.db);
        for (const i of removed) if (results[i]?.status === "created") results[i] = { status: "created", replaced: true };
      } catch (err) {
        for (let k = 0; k < slice.rows.length; k += ROW) results[slice.rows[k] as number] = { status: "retry", error: (err as Error).message };
        if (!/^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? "")) this.closeSlice(tenant, slice.name);
      } finally {
        lease.release();
      }
    }
    return results;
  }

  private writeSlice(tenant: string, slice: Slice, rows: (string | number)[], names: string[], scheme: TokenScheme, results: IndexWriteResult[]): void {
    const lease = this.sliceDb(tenant, slice);
    try {
      this.insertRows(lease.value, rows, names, scheme, results);
    } finally {
      lease.release();
    }
  }

  private insertRows(s: SliceDb, rows: (string | number)[], names: string[], scheme: TokenScheme, results: IndexWriteResult[]): void {
    const rollup = new Map<string, number>();
    let dict = s.dict;
    s.db.transaction(() => {
      if (s.block && dict === undefined) dict = newDictionary(s.db, rows);
      const blocks = s.block ? new BlockBuilder(s.block, dict) : undefined;
      for (let k = 0; k < rows.length; k += ROW) {
        const i = rows[k] as number;
        const ts = rows[k + 1] as number;
        const rowid = this.insertEvent(s, ts, idBytes(rows[k + 2] as string), blocks ? undefined : (rows[k + 4] as string));
        if (rowid === undefined) {
          results[i] = { status: "exists" };
          continue;
        }
        blocks?.add(rowid, rows[k + 4] as string);
        s.fts(rowid, rows[k + 3] as string, s.tokens(rows[k + 5] as string, scheme, rows[k + 4] as string));
        const minute = Math.floor(ts / 60_000);
        bump(rollup, `*\u0000${minute}\u0000`);
        const pairs = rows[k + 6] as string;
        if (pairs !== "") {
          for (const pair of pairs.split("\u0001")) {
            const cut = pair.indexOf("\u0000");
            bump(rollup, `${pair.slice(0, cut)}\u0000${minute}\u0000${pair.slice(cut + 1)}`);
          }
        }
        results[i] = { status: "created" };
      }
      for (const [key, n] of rollup) {
        const [field, minute, value] = key.split("\u0000");
        s.rollup.run(field, Number(minute), value, n);
      }
      for (const name of names) s.fieldname.run(name);
      blocks?.flush();
    })();
    // Only once committed (a transaction that failed took its new dictionary's row with it); inside a
    // caller's transaction (replace), the caller reads it again after its commit.
    if (!s.db.inTransaction) s.dict = dict;
  }

  /** Inserts at the first free rowid of the event's millisecond; undefined when the id is already stored. */
  private insertEvent(s: SliceDb, ts: number, idb: Buffer, doc: string | undefined): number | undefined {
    let ms = ts;
    for (;;) {
      let seq = s.nextSeq.get(ms);
      if (seq === undefined) {
        const max = (s.maxInMs.get(ms * 1000, ms * 1000 + 999) as { m: number | null }).m;
        seq = max === null ? 0 : max - ms * 1000 + 1;
      }
      if (seq > 999) {
        // A thousand events in one millisecond: the next one borrows the next millisecond's rowids
        // (its document keeps the true time).
        ms++;
        continue;
      }
      if (s.nextSeq.size > 100_000) s.nextSeq.clear();
      s.nextSeq.set(ms, seq + 1);
      const rowid = ms * 1000 + seq;
      try {
        return s.insert(rowid, idb, doc) ? rowid : undefined;
      } catch (err) {
        if ((err as { code?: string }).code !== "SQLITE_CONSTRAINT_PRIMARYKEY") throw err;
        // Someone else's rowid (the sequence cache was cleared): look again.
        s.nextSeq.delete(ms);
      }
    }
  }

  private sliceDb(tenant: string, slice: Slice): Lease<SliceDb> {
    return this.open.acquire(`${tenant}/${slice.name}`, () => this.openSliceDb(tenant, slice));
  }

  private openSliceDb(tenant: string, slice: Slice): SliceDb {
    const dir = path.join(this.root, tenant);
    mkdirSync(dir, { recursive: true });
    // A short wait for a lock: this thread writes for every tenant, and a slice locked for longer is
    // retried by the stage (with backoff) instead of holding up the others.
    const file = path.join(dir, `${slice.name}.db`);
    if (!existsSync(file)) {
      const o = this.options;
      createSliceFile(file, { docs: o.layout ?? NEW_SLICE_LAYOUT.docs, fts: o.fts ?? NEW_SLICE_LAYOUT.fts, ids: o.ids ?? NEW_SLICE_LAYOUT.ids });
    }
    const db = openSlice(file, false, WRITER_BUSY_TIMEOUT_MS);
    const blocks = hasDocBlocks(db);
    const layout = ftsLayoutOf(db);
    const column = ftsColumnOf(layout);
    const ftsInsert = db.prepare(column !== undefined ? `INSERT INTO fts (rowid, ${column}) VALUES (?, ?)` : "INSERT INTO fts (rowid, raw, f) VALUES (?, ?, ?)");
    const ftsDelete = db.prepare(column !== undefined ? `INSERT INTO fts (fts, rowid, ${column}) VALUES ('delete', ?, ?)` : "INSERT INTO fts (fts, rowid, raw, f) VALUES ('delete', ?, ?, ?)");
    const ftsValues = (stmt: Database.Statement) =>
      column !== undefined ? (rowid: number, raw: string, f: string) => void stmt.run(rowid, ftsText(raw, f)) : (rowid: number, raw: string, f: string) => void stmt.run(rowid, raw, f);
    const scheme: TokenScheme = layout === "keyed" ? "keyed" : "exists";
    // A slice's file may be made again (retention removed it): what this opening says is what holds.
    this.schemes.learn(SliceSchemes.key(tenant, slice.name), scheme);
    const s: SliceDb = {
      db,
      ...idStatements(db, blocks),
      block: blocks ? db.prepare("INSERT INTO docs (first, last, data) VALUES (?, ?, ?)") : undefined,
      dict: blocks ? currentDictionary(db) : undefined,
      scheme,
      tokens: (prepared, preparedScheme, doc) => (preparedScheme === scheme ? prepared : fieldTokens(flattenFields(JSON.parse(doc) as LogEvent, { maxValue: Number.POSITIVE_INFINITY }), scheme)),
      fts: ftsValues(ftsInsert),
      ftsDelete: ftsValues(ftsDelete),
      maxInMs: db.prepare("SELECT max(rowid) AS m FROM events WHERE rowid BETWEEN ? AND ?"),
      rollup: db.prepare("INSERT INTO rollup (field, minute, value, n) VALUES (?, ?, ?, ?) ON CONFLICT (field, minute, value) DO UPDATE SET n = n + excluded.n"),
      fieldname: db.prepare("INSERT OR IGNORE INTO fieldnames (name) VALUES (?)"),
      nextSeq: new Map(),
    };
    return s;
  }

  /** Creates (opens, with its schema) the slice file holding `at`. */
  prepare(tenant: string, at: number, length: SliceLength): void {
    this.sliceDb(tenant, sliceFor(at, length)).release();
  }

  /** Closes a slice's connection (before retention deletes its file, or after an error). */
  closeSlice(tenant: string, sliceName: string): void {
    this.open.delete(`${tenant}/${sliceName}`);
  }

  close(): void {
    this.open.closeAll();
  }
}

/**
 * Removes a stored event, if there is one with this id: its FTS row (a contentless table is told the
 * values it indexed, recomputed from the stored document as prepareWrite computed them), its roll-up
 * counts, its document (its block written again without it) and its row. True when there was one.
 */
function removeEvent(s: SliceDb, idb: Buffer): boolean {
  const rowid = s.rowidOf.get(idb) as number | undefined;
  if (rowid === undefined) return false;
  let doc: string | undefined;
  if (s.block) {
    const candidates = s.db.prepare("SELECT first, data FROM docs WHERE first BETWEEN ? AND ? AND last >= ?").all(rowid - BLOCK_SPAN, rowid, rowid) as { first: number; data: Buffer }[];
    for (const { first, data } of candidates) {
      const { rowids, docs } = decodeBlock(first, data, dictionaries(s.db));
      const at = rowids.indexOf(rowid);
      if (at < 0) continue;
      doc = docs[at];
      s.db.prepare("DELETE FROM docs WHERE first = ?").run(first);
      // The rest of the block, in rowid order (a block's key is its first rowid, its deltas count from it).
      const rest = rowids.map((r, i) => [r, docs[i]!] as const).filter(([r]) => r !== rowid).sort((a, b) => a[0] - b[0]);
      if (rest.length > 0) s.block.run(rest[0]![0], rest[rest.length - 1]![0], encodeBlock(rest.map(([r]) => r), rest.map(([, d]) => d), s.dict));
      break;
    }
  } else {
    doc = s.db.prepare("SELECT doc FROM events WHERE rowid = ?").pluck().get(rowid) as string | undefined;
  }
  if (doc === undefined) throw new Error(`stored event ${rowid} has no document: the slice is damaged`);
  const ev = JSON.parse(doc) as LogEvent;
  const fields = flattenFields(ev, { maxValue: Number.POSITIVE_INFINITY });
  s.ftsDelete(rowid, ev.raw, fieldTokens(fields, s.scheme));
  const minute = Math.floor(clampTs(ev.timestamp) / 60_000);
  const less = s.db.prepare("UPDATE rollup SET n = n - 1 WHERE field = ? AND minute = ? AND value = ?");
  less.run("*", minute, "");
  for (const [p, v] of fields) if (ROLLUP.has(p)) less.run(p, minute, rollupValue(v));
  s.db.prepare("DELETE FROM rollup WHERE minute = ? AND n <= 0").run(minute);
  s.forget(rowid, idb);
  return true;
}

/**
 * How a slice stores, finds and removes an event's row and id, in its layout (schema.ts IdLayout and
 * DocLayout). A known id is not stored again (idempotent writes); a taken rowid raises.
 */
function idStatements(db: Database.Database, blocks: boolean): Pick<SliceDb, "insert" | "rowidOf" | "forget"> {
  const unrow = db.prepare("DELETE FROM events WHERE rowid = ?");
  if (hasTable(db, "ids")) {
    const row = db.prepare("INSERT INTO events (rowid) VALUES (?)");
    const id = db.prepare("INSERT INTO ids (idb, rowid) VALUES (?, ?) ON CONFLICT (idb) DO NOTHING");
    const unid = db.prepare("DELETE FROM ids WHERE idb = ?");
    return {
      insert: (rowid, idb) => {
        row.run(rowid);
        if (id.run(idb, rowid).changes > 0) return true;
        // Stored already (a repeat is rare: a replay, a retried batch): the row goes again.
        unrow.run(rowid);
        return false;
      },
      rowidOf: db.prepare("SELECT rowid FROM ids WHERE idb = ?").pluck(),
      forget: (rowid, idb) => {
        unid.run(idb);
        unrow.run(rowid);
      },
    };
  }
  const insert = db.prepare(blocks ? "INSERT INTO events (rowid, idb) VALUES (?, ?) ON CONFLICT (idb) DO NOTHING" : "INSERT INTO events (rowid, idb, doc) VALUES (?, ?, ?) ON CONFLICT (idb) DO NOTHING");
  return {
    insert: (rowid, idb, doc) => (blocks ? insert.run(rowid, idb) : insert.run(rowid, idb, doc)).changes > 0,
    rowidOf: db.prepare("SELECT rowid FROM events WHERE idb = ?").pluck(),
    forget: (rowid) => void unrow.run(rowid),
  };
}

/** Makes the slice's dictionary from a batch's documents (rows as prepareWrite makes them), if the batch is big enough. */
function newDictionary(db: Database.Database, rows: (string | number)[]): Dictionary | undefined {
  const docs: string[] = [];
  for (let k = 4; k < rows.length; k += ROW) docs.push(rows[k] as string);
  const data = buildDictionary(docs);
  if (data === undefined) return undefined;
  const id = Number(db.prepare("INSERT INTO dicts (data) VALUES (?)").run(data).lastInsertRowid);
  return { id, data };
}

/** Roll-up values keep their type: "s" + text, "n" + number, "b" + boolean. */
export function rollupValue(v: string | number | boolean): string {
  return (typeof v === "string" ? "s" : typeof v === "number" ? "n" : "b") + String(v);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * A new slice file gets its tables under a temporary name and appears under its own name only then:
 * readers find slices by listing the directory, and one opened between the file's creation and its
 * tables answered "no such table: events" (a 500) for a tenant's first events.
 */
function createSliceFile(file: string, layout: SliceLayout): void {
  const creating = `${file}.creating`;
  for (const leftover of [creating, `${creating}-wal`, `${creating}-shm`]) rmSync(leftover, { force: true });
  // Closing the only connection checkpoints the WAL into the file and removes it: the file is whole.
  openSlice(creating, false, WRITER_BUSY_TIMEOUT_MS, layout).close();
  renameSync(creating, file);
}

