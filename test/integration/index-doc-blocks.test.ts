import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseQuery } from "@unmeltable/core";
import { EmbeddedIndex, IndexWriter } from "@unmeltable/index-sqlite";
import { decodeBlock, DICT_MIN_DOCS, dictionaries, encodeBlock } from "../../packages/index-sqlite/src/doc-blocks";
import { SLICE_PAGE_SIZE } from "../../packages/index-sqlite/src/schema";
import { makeEvent } from "../contract/index.contract";

// Events are stored compressed in blocks (packages/index-sqlite/src/doc-blocks.ts); slices written
// before keep one `events.doc` per event and must stay readable and writable as they are.
const BASE = Date.UTC(2026, 0, 5, 12, 0, 0);

describe("embedded index: stored documents in compressed blocks, and slices of the older layout", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-blocks-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const events = (from: number, n: number, word: string) =>
    Array.from({ length: n }, (_, i) => makeEvent("t1", BASE + (from + i) * 997, { logmsg: `${word} number ${from + i}`, host: `web-${(from + i) % 3}` }));

  async function everything(): Promise<{ ids: string[]; count: number }> {
    const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" });
    try {
      const q = { tenant: "t1", query: parseQuery("*"), from: BASE - 1, until: BASE + 10_000_000 };
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await index.search(q, { order: "asc", size: 70, cursor });
        ids.push(...page.events.map((e) => e.id));
        cursor = page.cursor;
      } while (cursor !== undefined);
      return { ids, count: await index.count(q) };
    } finally {
      await index.close();
    }
  }

  it("gives back every event, whole, in time order, across many blocks", async () => {
    const writer = new IndexWriter(dir, () => "day");
    const written = events(0, 500, "alpha");
    // Out of order across batches: blocks of different batches overlap in time.
    writer.write("t1", written.filter((_, i) => i % 2 === 0).map((e) => JSON.stringify(e)));
    writer.write("t1", written.filter((_, i) => i % 2 === 1).map((e) => JSON.stringify(e)));
    writer.close();
    const { ids, count } = await everything();
    expect(ids).toEqual(written.map((e) => e.id));
    expect(count).toBe(500);
    const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" });
    try {
      const hit = await index.search({ tenant: "t1", query: parseQuery('"alpha number 321"'), from: BASE - 1, until: BASE + 10_000_000 }, { order: "desc", size: 10 });
      expect(hit.events).toEqual([written[321]]);
      const facet = await index.facet({ tenant: "t1", query: parseQuery("alpha"), from: BASE - 1, until: BASE + 10_000_000 }, "syslog.host", 5);
      expect(facet.terms.reduce((n, t) => n + t.count, 0)).toBe(500);
    } finally {
      await index.close();
    }
    const db = new Database(path.join(dir, "t1", readdirSync(path.join(dir, "t1")).find((f) => f.endsWith(".db"))!), { readonly: true });
    expect((db.prepare("SELECT count(*) AS n FROM docs").get() as { n: number }).n).toBeGreaterThan(1);
    db.close();
  });

  // Document layouts, each with the search terms' and ids' layouts (schema.ts) of its time and today's.
  for (const [layout, fts, ids] of [["blocks", "keyed", "table"], ["blocks", "one", "table"], ["blocks", "two", "column"], ["rows", "two", "column"]] as const) {
    it(`stores events again in place (replay --rederive), in a slice of ${layout}, FTS layout ${fts}, ids in a ${ids}: old terms, counts and documents go`, async () => {
      const writer = new IndexWriter(dir, () => "day", { layout, fts, ids });
      // A repeated id is stored once, in the same batch or a later one.
      const twice = makeEvent("t1", BASE + 7, { logmsg: "gamma twice" });
      expect(writer.write("t1", [twice, twice].map((e) => JSON.stringify(e)))).toEqual([{ status: "created" }, { status: "exists" }]);
      expect(writer.write("t1", [JSON.stringify(twice)])).toEqual([{ status: "exists" }]);
      const written = Array.from({ length: 200 }, (_, i) => makeEvent("t1", BASE + i * 997, { logmsg: `gamma ${i}`, host: `web-${i % 3}`, json: { old: "yes", n: i } }));
      writer.write("t1", written.map((e) => JSON.stringify(e)));
      // Every other event again, as a replay with a derived-field rule makes it: same id, time and text.
      const again = written.filter((_, i) => i % 2 === 0).map((e, k) => ({ ...e, event: { ...e.event, json: { new: "yes", n: k * 2 } as never, derived: { ms: k } } }));
      const unknown = makeEvent("t1", BASE + 5, { logmsg: "gamma new" });
      const results = writer.replace("t1", [...again, unknown].map((e) => JSON.stringify(e)));
      writer.close();
      expect(results.filter((r) => r.status === "created" && (r as { replaced?: boolean }).replaced)).toHaveLength(100);
      expect(results.at(-1)).toEqual({ status: "created" });

      const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" });
      try {
        const q = (text: string) => ({ tenant: "t1", query: parseQuery(text), from: BASE - 1, until: BASE + 10_000_000 });
        expect(await index.count(q("*"))).toBe(202);
        expect(await index.count(q("json.old:yes"))).toBe(100); // the replaced events' old field tokens are gone
        expect(await index.count(q("json.new:yes"))).toBe(100);
        expect(await index.count(q("derived.ms:>=0"))).toBe(100);
        expect(await index.count(q("gamma"))).toBe(202);
        const all = await index.search(q("*"), { order: "asc", size: 300 });
        expect(all.events.map((e) => e.id).sort()).toEqual([...written.map((e) => e.id), unknown.id, twice.id].sort());
        expect(all.events.find((e) => e.id === written[4]!.id)!.event).toMatchObject({ json: { new: "yes", n: 4 }, derived: { ms: 2 } });
        // Roll-up counts (unfiltered facet and histogram) and a facet read from the stored documents agree.
        const hosts = await index.facet(q("*"), "syslog.host", 5);
        expect(hosts.terms.reduce((n, t) => n + t.count, 0)).toBe(202);
        const histogram = await index.histogram(q("*"), 3_600_000);
        expect(histogram.reduce((n, b) => n + b.count, 0)).toBe(202);
        const olds = await index.facet(q("gamma"), "json.old", 5);
        expect(olds.terms).toEqual([{ term: "yes", count: 100 }]);
      } finally {
        await index.close();
      }
      const db = new Database(path.join(dir, "t1", readdirSync(path.join(dir, "t1")).find((f) => f.endsWith(".db"))!));
      expect(() => db.prepare("INSERT INTO fts (fts) VALUES ('integrity-check')").run()).not.toThrow();
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      // The slice was made in the layout asked for, with today's page size.
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('ids', 'docs')").pluck().all();
      expect(tables.sort()).toEqual([...(layout === "blocks" ? ["docs"] : []), ...(layout === "blocks" && ids === "table" ? ["ids"] : [])].sort());
      expect(db.pragma("page_size", { simple: true })).toBe(SLICE_PAGE_SIZE);
      // Every stored row has its id, and no id is left without its row.
      const counts = ids === "table" && layout === "blocks" ? ["SELECT count(*) FROM ids JOIN events USING (rowid)", "SELECT count(*) FROM ids", "SELECT count(*) FROM events"] : ["SELECT count(*) FROM events"];
      expect(counts.map((sql) => db.prepare(sql).pluck().get())).toEqual(counts.map(() => 202));
      db.close();
    });
  }

  const sliceFile = () => path.join(dir, "t1", readdirSync(path.join(dir, "t1")).find((f) => f.endsWith(".db"))!);
  /** The slice's blocks by codec (byte 0), and its dictionaries' ids. */
  function blocksOf(): { codecs: number[]; dicts: number[]; blocks: { first: number; data: Buffer }[] } {
    const db = new Database(sliceFile(), { readonly: true });
    try {
      const blocks = db.prepare("SELECT first, data FROM docs ORDER BY first").all() as { first: number; data: Buffer }[];
      return { codecs: blocks.map((b) => b.data[0]!), dicts: db.prepare("SELECT id FROM dicts ORDER BY id").pluck().all() as number[], blocks };
    } finally {
      db.close();
    }
  }

  it("compresses blocks with the slice's dictionary once a batch is big enough, and reads the blocks made before it", async () => {
    const first = new IndexWriter(dir, () => "day");
    const few = events(0, DICT_MIN_DOCS - 1, "delta");
    first.write("t1", few.map((e) => JSON.stringify(e)));
    expect(blocksOf()).toMatchObject({ dicts: [] });
    expect(new Set(blocksOf().codecs)).toEqual(new Set([1]));
    const many = events(DICT_MIN_DOCS - 1, 400, "delta");
    first.write("t1", many.map((e) => JSON.stringify(e)));
    first.close();
    // A writer opened afresh keeps using the slice's dictionary: no second one.
    const again = new IndexWriter(dir, () => "day");
    const more = events(DICT_MIN_DOCS - 1 + 400, 100, "delta");
    again.write("t1", more.map((e) => JSON.stringify(e)));
    again.close();
    const { codecs, dicts, blocks } = blocksOf();
    expect(dicts).toHaveLength(1);
    expect(codecs.filter((c) => c === 2).length).toBeGreaterThan(10);
    expect(codecs.filter((c) => c === 1).length).toBeGreaterThan(0);

    const all = [...few, ...many, ...more];
    const { ids, count } = await everything();
    expect(ids).toEqual(all.map((e) => e.id));
    expect(count).toBe(all.length);
    const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" });
    try {
      for (const n of [3, DICT_MIN_DOCS + 100, DICT_MIN_DOCS + 450]) {
        const hit = await index.search({ tenant: "t1", query: parseQuery(`"delta number ${n}"`), from: BASE - 1, until: BASE + 10_000_000 }, { order: "desc", size: 10 });
        expect(hit.events).toEqual([all[n]]);
      }
    } finally {
      await index.close();
    }
    // The dictionary earns its place: the same blocks deflated without it take more bytes.
    const db = new Database(sliceFile(), { readonly: true });
    try {
      const dictionary = dictionaries(db);
      let withDict = 0;
      let without = 0;
      for (const b of blocks.filter((x) => x.data[0] === 2)) {
        const { rowids, docs } = decodeBlock(b.first, b.data, dictionary);
        withDict += b.data.length;
        without += encodeBlock(rowids, docs).length;
      }
      expect(withDict).toBeLessThan(without * 0.95);
    } finally {
      db.close();
    }
  });

  it("uses a dictionary made inside a replay's transaction for the blocks written after it", () => {
    const writer = new IndexWriter(dir, () => "day");
    const few = events(0, 10, "eps");
    writer.write("t1", few.map((e) => JSON.stringify(e)));
    // The replay's batch is the slice's first big one: its dictionary is made inside replace()'s transaction.
    const replay = [...few, ...events(10, 100, "eps")].map((e) => ({ ...e, event: { ...e.event, derived: { again: true } } }));
    expect(writer.replace("t1", replay.map((e) => JSON.stringify(e))).every((r) => r.status === "created")).toBe(true);
    writer.write("t1", events(110, 100, "eps").map((e) => JSON.stringify(e)));
    writer.close();
    const { dicts, codecs } = blocksOf();
    expect(dicts).toHaveLength(1);
    expect(codecs.at(-1)).toBe(2);
  });

  it("keeps reading and writing a slice made with one document per row", async () => {
    const old = new IndexWriter(dir, () => "day", { layout: "rows" });
    const first = events(0, 120, "beta");
    old.write("t1", first.map((e) => JSON.stringify(e)));
    old.close();
    // Today's writer (blocks by default) writes into the same day slice: it keeps that slice's layout.
    const writer = new IndexWriter(dir, () => "day");
    const second = events(120, 80, "beta");
    writer.write("t1", second.map((e) => JSON.stringify(e)));
    // Writing an event again stores it once, in either layout.
    expect(writer.write("t1", [JSON.stringify(first[5])])).toEqual([{ status: "exists" }]);
    writer.close();
    const { ids, count } = await everything();
    expect(ids).toEqual([...first, ...second].map((e) => e.id));
    expect(count).toBe(200);
  });
});
