import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { matchesEvent, parseQuery, type LogEvent } from "@unmeltable/core";
import { compileDsl, luceneGlob, project, sortableHex } from "@unmeltable/index-opensearch";
import { loadQueryCorpus } from "../contract/index.contract";
import { indexDoc, matches } from "./simulator";

/**
 * The compiler against a golden file: every query of the query corpus and the DSL it compiles to.
 * `UPDATE_GOLDEN=1 npx vitest run test/opensearch/dsl.test.ts` rewrites the file; read the diff before
 * committing it.
 */
const GOLDEN = path.join(import.meta.dirname, "../fixtures/opensearch/dsl-golden.json");
const corpus = loadQueryCorpus();

describe("compileDsl", () => {
  it("compiles every query of the corpus to the golden DSL", () => {
    const compiled: Record<string, unknown> = {};
    for (const c of corpus.cases) compiled[c.query] = compileDsl(parseQuery(c.query));
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, `${JSON.stringify({ comment: "compileDsl(parseQuery(query)) for every query of test/fixtures/query-corpus.json (analysis: asciifolding). Rewrite with UPDATE_GOLDEN=1.", queries: compiled }, null, 1)}\n`);
    }
    const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as { queries: Record<string, unknown> };
    expect(compiled).toEqual(golden.queries);
  });

  // The model of OpenSearch in simulator.ts evaluates the compiled queries over the corpus events as
  // this adapter indexes them: the mapping, the projection and the compiler together must give
  // exactly the expected hits (match.ts's), in both analysis modes.
  for (const analysis of ["asciifolding", "icu"] as const) {
    it(`gives the corpus its expected hits through the compiled DSL (modelled OpenSearch, ${analysis})`, () => {
      const docs = corpus.events.map((e) => indexDoc(e, analysis));
      const failures: string[] = [];
      for (const c of corpus.cases) {
        const dsl = compileDsl(parseQuery(c.query), { analysis });
        const got = docs.filter((d) => matches(dsl, d, analysis)).map((d) => d.event.id).sort();
        if (JSON.stringify(got) !== JSON.stringify([...c.expected].sort())) failures.push(`${c.query}: expected ${JSON.stringify(c.expected)} got ${JSON.stringify(got)}`);
      }
      expect(failures).toEqual([]);
    });
  }

  it("agrees with match.ts on type-sensitive terms and ranges beyond the corpus", () => {
    const ev = (id: string, json: Record<string, unknown>): LogEvent => ({ id, timestamp: 1_700_000_000_000 + Number(id.slice(1)), receivedAt: 0, tenant: "t", tags: [], logtypes: ["json"], raw: JSON.stringify(json), logmsg: "", unparsed: null, event: { json: json as never } });
    const events = [
      ev("x1", { v: 500, w: ["a", 7], s: "1e999", d: { "a.b": "X" } }),
      ev("x2", { v: "500", w: [3, 9], s: "Zebra", d: { a: { b: "y" } } }),
      ev("x3", { v: "0500", w: "b", s: "zebra", n: -0.5 }),
      ev("x4", { v: -2, w: true, s: "", n: 0 }),
      ev("x5", { v: "n/a", w: null, s: "日本", n: -1e-300 }),
    ];
    const queries = [
      "json.v:500", "json.v:0500", "json.v:5e2", "json.v:>=500", "json.v:<0", "json.v:[0 TO 600]", "json.v:>m", "json.v:[200 TO n/z]", "json.v:\"500\"",
      "json.w:>5", "json.w:[a TO c]", "json.w:true", "json.w:TRUE", "json.w:*", "json.s:>1e300", "json.s:<a", "json.s:>=Z", "json.s:zebra", "json.s:z*",
      "json.s:>=\"\"", "json.s:*", "json.d.a.b:x", "json.d:*", "json.n:<0", "json.n:>=0", "json.n:[-1 TO -1e-301]", "json.n:0", "json.n:-0",
      "timestamp:1700000000003", "timestamp:>1700000000002.5", "timestamp:<=1.7e12", "timestamp:170000000000?", "timestamp:>=2024", "timestamp:<2024-03-10", "timestamp:[1700000000001 TO 2024-03-10]", "id:X?", "id:>x3",
    ];
    const docs = events.map((e) => indexDoc(e, "asciifolding"));
    const failures: string[] = [];
    for (const text of queries) {
      const q = parseQuery(text);
      const expected = events.filter((e) => matchesEvent(q, e)).map((e) => e.id);
      const got = docs.filter((d) => matches(compileDsl(q), d, "asciifolding")).map((d) => d.event.id);
      if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${text}: match.ts ${JSON.stringify(expected)}, compiled ${JSON.stringify(got)}`);
    }
    expect(failures).toEqual([]);
  });

  it("never splices user input into query syntax", () => {
    const dsl = JSON.stringify(compileDsl(parseQuery('json.a:"x OR y:*" "a AND b" json.p:/api/*\\?x')));
    expect(dsl).not.toContain("query_string");
    expect(compileDsl(parseQuery('json.a:"x OR y:*"'))).toEqual({ term: { "f.term": "json.a=x or y:*" } });
    expect(compileDsl(parseQuery("json.p:/api/*\\?x"))).toEqual({ wildcard: { "f.term": { value: "json.p=/api/*\\?x" } } });
  });
});

describe("projection", () => {
  it("turns every leaf into path=value keys, typed, with the raw text lower-cased for globs", () => {
    const e: LogEvent = {
      id: "e1", timestamp: 0, receivedAt: 0, tenant: "t", tags: ["Prod"], logtypes: ["json"], raw: "Hello WORLD", logmsg: "", unparsed: null,
      event: { json: { level: "ERROR", status: 503, ok: true, latency: "0500", user: { "first.name": "Zoë" }, list: [1, "1"], none: null, empty: [] } },
    };
    expect(project(e)).toEqual({
      paths: ["json.level", "json.status", "json.ok", "json.latency", "json.user.first.name", "json.list", "tag", "logtype"],
      term: ["json.level=error", "json.status=503", "json.ok=true", "json.latency=0500", "json.user.first.name=zoë", "json.list=1", "tag=prod", "logtype=json"],
      num: [`json.status=n${sortableHex(503)}`, `json.latency=q${sortableHex(500)}`, `json.list=n${sortableHex(1)}`, `json.list=q${sortableHex(1)}`],
      str: ["json.level=sERROR", "json.status=n503", "json.ok=btrue", "json.latency=q0500", "json.user.first.name=sZoë", "json.list=n1", "json.list=q1", "tag=sProd", "logtype=sjson"],
      glob: "hello world",
    });
  });

  it("encodes numbers so that their keys sort like the numbers", () => {
    const nums = [-Infinity, -1e300, -2.5, -1, -1e-300, 0, 1e-300, 0.25, 1, 1.5, 2, 10, 1e21, Infinity];
    const shuffled = [...nums].reverse();
    expect(shuffled.map(sortableHex).sort().map((h) => nums[nums.map(sortableHex).indexOf(h)])).toEqual(nums);
    expect(sortableHex(-0)).toBe(sortableHex(0));
  });

  it("translates query patterns into Lucene wildcards", () => {
    expect(luceneGlob("Web-0?", true)).toBe("web-0?");
    expect(luceneGlob("a\\*b*", false)).toBe("a\\*b*");
    expect(luceneGlob("x\\\\y\\?", true)).toBe("x\\\\y\\?");
  });
});
