import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseQuery } from "@unmeltable/core";
import { EmbeddedIndex, IndexWriter } from "@unmeltable/index-sqlite";
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
