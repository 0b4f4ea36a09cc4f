import { readdirSync, existsSync } from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import {
  FacetTally,
  facetKey,
  flattenFields,
  InvalidCursorError,
  isNumericLiteral,
  matchesEvent,
  NumericTally,
  numericValue,
  MAX_FIELD_NAMES,
  MAX_HISTOGRAM_BUCKETS,
  QueryBudgetError,
  resolveField,
  type FacetResult,
  type HistogramBucket,
  type LogEvent,
  type NumericStats,
  type Query,
  type SearchPage,
  type SearchQuery,
  type SearchResult,
} from "@unmeltable/core";
import { DocReader } from "./doc-blocks";
import { compileFts, type FtsPlan } from "./fts-compile";
import { HandleCache, type Lease } from "./handle-cache";
import { ftsLayoutOf, openSlice, ROLLUP_FIELDS, rowidRange, type FtsLayout } from "./schema";
import { overlapping, parseSliceName, type Slice } from "./slices";

const ROLLUP = new Set<string>(ROLLUP_FIELDS);
/**
 * Rows the first statement of a walk through a slice reads (a page of newest events needs no more); each
 * next statement reads CHUNK_GROWTH times more, up to MAX_CHUNK. Each FTS5 statement pays a set-up in every
 * segment of the slice whatever its rowid range (measured over a 3.3M-event day slice: ~6.5 ms for a common
 * term, see SPAN; a prefix query merges all its terms again), so a long walk takes few statements; but a
 * page needs only its first: with a LIMIT of 5,000 the statement of a newest-100 page of a common term took
 * 1.3-1.5 ms at 10M events, with 500 0.2-0.4 ms.
 */
const CHUNK = 500;
const CHUNK_GROWTH = 4;
const MAX_CHUNK = 50_000;
/** Facets over a filtered search count the newest this-many matches, and say so. */
export const FACET_SAMPLE = 100_000;
/** Events a filtered fields() reads at most. */
const FIELDS_SAMPLE = 10_000;
/** Open slice connections of a reader made without a capacity (tools, tests). */
const DEFAULT_OPEN = 64;
/**
 * Rowids (an hour of time) one SQL statement over the `events` table covers at most, so that a read checks
 * its deadline between statements: a statement cannot be interrupted once it runs (the reader pool ends a
 * thread stuck in one past its deadline). Not for FTS statements: each pays a set-up in every segment of
 * the slice whatever its range, so an FTS count or histogram reads a slice's range in one (measured at 10M
 * events, `POST` counted over a day slice of 3.3M: 24 hourly statements 157 ms, one 7-10 ms; a phrase
 * 651 ms against 34 ms).
 */
const SPAN = 3_600_000_000;
/** Highest rowid: event times are clamped to 9e12 ms (schema.ts), 1000 rowids per millisecond. */
const MAX_ROWID = 9_000_000_000_000_999;

export interface ReadOptions {
  /** Date.now() after which the read gives up with a QueryBudgetError (checked between chunks of work). */
  deadline?: number;
  /** Called between chunks of work: a reader thread pauses there while ingest is busy. */
  between?: () => void;
}

interface Candidate {
  rowid: number;
  doc: string;
  /** The parsed document, when matching needed it. */
  event?: LogEvent;
}

/** A page as the documents' JSON text (what crosses from a reader thread), see IndexReader.searchDocs. */
export interface DocsPage {
  docs: string[];
  cursor?: string;
}

/**
 * Searches a tenant's slices: only the files overlapping the time range are opened, newest first, and a
 * tenant's directory is the only place its queries look — tenants are isolated by construction.
 * Every read is bounded: statements cover at most an hour of rowids, the deadline is checked between
 * them, and what a read keeps in memory is capped (page bytes, facet terms, field names).
 */
export interface IndexReaderOptions {
  /** Slice connections kept open (see handle-cache.ts); default 64. */
  openSlices?: number;
  /** Shared [open, evictions] counters (handle-cache.ts). */
  counters?: Int32Array;
}

export class IndexReader {
  /** A read holds its slice's connection (a lease) while it reads it: eviction never closes it under the read. */
  private readonly open: HandleCache<Database.Database>;

  constructor(
    private readonly root: string,
    options: IndexReaderOptions = {},
  ) {
    this.open = new HandleCache<Database.Database>({
      capacity: options.openSlices ?? DEFAULT_OPEN,
      counters: options.counters,
      close: (db) => db.close(),
      idle: (db) => db.pragma("shrink_memory"),
    });
  }

  /** Slice connections open now. */
  get openSlices(): number {
    return this.open.size;
  }

  /** The tenant's slice files overlapping [from, until], newest first. */
  slices(tenant: string, from: number, until: number): Slice[] {
    const dir = path.join(this.root, tenant);
    if (!existsSync(dir)) return [];
    const all: Slice[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".db")) continue;
      const s = parseSliceName(f.slice(0, -3));
      if (s) all.push(s);
    }
    return overlapping(all, from, until);
  }

  private db(tenant: string, slice: Slice): Lease<Database.Database> {
    return this.open.acquire(`${tenant}/${slice.name}`, () => openSlice(path.join(this.root, tenant, `${slice.name}.db`), true));
  }

  /** Forgets an open connection (its file is about to be deleted). */
  closeSlice(tenant: string, sliceName: string): void {
    this.open.delete(`${tenant}/${sliceName}`);
  }

  /**
   * Walks the matching events in time order (newest first unless asc), slice by slice, in chunks:
   * off the FTS posting lists when the query compiles to FTS, else over the events table; checks each
   * candidate against the reference semantics when the FTS condition is not exact.
   */
  *matches(q: SearchQuery, order: "asc" | "desc" = "desc", startAfter?: number, opts: ReadOptions = {}): Generator<Candidate> {
    const plans = new Plans(q.query);
    let [lo, hi] = rowidRange(q.from, q.until);
    if (startAfter !== undefined) {
      if (order === "desc") hi = Math.min(hi, startAfter - 1);
      else lo = Math.max(lo, startAfter + 1);
    }
    const slices = this.slices(q.tenant, q.from, q.until);
    if (order === "asc") slices.reverse();
    for (const slice of slices) {
      const [slo, shi] = [Math.max(lo, slice.start * 1000), Math.min(hi, slice.end * 1000 - 1)];
      if (slo > shi) continue;
      // Released when the walk moves on, or when its consumer stops early (return() runs the finally).
      const lease = this.db(q.tenant, slice);
      try {
        yield* this.sliceMatches(lease.value, plans.of(lease.value), q, slo, shi, order, opts);
      } finally {
        lease.release();
      }
    }
  }

  private *sliceMatches(db: Database.Database, plan: FtsPlan, q: SearchQuery, lo: number, hi: number, order: "asc" | "desc", opts: ReadOptions): Generator<Candidate> {
    if (plan.never) return;
    const dir = order === "desc" ? "DESC" : "ASC";
    const docOf = new DocReader(db);
    const stmt =
      plan.expr !== null
        ? db.prepare(`SELECT rowid FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rowid ${dir} LIMIT ?`).pluck()
        : db.prepare(`SELECT rowid FROM events WHERE rowid BETWEEN ? AND ? ORDER BY rowid ${dir} LIMIT ?`).pluck();
    let [a, b] = [lo, hi];
    let chunk = CHUNK;
    for (;;) {
      checkDeadline(opts);
      // Rowids first: each document is read only when the consumer gets that far.
      const rows = (plan.expr !== null ? stmt.all(plan.expr, a, b, chunk) : stmt.all(a, b, chunk)) as number[];
      for (const rowid of rows) {
        const doc = docOf.get(rowid);
        if (doc === undefined) continue;
        if (plan.exact) {
          yield { rowid, doc };
          continue;
        }
        const event = JSON.parse(doc) as LogEvent;
        if (matchesEvent(q.query, event)) yield { rowid, doc, event };
      }
      if (rows.length < chunk) return;
      if (order === "desc") b = rows[rows.length - 1]! - 1;
      else a = rows[rows.length - 1]! + 1;
      chunk = Math.min(MAX_CHUNK, chunk * CHUNK_GROWTH);
    }
  }

  search(q: SearchQuery, page: SearchPage, opts: ReadOptions = {}): SearchResult {
    const { docs, cursor } = this.searchDocs(q, page, opts);
    const events = docs.map((d) => JSON.parse(d) as LogEvent);
    return cursor === undefined ? { events } : { events, cursor };
  }

  /** A page of matching events as their stored JSON documents: nothing parsed that the query did not need. */
  searchDocs(q: SearchQuery, page: SearchPage, opts: ReadOptions = {}): DocsPage {
    const startAfter = page.cursor !== undefined ? decodeCursor(page.cursor) : undefined;
    let skip = page.offset ?? 0;
    const maxBytes = page.maxBytes ?? Number.POSITIVE_INFINITY;
    const docs: string[] = [];
    let bytes = 0;
    let last: number | undefined;
    let more = false;
    let skipped = 0;
    for (const c of this.matches(q, page.order, startAfter, opts)) {
      if (skip > 0) {
        skip--;
        // Skipping is work too (an offset far into a wide range).
        if (++skipped % CHUNK === 0) checkDeadline(opts);
        continue;
      }
      if (docs.length === page.size || (docs.length > 0 && bytes + c.doc.length > maxBytes)) {
        more = true;
        break;
      }
      docs.push(c.doc);
      bytes += c.doc.length;
      last = c.rowid;
    }
    return more && last !== undefined ? { docs, cursor: encodeCursor(last) } : { docs };
  }

  count(q: SearchQuery, opts: ReadOptions = {}): number {
    let n = 0;
    if (q.query.type === "all") {
      // All events: whole minutes from the roll-up, the ragged ends counted directly.
      for (const { db, minutes, edges } of this.minuteSpans(q)) {
        checkDeadline(opts);
        if (minutes) n += db.prepare("SELECT coalesce(sum(n), 0) FROM rollup WHERE field = '*' AND minute BETWEEN ? AND ?").pluck().get(minutes[0], minutes[1]) as number;
        const direct = db.prepare("SELECT count(*) FROM events WHERE rowid BETWEEN ? AND ?").pluck();
        for (const [a, b] of edges) n += direct.get(a, b) as number;
      }
      return n;
    }
    const plans = new Plans(q.query);
    for (const { db, lo, hi } of this.sliceRanges(q)) {
      const plan = plans.of(db);
      if (plan.exact && plan.expr !== null) {
        checkDeadline(opts);
        n += db.prepare("SELECT count(*) FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ?").pluck().get(plan.expr, lo, hi) as number;
      } else {
        for (const _ of this.sliceMatches(db, plan, q, lo, hi, "desc", opts)) n++;
      }
    }
    return n;
  }

  /** Each slice the query's range touches, with the part of the range inside it (rowids). */
  private *sliceRanges(q: SearchQuery): Generator<{ db: Database.Database; lo: number; hi: number }> {
    const [lo, hi] = rowidRange(q.from, q.until);
    for (const slice of this.slices(q.tenant, q.from, q.until)) {
      const slo = Math.max(lo, slice.start * 1000);
      const shi = Math.min(hi, slice.end * 1000 - 1);
      if (slo > shi) continue;
      const lease = this.db(q.tenant, slice);
      try {
        yield { db: lease.value, lo: slo, hi: shi };
      } finally {
        lease.release();
      }
    }
  }

  /**
   * The query's range in each slice it touches, split into the whole minutes the roll-up answers and
   * the ragged ends (rowid ranges) that must be read event by event.
   */
  private *minuteSpans(q: SearchQuery): Generator<{ db: Database.Database; minutes: [number, number] | undefined; edges: [number, number][] }> {
    for (const { db, lo, hi } of this.sliceRanges(q)) yield { db, ...byWholeMinutes(lo, hi) };
  }

  histogram(q: SearchQuery, intervalMs: number, opts: ReadOptions = {}): HistogramBucket[] {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new RangeError(`a histogram interval is a whole number of milliseconds, not ${intervalMs}`);
    const first = Math.floor(q.from / intervalMs) * intervalMs;
    if (q.until >= first && Math.floor((q.until - first) / intervalMs) + 1 > MAX_HISTOGRAM_BUCKETS) {
      throw new RangeError(`a histogram has at most ${MAX_HISTOGRAM_BUCKETS} buckets: an interval of ${intervalMs} ms over this range gives more`);
    }
    const plans = new Plans(q.query);
    const buckets = new Map<number, number>();
    const add = (time: number, count: number) => buckets.set(time, (buckets.get(time) ?? 0) + count);
    // Rowids per bucket. Bound as an INTEGER in the statements below: a JavaScript number binds as a REAL,
    // and `rowid / 60000000.0` made one group per event (SQLite's GROUP BY then built a group for each of a
    // common term's 167k hits over a day: 130-305 ms at 10M events, against 24-30 with whole buckets).
    const width = intervalMs * 1000;
    if (q.query.type === "all" && intervalMs % 60_000 === 0) {
      for (const { db, minutes, edges } of this.minuteSpans(q)) {
        checkDeadline(opts);
        if (minutes) {
          const perMinute = db.prepare("SELECT minute, n FROM rollup WHERE field = '*' AND value = '' AND minute BETWEEN ? AND ?").all(minutes[0], minutes[1]) as { minute: number; n: number }[];
          for (const r of perMinute) add(Math.floor((r.minute * 60_000) / intervalMs) * intervalMs, r.n);
        }
        const edge = db.prepare("SELECT rowid / CAST(? AS INTEGER) AS b, count(*) AS n FROM events WHERE rowid BETWEEN ? AND ? GROUP BY b");
        for (const [a, b] of edges) for (const r of edge.all(width, a, b) as { b: number; n: number }[]) add(Math.floor(r.b) * intervalMs, r.n);
      }
    } else {
      for (const { db, lo, hi } of this.sliceRanges(q)) {
        const plan = plans.of(db);
        if (plan.never) continue;
        if (!plan.exact) {
          for (const c of this.sliceMatches(db, plan, q, lo, hi, "desc", opts)) add(Math.floor(c.rowid / width) * intervalMs, 1);
          continue;
        }
        const stmt =
          plan.expr === null
            ? db.prepare("SELECT rowid / CAST(? AS INTEGER) AS b, count(*) AS n FROM events WHERE rowid BETWEEN ? AND ? GROUP BY b")
            : db.prepare("SELECT rowid / CAST(? AS INTEGER) AS b, count(*) AS n FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ? GROUP BY b");
        for (const [a, b] of plan.expr === null ? pieces(lo, hi) : [[lo, hi]]) {
          checkDeadline(opts);
          const rows = (plan.expr === null ? stmt.all(width, a, b) : stmt.all(width, plan.expr, a, b)) as { b: number; n: number }[];
          for (const r of rows) add(Math.floor(r.b) * intervalMs, r.n);
        }
      }
    }
    // Every bucket of the range, empty ones included, oldest first: what a chart needs.
    const out: HistogramBucket[] = [];
    for (let t = first; t <= q.until; t += intervalMs) out.push({ time: t, count: buckets.get(t) ?? 0 });
    return out;
  }

  /**
   * The top values of a field, case folded as term queries compare them (see FacetTally): each event
   * counts once per value. Unfiltered facets on roll-up fields read the per-minute roll-up; others count
   * the newest FACET_SAMPLE matching events and say so.
   */
  facet(q: SearchQuery, field: string, size: number, opts: ReadOptions = {}): FacetResult {
    const tally = new FacetTally();
    const countEvent = (event: LogEvent) => {
      const seen = new Set<string>();
      for (const v of values(event, field)) {
        const key = facetKey(v);
        if (seen.has(key)) continue;
        seen.add(key);
        tally.add(v, 1);
      }
    };
    let sampled = false;
    if (q.query.type === "all" && ROLLUP.has(field)) {
      for (const { db, minutes, edges } of this.minuteSpans(q)) {
        if (minutes) {
          const stmt = db.prepare("SELECT value, sum(n) AS n FROM rollup WHERE field = ? AND minute BETWEEN ? AND ? GROUP BY value");
          for (const [a, b] of pieces(minutes[0], minutes[1], 60)) {
            checkDeadline(opts);
            for (const r of stmt.iterate(field, a, b) as Iterable<{ value: string; n: number }>) tally.add(rollupTerm(r.value), r.n);
          }
        }
        // The ragged ends, event by event.
        const docs = new DocReader(db);
        for (const [a, b] of edges) {
          checkDeadline(opts);
          for (const doc of docs.range(a, b)) countEvent(JSON.parse(doc) as LogEvent);
        }
      }
    } else {
      let seen = 0;
      for (const c of this.matches(q, "desc", undefined, opts)) {
        if (++seen > FACET_SAMPLE) {
          sampled = true;
          break;
        }
        countEvent(c.event ?? (JSON.parse(c.doc) as LogEvent));
      }
    }
    return { terms: tally.top(size), sampled, distinct: tally.distinct, distinctExact: tally.complete && !sampled };
  }

  /**
   * Numeric aggregates of a field (core's NumericTally) over the newest FACET_SAMPLE matching events,
   * each counting once per distinct numeric value; `exact` is false when there were more events.
   */
  stats(q: SearchQuery, field: string, opts: ReadOptions = {}): NumericStats {
    const tally = new NumericTally();
    let seen = 0;
    let sampled = false;
    for (const c of this.matches(q, "desc", undefined, opts)) {
      if (++seen > FACET_SAMPLE) {
        sampled = true;
        break;
      }
      const distinct = new Set<number>();
      for (const v of values(c.event ?? (JSON.parse(c.doc) as LogEvent), field)) {
        const n = numericValue(v, isNumericLiteral);
        if (n !== undefined) distinct.add(n === 0 ? 0 : n);
      }
      for (const n of distinct) tally.add(n);
    }
    return tally.stats(!sampled);
  }

  /** Field names of the matching events, sorted, at most MAX_FIELD_NAMES + 1 (one more says "there are more"). */
  fields(q: SearchQuery, opts: ReadOptions = {}): string[] {
    const limit = MAX_FIELD_NAMES + 1;
    const names = new Set<string>();
    if (q.query.type === "all") {
      for (const slice of this.slices(q.tenant, q.from, q.until)) {
        checkDeadline(opts);
        const lease = this.db(q.tenant, slice);
        try {
          for (const n of lease.value.prepare("SELECT name FROM fieldnames ORDER BY name LIMIT ?").pluck().all(limit) as string[]) names.add(n);
        } finally {
          lease.release();
        }
      }
      return [...names].sort().slice(0, limit);
    }
    let seen = 0;
    for (const c of this.matches(q, "desc", undefined, opts)) {
      if (++seen > FIELDS_SAMPLE || names.size >= limit) break;
      for (const [p] of flattenFields(c.event ?? (JSON.parse(c.doc) as LogEvent))) {
        names.add(p);
        if (names.size >= limit) break;
      }
    }
    return [...names].sort();
  }

  close(): void {
    this.open.closeAll();
  }
}

/**
 * A query compiled once for each FTS layout it meets: a range of time may cover slices made before and
 * after a layout change (schema.ts FtsLayout), each answered in its own.
 */
class Plans {
  private readonly byLayout = new Map<FtsLayout, FtsPlan>();
  constructor(private readonly query: Query) {}

  of(db: Database.Database): FtsPlan {
    const layout = ftsLayoutOf(db);
    let plan = this.byLayout.get(layout);
    if (plan === undefined) this.byLayout.set(layout, (plan = compileFts(this.query, layout)));
    return plan;
  }
}

function checkDeadline(opts: ReadOptions): void {
  opts.between?.();
  if (opts.deadline !== undefined && Date.now() > opts.deadline) {
    throw new QueryBudgetError("time", "the query took longer than a query may: narrow the time range or the query");
  }
}

/** [lo, hi] cut into consecutive ranges of at most `step` (rowids, or minutes). */
function* pieces(lo: number, hi: number, step = SPAN): Generator<[number, number]> {
  for (let a = lo; a <= hi; a += step) yield [a, Math.min(hi, a + step - 1)];
}

/**
 * A rowid range cut into the whole minutes it covers (served by the per-minute roll-up) and the ragged
 * rowid ranges at either end (read event by event).
 */
function byWholeMinutes(lo: number, hi: number): { minutes: [number, number] | undefined; edges: [number, number][] } {
  const first = Math.ceil(lo / 60_000_000);
  const last = Math.floor((hi + 1) / 60_000_000) - 1;
  if (first > last) return { minutes: undefined, edges: [[lo, hi]] };
  const edges: [number, number][] = [];
  if (lo < first * 60_000_000) edges.push([lo, first * 60_000_000 - 1]);
  if (hi >= (last + 1) * 60_000_000) edges.push([(last + 1) * 60_000_000, hi]);
  return { minutes: [first, last], edges };
}

/** Scalar values of a field in an event (arrays give each element). */
function values(event: LogEvent, field: string): (string | number | boolean)[] {
  const out: (string | number | boolean)[] = [];
  for (const v of resolveField(event, field)) if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(v);
  return out;
}

/** Decodes a roll-up value (see rollupValue in writer.ts) to the term as the events have it. */
function rollupTerm(value: string): string | number | boolean {
  const body = value.slice(1);
  if (value[0] === "n") return Number(body);
  if (value[0] === "b") return body === "true";
  return body;
}

function encodeCursor(rowid: number): string {
  return rowid.toString(36);
}

/** The rowid a cursor of encodeCursor names; anything else is an InvalidCursorError. */
export function decodeCursor(cursor: string): number {
  if (typeof cursor !== "string" || !/^[0-9a-z]{1,12}$/.test(cursor)) throw new InvalidCursorError("not a cursor this index made");
  const n = Number.parseInt(cursor, 36);
  if (!Number.isSafeInteger(n) || n > MAX_ROWID) throw new InvalidCursorError("not a cursor this index made");
  return n;
}
