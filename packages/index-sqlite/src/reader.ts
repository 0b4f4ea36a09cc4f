import { readdirSync, existsSync } from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { matchesEvent, resolveField, type FacetResult, type HistogramBucket, type LogEvent, type SearchPage, type SearchQuery, type SearchResult } from "@unmeltable/core";
import { compileFts, type FtsPlan } from "./fts-compile";
import { openSlice, ROLLUP_FIELDS, rowidRange } from "./schema";
import { overlapping, parseSliceName, type Slice } from "./slices";

const ROLLUP = new Set<string>(ROLLUP_FIELDS);
const CHUNK = 500;
/** Facets over a filtered search count the newest this-many matches, and say so. */
export const FACET_SAMPLE = 100_000;
const MAX_OPEN = 64;

interface Candidate {
  rowid: number;
  event: LogEvent;
}

/**
 * Searches a tenant's slices: only the files overlapping the time range are opened, newest first, and a
 * tenant's directory is the only place its queries look — tenants are isolated by construction.
 */
export class IndexReader {
  private readonly open = new Map<string, Database.Database>();

  constructor(private readonly root: string) {}

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

  private db(tenant: string, slice: Slice): Database.Database {
    const key = `${tenant}/${slice.name}`;
    let db = this.open.get(key);
    if (db) {
      this.open.delete(key);
      this.open.set(key, db);
      return db;
    }
    if (this.open.size >= MAX_OPEN) {
      const [oldest, old] = this.open.entries().next().value as [string, Database.Database];
      old.close();
      this.open.delete(oldest);
    }
    db = openSlice(path.join(this.root, tenant, `${slice.name}.db`), true);
    this.open.set(key, db);
    return db;
  }

  /** Forgets an open connection (its file is about to be deleted). */
  closeSlice(tenant: string, sliceName: string): void {
    const key = `${tenant}/${sliceName}`;
    this.open.get(key)?.close();
    this.open.delete(key);
  }

  /**
   * Walks the matching events in time order (newest first unless asc), slice by slice, in chunks:
   * off the FTS posting lists when the query compiles to FTS, else over the events table; checks each
   * candidate against the reference semantics when the FTS condition is not exact.
   */
  *matches(q: SearchQuery, order: "asc" | "desc" = "desc", startAfter?: number): Generator<Candidate> {
    const plan = compileFts(q.query);
    if (plan.never) return;
    let [lo, hi] = rowidRange(q.from, q.until);
    if (startAfter !== undefined) {
      if (order === "desc") hi = Math.min(hi, startAfter - 1);
      else lo = Math.max(lo, startAfter + 1);
    }
    const slices = this.slices(q.tenant, q.from, q.until);
    if (order === "asc") slices.reverse();
    for (const slice of slices) {
      const db = this.db(q.tenant, slice);
      const [slo, shi] = [Math.max(lo, slice.start * 1000), Math.min(hi, slice.end * 1000 - 1)];
      if (slo > shi) continue;
      yield* this.sliceMatches(db, plan, q, slo, shi, order);
    }
  }

  private *sliceMatches(db: Database.Database, plan: FtsPlan, q: SearchQuery, lo: number, hi: number, order: "asc" | "desc"): Generator<Candidate> {
    const dir = order === "desc" ? "DESC" : "ASC";
    const docOf = db.prepare("SELECT doc FROM events WHERE rowid = ?").pluck();
    if (plan.expr !== null) {
      const stmt = db.prepare(`SELECT rowid FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rowid ${dir} LIMIT ${CHUNK}`).pluck();
      let [a, b] = [lo, hi];
      for (;;) {
        const rowids = stmt.all(plan.expr, a, b) as number[];
        for (const rowid of rowids) {
          const doc = docOf.get(rowid) as string | undefined;
          if (doc === undefined) continue;
          const event = JSON.parse(doc) as LogEvent;
          if (plan.exact || matchesEvent(q.query, event)) yield { rowid, event };
        }
        if (rowids.length < CHUNK) return;
        if (order === "desc") b = rowids[rowids.length - 1]! - 1;
        else a = rowids[rowids.length - 1]! + 1;
      }
    }
    const stmt = db.prepare(`SELECT rowid, doc FROM events WHERE rowid BETWEEN ? AND ? ORDER BY rowid ${dir} LIMIT ${CHUNK}`);
    let [a, b] = [lo, hi];
    for (;;) {
      const rows = stmt.all(a, b) as { rowid: number; doc: string }[];
      for (const row of rows) {
        const event = JSON.parse(row.doc) as LogEvent;
        if (plan.exact || matchesEvent(q.query, event)) yield { rowid: row.rowid, event };
      }
      if (rows.length < CHUNK) return;
      if (order === "desc") b = rows[rows.length - 1]!.rowid - 1;
      else a = rows[rows.length - 1]!.rowid + 1;
    }
  }

  search(q: SearchQuery, page: SearchPage): SearchResult {
    const startAfter = page.cursor !== undefined ? decodeCursor(page.cursor) : undefined;
    let skip = page.offset ?? 0;
    const events: LogEvent[] = [];
    let last: number | undefined;
    let more = false;
    for (const c of this.matches(q, page.order, startAfter)) {
      if (skip > 0) {
        skip--;
        continue;
      }
      if (events.length === page.size) {
        more = true;
        break;
      }
      events.push(c.event);
      last = c.rowid;
    }
    return more && last !== undefined ? { events, cursor: encodeCursor(last) } : { events };
  }

  count(q: SearchQuery): number {
    const plan = compileFts(q.query);
    if (plan.never) return 0;
    const [lo, hi] = rowidRange(q.from, q.until);
    let n = 0;
    if (q.query.type === "all") {
      // All events: whole minutes from the roll-up, the ragged ends counted directly.
      for (const { db, minutes, edges } of this.minuteSpans(q)) {
        if (minutes) n += db.prepare("SELECT coalesce(sum(n), 0) FROM rollup WHERE field = '*' AND minute BETWEEN ? AND ?").pluck().get(minutes[0], minutes[1]) as number;
        const direct = db.prepare("SELECT count(*) FROM events WHERE rowid BETWEEN ? AND ?").pluck();
        for (const [a, b] of edges) n += direct.get(a, b) as number;
      }
      return n;
    }
    if (plan.exact && plan.expr !== null) {
      for (const slice of this.slices(q.tenant, q.from, q.until)) {
        const db = this.db(q.tenant, slice);
        n += db.prepare("SELECT count(*) FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ?").pluck().get(plan.expr, lo, hi) as number;
      }
      return n;
    }
    for (const _ of this.matches(q)) n++;
    return n;
  }

  /**
   * The query's range in each slice it touches, split into the whole minutes the roll-up answers and
   * the ragged ends (rowid ranges) that must be read event by event.
   */
  private *minuteSpans(q: SearchQuery): Generator<{ db: Database.Database; minutes: [number, number] | undefined; edges: [number, number][] }> {
    const [lo, hi] = rowidRange(q.from, q.until);
    for (const slice of this.slices(q.tenant, q.from, q.until)) {
      const slo = Math.max(lo, slice.start * 1000);
      const shi = Math.min(hi, slice.end * 1000 - 1);
      if (slo <= shi) yield { db: this.db(q.tenant, slice), ...byWholeMinutes(slo, shi) };
    }
  }

  histogram(q: SearchQuery, intervalMs: number): HistogramBucket[] {
    const plan = compileFts(q.query);
    const buckets = new Map<number, number>();
    const add = (time: number, count: number) => buckets.set(time, (buckets.get(time) ?? 0) + count);
    const [lo, hi] = rowidRange(q.from, q.until);
    const width = intervalMs * 1000;
    if (!plan.never) {
      if (q.query.type === "all" && intervalMs % 60_000 === 0) {
        for (const { db, minutes, edges } of this.minuteSpans(q)) {
          if (minutes) {
            const perMinute = db.prepare("SELECT minute, n FROM rollup WHERE field = '*' AND value = '' AND minute BETWEEN ? AND ?").all(minutes[0], minutes[1]) as { minute: number; n: number }[];
            for (const r of perMinute) add(Math.floor((r.minute * 60_000) / intervalMs) * intervalMs, r.n);
          }
          const edge = db.prepare("SELECT rowid / ? AS b, count(*) AS n FROM events WHERE rowid BETWEEN ? AND ? GROUP BY b");
          for (const [a, b] of edges) for (const r of edge.all(width, a, b) as { b: number; n: number }[]) add(Math.floor(r.b) * intervalMs, r.n);
        }
      } else if (plan.exact) {
        for (const slice of this.slices(q.tenant, q.from, q.until)) {
          const db = this.db(q.tenant, slice);
          const rows =
            plan.expr === null
              ? (db.prepare("SELECT rowid / ? AS b, count(*) AS n FROM events WHERE rowid BETWEEN ? AND ? GROUP BY b").all(width, lo, hi) as { b: number; n: number }[])
              : (db.prepare("SELECT rowid / ? AS b, count(*) AS n FROM fts WHERE fts MATCH ? AND rowid BETWEEN ? AND ? GROUP BY b").all(width, plan.expr, lo, hi) as { b: number; n: number }[]);
          for (const r of rows) add(Math.floor(r.b) * intervalMs, r.n);
        }
      } else {
        for (const c of this.matches(q)) add(Math.floor(c.rowid / width) * intervalMs, 1);
      }
    }
    // Every bucket of the range, empty ones included, oldest first: what a chart needs.
    const out: HistogramBucket[] = [];
    for (let t = Math.floor(q.from / intervalMs) * intervalMs; t <= q.until; t += intervalMs) out.push({ time: t, count: buckets.get(t) ?? 0 });
    return out;
  }

  facet(q: SearchQuery, field: string, size: number): FacetResult {
    const counts = new Map<string, { term: string | number | boolean; count: number }>();
    const add = (term: string | number | boolean, n: number) => {
      const key = `${typeof term}:${String(term)}`;
      const c = counts.get(key);
      if (c) c.count += n;
      else counts.set(key, { term, count: n });
    };
    let sampled = false;
    if (q.query.type === "all" && ROLLUP.has(field)) {
      for (const { db, minutes, edges } of this.minuteSpans(q)) {
        if (minutes) {
          const rows = db.prepare("SELECT value, sum(n) AS n FROM rollup WHERE field = ? AND minute BETWEEN ? AND ? GROUP BY value").all(field, minutes[0], minutes[1]) as { value: string; n: number }[];
          for (const r of rows) add(rollupTerm(r.value), r.n);
        }
        // The ragged ends, event by event.
        const stmt = db.prepare("SELECT doc FROM events WHERE rowid BETWEEN ? AND ?").pluck();
        for (const [a, b] of edges) for (const doc of stmt.iterate(a, b) as Iterable<string>) for (const v of values(JSON.parse(doc) as LogEvent, field)) add(v, 1);
      }
    } else {
      let seen = 0;
      for (const c of this.matches(q)) {
        if (++seen > FACET_SAMPLE) {
          sampled = true;
          break;
        }
        for (const v of values(c.event, field)) add(v, 1);
      }
    }
    const terms = [...counts.values()].sort((a, b) => b.count - a.count || String(a.term).localeCompare(String(b.term))).slice(0, size);
    return { terms, sampled };
  }

  fields(q: SearchQuery): string[] {
    const names = new Set<string>();
    if (q.query.type === "all") {
      for (const slice of this.slices(q.tenant, q.from, q.until)) {
        for (const n of this.db(q.tenant, slice).prepare("SELECT name FROM fieldnames").pluck().all() as string[]) names.add(n);
      }
    } else {
      let seen = 0;
      for (const c of this.matches(q)) {
        if (++seen > 10_000) break;
        for (const n of fieldNamesOf(c.event)) names.add(n);
      }
    }
    return [...names].sort();
  }

  close(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
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
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(v);
  };
  visit(resolveField(event, field));
  return out;
}

function fieldNamesOf(event: LogEvent): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach((x) => walk(prefix, x));
    else if (typeof v === "object") for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    else out.push(prefix);
  };
  walk("", event.event);
  if (event.tags.length > 0) out.push("tag");
  if (event.logtypes.length > 0) out.push("logtype");
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

function decodeCursor(cursor: string): number {
  const n = Number.parseInt(cursor, 36);
  if (!Number.isSafeInteger(n)) throw new Error("invalid cursor");
  return n;
}
