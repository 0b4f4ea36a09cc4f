/**
 * The slices' FTS layouts (packages/index-sqlite/src/schema.ts FtsLayout): new slices keep text and field
 * tokens in one column with value tokens keyed by their path ("keyed"), slices made before keep them in one
 * column with an exists token per path ("one") or in two ("two"). All answer every query with the reference
 * semantics (core's matchesEvent, as worked out by hand in the query-language corpus), also when one time
 * range covers slices of each; field tokens never meet the words of a text.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { matchesEvent, parseQuery, type LogEvent } from "@unmeltable/core";
import { EmbeddedIndex, IndexReader, IndexWriter, prepareWrite } from "@unmeltable/index-sqlite";
import { existsToken, keyedValueToken, valueToken } from "../../packages/index-sqlite/src/field-tokens";
import type { FtsLayout } from "../../packages/index-sqlite/src/schema";
import { loadQueryCorpus, makeEvent } from "../contract/index.contract";

const DAY = 86_400_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-fts-layouts-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (fts: FtsLayout, tenant: string, events: LogEvent[]) => {
  const writer = new IndexWriter(dir, () => "day", { fts });
  try {
    expect(writer.write(tenant, events.map((e) => JSON.stringify(e))).map((r) => r.status)).toEqual(events.map(() => "created"));
  } finally {
    writer.close();
  }
};

const ftsSqlOf = (tenant: string): string[] =>
  readdirSync(path.join(dir, tenant))
    .filter((f) => f.endsWith(".db"))
    .sort()
    .map((f) => {
      const db = new Database(path.join(dir, tenant, f), { readonly: true });
      try {
        return db.prepare("SELECT sql FROM sqlite_master WHERE name = 'fts'").pluck().get() as string;
      } finally {
        db.close();
      }
    });

/** Every corpus query's hits, count and histogram total from the reader; the differences from `expected`. */
function differences(reader: IndexReader, tenant: string, from: number, until: number, cases: { query: string; expected: string[] }[]): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const q = { tenant, query: parseQuery(c.query), from, until };
    const got = reader.search(q, { order: "desc", size: 1000 }).events.map((e) => e.id).sort();
    const count = reader.count(q);
    const histogram = reader.histogram(q, 3_600_000).reduce((n, b) => n + b.count, 0);
    const want = [...c.expected].sort();
    if (JSON.stringify(got) !== JSON.stringify(want) || count !== want.length || histogram !== want.length) {
      out.push(`${c.query}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)} (count ${count}, histogram ${histogram})`);
    }
  }
  return out;
}

/** The distinct terms of a tenant's slice (FTS5's vocabulary table over it). */
function termsOf(tenant: string): Set<string> {
  const [file] = readdirSync(path.join(dir, tenant)).filter((f) => f.endsWith(".db"));
  const db = new Database(path.join(dir, tenant, file!));
  try {
    db.exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, 'row')");
    return new Set(db.prepare("SELECT term FROM temp.vocab").pluck().all() as string[]);
  } finally {
    db.close();
  }
}

const LAYOUTS: FtsLayout[] = ["keyed", "one", "two"];

describe("the slices' FTS layouts", () => {
  it("makes new slices keyed, and answers every query of the query-language corpus in each layout", () => {
    const corpus = loadQueryCorpus();
    const times = corpus.events.map((e) => e.timestamp);
    // Today's writer, without a layout named: new slices are "keyed".
    const writer = new IndexWriter(dir, () => "day");
    try {
      writer.write("fresh", corpus.events.map((e) => JSON.stringify({ ...e, tenant: "fresh" })));
    } finally {
      writer.close();
    }
    write("one", "one", corpus.events.map((e) => ({ ...e, tenant: "one" })));
    write("two", "older", corpus.events.map((e) => ({ ...e, tenant: "older" })));
    expect(ftsSqlOf("fresh")).toEqual([expect.stringMatching(/fts5\(k,.*tokenchars/)]);
    expect(ftsSqlOf("one")).toEqual([expect.stringMatching(/fts5\(t,.*tokenchars/)]);
    expect(ftsSqlOf("older")).toEqual([expect.stringMatching(/fts5\(raw, f,/)]);
    const reader = new IndexReader(dir);
    try {
      // Phrases are among the cases (word order matters: "timed out" is not "out timed"), and so are the
      // existence of fields, ranges and value wildcards (which the "keyed" layout answers from value tokens).
      expect(corpus.cases.filter((c) => c.query.startsWith('"') && c.expected.length > 0).length).toBeGreaterThan(3);
      expect(corpus.cases.filter((c) => /:\*$/.test(c.query) && c.expected.length > 0).length).toBeGreaterThan(1);
      expect(corpus.cases.filter((c) => /:\s*[<>]/.test(c.query) && c.expected.length > 0).length).toBeGreaterThan(1);
      for (const tenant of ["fresh", "one", "older"]) expect({ tenant, differences: differences(reader, tenant, Math.min(...times), Math.max(...times), corpus.cases) }).toEqual({ tenant, differences: [] });
    } finally {
      reader.close();
    }
  });

  it("answers one time range over slices of every layout, and keeps writing each slice in its own", () => {
    const corpus = loadQueryCorpus();
    // Events over three days, a slice of each layout, oldest first (earlier, not later: an event stating a
    // time days after its receipt is placed at its receipt).
    const events = corpus.events.map((e, i) => ({ ...e, tenant: "mixed", timestamp: e.timestamp - (2 - (i % 3)) * DAY }));
    LAYOUTS.slice().reverse().forEach((fts, day) => write(fts, "mixed", events.filter((_, i) => i % 3 === day)));
    const sqls = [expect.stringMatching(/fts5\(raw, f,/), expect.stringMatching(/fts5\(t,/), expect.stringMatching(/fts5\(k,/)];
    expect(ftsSqlOf("mixed")).toEqual(sqls);
    // Today's writer adds to the older slices in each slice's layout: their new events are found like the others.
    const lates = [0, 1].map((day) => makeEvent("mixed", events[day]!.timestamp + 1, { logmsg: `late arrival ${day}`, json: { level: "late", req: { id: `r-${day}` }, note: "x".repeat(100) } }));
    write("keyed", "mixed", lates);
    expect(ftsSqlOf("mixed")).toEqual(sqls);
    const times = events.map((e) => e.timestamp);
    // The corpus's expectations hold whatever the day (its one query on the event time aside); the late
    // events are hits where the reference semantics say so.
    const cases = corpus.cases
      .filter((c) => !c.query.startsWith("timestamp:"))
      .map((c) => ({ query: c.query, expected: [...c.expected, ...lates.filter((late) => matchesEvent(parseQuery(c.query), late)).map((late) => late.id)] }));
    for (const late of lates) expect(cases.filter((c) => c.expected.includes(late.id)).length).toBeGreaterThan(5);
    const extra = ["json.req:*", "json.req.id:r-1", "json.note:*", "json.level:late", "NOT json.req:*"];
    cases.push(...extra.map((query) => ({ query, expected: [...corpus.events, ...lates].filter((e) => matchesEvent(parseQuery(query), e)).map((e) => e.id) })));
    const reader = new IndexReader(dir);
    try {
      expect(differences(reader, "mixed", Math.min(...times), Math.max(...times), cases)).toEqual([]);
      const range = { tenant: "mixed", from: Math.min(...times), until: Math.max(...times) };
      for (const [day, late] of lates.entries()) {
        expect(reader.search({ ...range, query: parseQuery(`"late arrival ${day}" AND json.level:late`) }, { order: "desc", size: 10 }).events.map((e) => e.id)).toEqual([late.id]);
      }
    } finally {
      reader.close();
    }
  });

  it("prepares the events for a slice made before in that slice's scheme once the writer has opened it", async () => {
    const at = Date.UTC(2026, 0, 5, 12, 0, 0);
    const events = Array.from({ length: 9 }, (_, i) => makeEvent("lazy", at + (i === 8 ? DAY : 0) + i, { logmsg: `event ${i}`, json: { level: i % 2 ? "odd" : "even", req: { id: `r-${i}` } } }));
    const ev = (i: number) => events[i]!;
    write("one", "lazy", [ev(0)]);
    const [oldSlice] = readdirSync(path.join(dir, "lazy")).map((f) => f.replace(/\.db$/, ""));
    const writer = new IndexWriter(dir, () => "day");
    try {
      // Unknown until opened: prepared keyed, and the writer makes the slice's own tokens from the documents.
      expect(writer.schemeOf("lazy")(oldSlice!)).toBe("keyed");
      expect(writer.write("lazy", [JSON.stringify(ev(1))])).toEqual([{ status: "created" }]);
      expect(writer.schemeOf("lazy")(oldSlice!)).toBe("exists");
      const prepared = prepareWrite("lazy", [JSON.stringify(ev(2))], "day", undefined, undefined, writer.schemeOf("lazy"));
      expect(prepared.slices.map((s) => s.scheme)).toEqual(["exists"]);
      expect((prepared.slices[0]!.rows[5] as string).split(" ")).toContain(existsToken("json.req.id"));
      expect(writer.apply("lazy", prepared)).toEqual([{ status: "created" }]);
    } finally {
      writer.close();
    }
    // A slice made again under the same name (retention removed it) is a keyed one, and known as such.
    const again = new IndexWriter(dir, () => "day");
    const copy = path.join(os.tmpdir(), `unmeltable-lazy-${process.pid}.db`);
    try {
      expect(again.write("lazy", [JSON.stringify(ev(0))])).toEqual([{ status: "exists" }]);
      expect(again.schemeOf("lazy")(oldSlice!)).toBe("exists");
      again.closeSlice("lazy", oldSlice!);
      renameSync(path.join(dir, "lazy", `${oldSlice}.db`), copy);
      expect(again.write("lazy", [JSON.stringify(ev(1))])).toEqual([{ status: "created" }]);
      expect(again.schemeOf("lazy")(oldSlice!)).toBe("keyed");
      expect(ftsSqlOf("lazy")).toEqual([expect.stringMatching(/fts5\(k,/)]);
    } finally {
      again.close();
    }
    // The slice made before, back as it was, for the rest of the test.
    rmSync(path.join(dir, "lazy"), { recursive: true, force: true });
    mkdirSync(path.join(dir, "lazy"));
    renameSync(copy, path.join(dir, "lazy", `${oldSlice}.db`));
    // The writer thread says which slices are of the scheme before; the next chunks are prepared in it.
    const index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    try {
      for (const batch of [[3, 4], [5, 6], [7]]) expect(await index.write("lazy", batch.map((i) => JSON.stringify(ev(i))))).toEqual(batch.map(() => ({ status: "created" })));
      expect(await index.write("lazy", [JSON.stringify(ev(8))])).toEqual([{ status: "created" }]);
      const q = (text: string) => ({ tenant: "lazy", query: parseQuery(text), from: at - 1, until: at + 2 * DAY });
      expect(await index.count(q("json.level:odd"))).toBe(4);
      expect(await index.count(q("json.level:even"))).toBe(5);
      expect(await index.count(q("json.req.id:*"))).toBe(9);
      expect(await index.count(q("json.req:* AND event"))).toBe(9);
      expect((await index.search(q("json.req.id:r-7"), { order: "asc", size: 10 })).events.map((e) => e.id)).toEqual([ev(7).id]);
    } finally {
      await index.close();
    }
    expect(ftsSqlOf("lazy")).toEqual([expect.stringMatching(/fts5\(t,/), expect.stringMatching(/fts5\(k,/)]);
  });

  it("gives a keyed slice exists tokens only where no value token says the field is there", () => {
    const at = Date.UTC(2026, 0, 5, 12, 0, 0);
    const long = "a long text ".repeat(10);
    const events = [
      makeEvent("t", at, { logmsg: "short", json: { level: "error", req: { id: "r-1", path: "/a" } } }),
      makeEvent("t", at + 1, { logmsg: "long", json: { level: long, when: { timestamp: "2026-01-05T12:00:00Z" } } }),
      makeEvent("t", at + 2, { logmsg: "none" }),
    ];
    for (const fts of LAYOUTS) write(fts, `t-${fts}`, events.map((e) => ({ ...e, tenant: `t-${fts}` })));
    const keyed = termsOf("t-keyed");
    const one = termsOf("t-one");
    // A leaf with a value token: the value token, keyed by its path, and no exists token ("one": both).
    expect(keyed.has(keyedValueToken("json.level", "error"))).toBe(true);
    expect(keyed.has(existsToken("json.req.id"))).toBe(false);
    expect(one.has(existsToken("json.req.id")) && one.has(valueToken("json.req.id", "r-1"))).toBe(true);
    // Objects, a long value and a timestamp: exists tokens.
    for (const p of ["json", "json.req", "json.when", "json.when.timestamp"]) expect({ p, keyed: keyed.has(existsToken(p)) }).toEqual({ p, keyed: true });
    // json.level is a value in one event and too long for one in the other: it has both kinds of token.
    expect(keyed.has(existsToken("json.level"))).toBe(true);
    expect([...keyed].filter((t) => t.startsWith("~x")).length).toBeLessThan([...one].filter((t) => t.startsWith("~x")).length);
    const reader = new IndexReader(dir);
    try {
      const queries = ["json.level:*", "json.req:*", "json.req.id:*", "json.req.path:*", "json.when:*", "json.when.timestamp:*", "json.level:error", `json.level:"${long.trim()}"`, "json.req.id:r*", "json.req.id:>r-0", "NOT json.level:*", "NOT json.req.id:* AND json:*", "json.nothing:*"];
      for (const fts of LAYOUTS) {
        for (const text of queries) {
          const q = { tenant: `t-${fts}`, query: parseQuery(text), from: at - 1, until: at + 10 };
          const want = events.filter((e) => matchesEvent(q.query, e)).map((e) => e.id);
          expect({ fts, text, ids: reader.search(q, { order: "asc", size: 10 }).events.map((e) => e.id), count: reader.count(q) }).toEqual({ fts, text, ids: want, count: want.length });
        }
      }
    } finally {
      reader.close();
    }
  });

  it("keeps field tokens apart from the words of a text, in each layout", () => {
    const at = Date.UTC(2026, 0, 5, 12, 0, 0);
    // Texts that spell a field's tokens, with and without their mark, and an event that has the field.
    const exists = existsToken("json.level");
    const value = valueToken("json.level", "error");
    const keyed = keyedValueToken("json.level", "error");
    const spelled = makeEvent("t", at, { logmsg: `${exists} ${value} ${keyed} ${exists.slice(1)} ${value.slice(1)} ${keyed.slice(1)} ~~ tilde~word` });
    const real = makeEvent("t", at + 1, { logmsg: "real one", json: { level: "error" } });
    const plain = makeEvent("t", at + 2, { logmsg: "tilde word" });
    const events = [spelled, real, plain];
    const queries = ["json.level:*", "json.level:error", value.slice(1), keyed.slice(1), exists.slice(1), `"${value}"`, `"${keyed}"`, `${value.slice(1, 4)}*`, `${keyed.slice(1, 6)}*`, '"tilde word"', "tilde", "word"];
    for (const fts of LAYOUTS) {
      const tenant = `t-${fts}`;
      write(fts, tenant, events.map((e) => ({ ...e, tenant })));
      const reader = new IndexReader(dir);
      try {
        for (const text of queries) {
          const q = { tenant, query: parseQuery(text), from: at - 1, until: at + 10 };
          const want = events.filter((e) => matchesEvent(q.query, e)).map((e) => e.id);
          expect({ fts, text, ids: reader.search(q, { order: "asc", size: 10 }).events.map((e) => e.id), count: reader.count(q) }).toEqual({ fts, text, ids: want, count: want.length });
        }
        // The field's queries find the field only; the spelled tokens are words of the text.
        expect(reader.count({ tenant, query: parseQuery("json.level:*"), from: at - 1, until: at + 10 })).toBe(1);
        expect(reader.count({ tenant, query: parseQuery(keyed.slice(1)), from: at - 1, until: at + 10 })).toBe(1);
        // "tilde~word" is the words "tilde word", as core's tokenizer (and unicode61 by default) reads it.
        expect(reader.count({ tenant, query: parseQuery('"tilde word"'), from: at - 1, until: at + 10 })).toBe(2);
      } finally {
        reader.close();
      }
    }
  });
});
