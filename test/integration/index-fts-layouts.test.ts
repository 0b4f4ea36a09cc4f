/**
 * The slices' FTS layouts (packages/index-sqlite/src/schema.ts FtsLayout): new slices keep text and field
 * tokens in one column ("one"), slices made before keep them in two ("two"). Both answer every query with the reference
 * semantics (core's matchesEvent, as worked out by hand in the query-language corpus), also when one time
 * range covers slices of both; field tokens never meet the words of a text.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { matchesEvent, parseQuery, type LogEvent } from "@unmeltable/core";
import { IndexReader, IndexWriter } from "@unmeltable/index-sqlite";
import { existsToken, valueToken } from "../../packages/index-sqlite/src/field-tokens";
import { loadQueryCorpus, makeEvent } from "../contract/index.contract";

const DAY = 86_400_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-fts-layouts-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (fts: "one" | "two", tenant: string, events: LogEvent[]) => {
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

describe("the slices' FTS layouts", () => {
  it("makes new slices of one column, and answers every query of the query-language corpus in either layout", () => {
    const corpus = loadQueryCorpus();
    const times = corpus.events.map((e) => e.timestamp);
    write("one", "fresh", corpus.events.map((e) => ({ ...e, tenant: "fresh" })));
    write("two", "older", corpus.events.map((e) => ({ ...e, tenant: "older" })));
    expect(ftsSqlOf("fresh")).toEqual([expect.stringMatching(/fts5\(t,.*tokenchars/)]);
    expect(ftsSqlOf("older")).toEqual([expect.stringMatching(/fts5\(raw, f,/)]);
    const reader = new IndexReader(dir);
    try {
      // Phrases are among the cases (word order matters: "timed out" is not "out timed").
      expect(corpus.cases.filter((c) => c.query.startsWith('"') && c.expected.length > 0).length).toBeGreaterThan(3);
      expect(differences(reader, "fresh", Math.min(...times), Math.max(...times), corpus.cases)).toEqual([]);
      expect(differences(reader, "older", Math.min(...times), Math.max(...times), corpus.cases)).toEqual([]);
    } finally {
      reader.close();
    }
  });

  it("answers one time range over slices of both layouts, and keeps writing each slice in its own", () => {
    const corpus = loadQueryCorpus();
    // Every other event a day later, in a slice of today's layout; the rest in a slice made before.
    const events = corpus.events.map((e, i) => ({ ...e, tenant: "mixed", timestamp: e.timestamp + (i % 2) * DAY }));
    write("two", "mixed", events.filter((_, i) => i % 2 === 0));
    write("one", "mixed", events.filter((_, i) => i % 2 === 1));
    expect(ftsSqlOf("mixed")).toEqual([expect.stringMatching(/fts5\(raw, f,/), expect.stringMatching(/fts5\(t,/)]);
    // Today's writer adds to the older slice in that slice's layout: its new event is found like the others.
    const late = makeEvent("mixed", events[0]!.timestamp + 1, { logmsg: "late arrival", json: { level: "late" } });
    write("one", "mixed", [late]);
    expect(ftsSqlOf("mixed")).toEqual([expect.stringMatching(/fts5\(raw, f,/), expect.stringMatching(/fts5\(t,/)]);
    const times = events.map((e) => e.timestamp);
    // The corpus's expectations hold whatever the day (its one query on the event time aside); the late
    // event is a hit where the reference semantics say so.
    const cases = corpus.cases.filter((c) => !c.query.startsWith("timestamp:")).map((c) => ({ query: c.query, expected: matchesEvent(parseQuery(c.query), late) ? [...c.expected, late.id] : c.expected }));
    expect(cases.filter((c) => c.expected.includes(late.id)).length).toBeGreaterThan(5);
    const reader = new IndexReader(dir);
    try {
      expect(differences(reader, "mixed", Math.min(...times), Math.max(...times), cases)).toEqual([]);
      const range = { tenant: "mixed", from: Math.min(...times), until: Math.max(...times) };
      expect(reader.search({ ...range, query: parseQuery('"late arrival" AND json.level:late') }, { order: "desc", size: 10 }).events.map((e) => e.id)).toEqual([late.id]);
    } finally {
      reader.close();
    }
  });

  it("keeps field tokens apart from the words of a text, in either layout", () => {
    const at = Date.UTC(2026, 0, 5, 12, 0, 0);
    // Texts that spell a field's tokens, with and without their mark, and an event that has the field.
    const exists = existsToken("json.level");
    const value = valueToken("json.level", "error");
    const spelled = makeEvent("t", at, { logmsg: `${exists} ${value} ${exists.slice(1)} ${value.slice(1)} ~~ tilde~word` });
    const real = makeEvent("t", at + 1, { logmsg: "real one", json: { level: "error" } });
    const plain = makeEvent("t", at + 2, { logmsg: "tilde word" });
    const events = [spelled, real, plain];
    const queries = ["json.level:*", "json.level:error", value.slice(1), exists.slice(1), `"${value}"`, `${value.slice(1, 4)}*`, '"tilde word"', "tilde", "word"];
    for (const fts of ["one", "two"] as const) {
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
        expect(reader.count({ tenant, query: parseQuery(value.slice(1)), from: at - 1, until: at + 10 })).toBe(1);
        // "tilde~word" is the words "tilde word", as core's tokenizer (and unicode61 by default) reads it.
        expect(reader.count({ tenant, query: parseQuery('"tilde word"'), from: at - 1, until: at + 10 })).toBe(2);
      } finally {
        reader.close();
      }
    }
  });
});
