import { seededRandom } from "../helpers/seeded";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { LogEvent } from "../../packages/core/src/event";
import {
  matchesEvent,
  parseQuery,
  parseTime,
  parseTimeRange,
  QuerySyntaxError,
  TimeRangeError,
  tokenize,
  type Query,
} from "../../packages/core/src/query/index";

interface Corpus {
  events: LogEvent[];
  cases: { query: string; expected: string[] }[];
}

const corpus = JSON.parse(readFileSync(new URL("../fixtures/query-corpus.json", import.meta.url), "utf8")) as Corpus;

function search(q: string, events: LogEvent[] = corpus.events): string[] {
  const ast = parseQuery(q);
  return events
    .filter((e) => matchesEvent(ast, e))
    .map((e) => e.id)
    .sort();
}

function ev(partial: Partial<LogEvent>): LogEvent {
  return {
    id: "x",
    timestamp: 0,
    receivedAt: 0,
    tenant: "t",
    tags: [],
    logtypes: [],
    raw: "",
    logmsg: "",
    unparsed: null,
    event: {},
    ...partial,
  };
}

const text = (value: string, phrase = false): Query => ({ type: "text", value, phrase });
const term = (field: string, value: string): Query => ({ type: "term", field, value });

describe("query corpus (engine-neutral reference cases)", () => {
  it("is well-formed: ≥30 events, ≥80 cases, unique ids, sorted known expected ids, unique queries", () => {
    expect(corpus.events.length).toBeGreaterThanOrEqual(30);
    expect(corpus.cases.length).toBeGreaterThanOrEqual(80);
    const ids = corpus.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(corpus.cases.map((c) => c.query)).size).toBe(corpus.cases.length);
    for (const c of corpus.cases) {
      expect([...c.expected].sort(), c.query).toEqual(c.expected);
      for (const id of c.expected) expect(ids, c.query).toContain(id);
    }
  });

  it("covers every AST node type", () => {
    const seen = new Set<string>();
    const visit = (q: Query): void => {
      seen.add(q.type);
      if (q.type === "and" || q.type === "or") q.children.forEach(visit);
      if (q.type === "not") visit(q.child);
    };
    for (const c of corpus.cases) visit(parseQuery(c.query));
    expect([...seen].sort()).toEqual(["all", "and", "exists", "fieldWildcard", "not", "or", "range", "term", "text", "textWildcard"]);
  });

  it.each(corpus.cases.map((c) => [c.query, c.expected] as const))("%s", (query, expected) => {
    expect(search(query)).toEqual(expected);
  });
});

describe("parseQuery: AST shape", () => {
  it("blank and * are all", () => {
    expect(parseQuery("")).toEqual({ type: "all" });
    expect(parseQuery(" \t\n")).toEqual({ type: "all" });
    expect(parseQuery("*")).toEqual({ type: "all" });
    expect(parseQuery("**")).toEqual({ type: "all" });
    expect(parseQuery("(*)")).toEqual({ type: "all" });
  });

  it("words and phrases", () => {
    expect(parseQuery("error")).toEqual(text("error"));
    expect(parseQuery("web-01")).toEqual(text("web-01"));
    expect(parseQuery('"connection refused"')).toEqual(text("connection refused", true));
    expect(parseQuery('"say \\"hi\\" \\\\ now"')).toEqual(text('say "hi" \\ now', true));
    expect(parseQuery('"a*b?"')).toEqual(text("a*b?", true));
  });

  it("implicit AND between adjacent clauses, flattened", () => {
    expect(parseQuery("a b c")).toEqual({ type: "and", children: [text("a"), text("b"), text("c")] });
    expect(parseQuery("a AND (b AND c) && d")).toEqual({ type: "and", children: [text("a"), text("b"), text("c"), text("d")] });
    expect(parseQuery('a"b"')).toEqual({ type: "and", children: [text("a"), text("b", true)] });
  });

  it("precedence NOT > AND > OR", () => {
    expect(parseQuery("a OR b AND c")).toEqual({ type: "or", children: [text("a"), { type: "and", children: [text("b"), text("c")] }] });
    expect(parseQuery("a b OR c")).toEqual({ type: "or", children: [{ type: "and", children: [text("a"), text("b")] }, text("c")] });
    expect(parseQuery("NOT a AND b")).toEqual({ type: "and", children: [{ type: "not", child: text("a") }, text("b")] });
    expect(parseQuery("a OR NOT b")).toEqual({ type: "or", children: [text("a"), { type: "not", child: text("b") }] });
    expect(parseQuery("a NOT b")).toEqual({ type: "and", children: [text("a"), { type: "not", child: text("b") }] });
    expect(parseQuery("(a OR b) c")).toEqual({ type: "and", children: [{ type: "or", children: [text("a"), text("b")] }, text("c")] });
    expect(parseQuery("a || b || (c || d)")).toEqual({ type: "or", children: [text("a"), text("b"), text("c"), text("d")] });
  });

  it("negation forms: NOT, !, -, + and double negation", () => {
    const notA = { type: "not", child: text("a") };
    expect(parseQuery("NOT a")).toEqual(notA);
    expect(parseQuery("!a")).toEqual(notA);
    expect(parseQuery("! a")).toEqual(notA);
    expect(parseQuery("-a")).toEqual(notA);
    expect(parseQuery("+a")).toEqual(text("a"));
    expect(parseQuery("--a")).toEqual({ type: "not", child: notA });
    expect(parseQuery("NOT NOT a")).toEqual({ type: "not", child: notA });
    expect(parseQuery("-(a OR b)")).toEqual({ type: "not", child: { type: "or", children: [text("a"), text("b")] } });
    expect(parseQuery('-"a b"')).toEqual({ type: "not", child: text("a b", true) });
    expect(parseQuery("-f:x")).toEqual({ type: "not", child: term("f", "x") });
    expect(parseQuery("NOT *")).toEqual({ type: "not", child: { type: "all" } });
  });

  it("operators are upper case whole words; lower case and glued forms are text", () => {
    expect(parseQuery("a and b")).toEqual({ type: "and", children: [text("a"), text("and"), text("b")] });
    expect(parseQuery("a or b")).toEqual({ type: "and", children: [text("a"), text("or"), text("b")] });
    expect(parseQuery("ANDROID ORACLE NOTE")).toEqual({ type: "and", children: [text("ANDROID"), text("ORACLE"), text("NOTE")] });
    expect(parseQuery("a&&b")).toEqual(text("a&&b"));
    expect(parseQuery("x!")).toEqual(text("x!"));
    expect(parseQuery("a-b")).toEqual(text("a-b"));
    expect(parseQuery("(a)OR(b)")).toEqual({ type: "or", children: [text("a"), text("b")] });
  });

  it("a word without letters or digits is all (a no-op in AND)", () => {
    expect(parseQuery("-")).toEqual({ type: "all" });
    expect(parseQuery("a - b")).toEqual({ type: "and", children: [text("a"), text("b")] });
    expect(parseQuery('"--"')).toEqual({ type: "all" });
    expect(parseQuery("a + b")).toEqual({ type: "and", children: [text("a"), text("b")] });
    expect(parseQuery("a OR -")).toEqual({ type: "all" });
    expect(parseQuery("NOT ...")).toEqual({ type: "not", child: { type: "all" } });
  });

  it("backslash escapes", () => {
    expect(parseQuery("level\\:error")).toEqual(text("level:error"));
    expect(parseQuery("\\(root\\)")).toEqual(text("(root)"));
    expect(parseQuery("\\-full")).toEqual(text("-full"));
    expect(parseQuery("a\\ b")).toEqual(text("a b"));
    expect(parseQuery("\\AND")).toEqual(text("AND"));
    expect(parseQuery('f:a\\"b')).toEqual(term("f", 'a"b'));
    expect(parseQuery("f:a\\*")).toEqual(term("f", "a*"));
    expect(parseQuery("f:\\*")).toEqual(term("f", "*"));
    expect(parseQuery("foo\\*bar*")).toEqual({ type: "textWildcard", pattern: "foo\\*bar*" });
    expect(parseQuery("f:a\\\\b*")).toEqual({ type: "fieldWildcard", field: "f", pattern: "a\\\\b*" });
    expect(parseQuery("f:a\\?b?")).toEqual({ type: "fieldWildcard", field: "f", pattern: "a\\?b?" });
  });

  it("fields, pseudo-fields and field names", () => {
    expect(parseQuery("json.level:ERROR")).toEqual(term("json.level", "ERROR"));
    expect(parseQuery("tag:prod")).toEqual(term("tag", "prod"));
    expect(parseQuery("logtype:json")).toEqual(term("logtype", "json"));
    expect(parseQuery('tag:"abc.xyz"')).toEqual(term("tag", "abc.xyz"));
    expect(parseQuery('json.msg:"a b"')).toEqual(term("json.msg", "a b"));
    expect(parseQuery("@timestamp:x")).toEqual(term("@timestamp", "x"));
    expect(parseQuery("_a.b-c@d:x")).toEqual(term("_a.b-c@d", "x"));
    expect(parseQuery("json.peer:10.0.0.5:5432")).toEqual(term("json.peer", "10.0.0.5:5432"));
    expect(parseQuery("http://x")).toEqual(term("http", "//x"));
    // not a field name: the colon is part of the text
    expect(parseQuery("12:30:00")).toEqual(text("12:30:00"));
    expect(parseQuery(":x")).toEqual(text(":x"));
    expect(parseQuery("json.status:-5")).toEqual(term("json.status", "-5"));
  });

  it("wildcards and exists", () => {
    expect(parseQuery("err*")).toEqual({ type: "textWildcard", pattern: "err*" });
    expect(parseQuery("e?ror")).toEqual({ type: "textWildcard", pattern: "e?ror" });
    expect(parseQuery("json.path:/api/*")).toEqual({ type: "fieldWildcard", field: "json.path", pattern: "/api/*" });
    expect(parseQuery("json.userId:*")).toEqual({ type: "exists", field: "json.userId" });
    expect(parseQuery("tag:*")).toEqual({ type: "exists", field: "tag" });
    expect(parseQuery('json.x:"*"')).toEqual(term("json.x", "*"));
  });

  it("ranges and comparisons", () => {
    const r = (field: string, b: Omit<Extract<Query, { type: "range" }>, "type" | "field">): Query => ({ type: "range", field, ...b });
    expect(parseQuery("s:>=500")).toEqual(r("s", { gte: 500 }));
    expect(parseQuery("s:>500")).toEqual(r("s", { gt: 500 }));
    expect(parseQuery("s:<3")).toEqual(r("s", { lt: 3 }));
    expect(parseQuery("s:<=1.5")).toEqual(r("s", { lte: 1.5 }));
    expect(parseQuery("s:>-2")).toEqual(r("s", { gt: -2 }));
    expect(parseQuery('s:>="500"')).toEqual(r("s", { gte: "500" }));
    expect(parseQuery("s:>=2024-03-10T00:00:00Z")).toEqual(r("s", { gte: "2024-03-10T00:00:00Z" }));
    expect(parseQuery("s:[500 TO 599]")).toEqual(r("s", { gte: 500, lte: 599 }));
    expect(parseQuery("s:{500 TO 599}")).toEqual(r("s", { gt: 500, lt: 599 }));
    expect(parseQuery("s:[500 TO 599}")).toEqual(r("s", { gte: 500, lt: 599 }));
    expect(parseQuery("s:{500 TO 599]")).toEqual(r("s", { gt: 500, lte: 599 }));
    expect(parseQuery("s:[ 500   TO   599 ]")).toEqual(r("s", { gte: 500, lte: 599 }));
    expect(parseQuery("s:[500 TO *]")).toEqual(r("s", { gte: 500 }));
    expect(parseQuery("s:[* TO 599}")).toEqual(r("s", { lt: 599 }));
    expect(parseQuery("s:[* TO *]")).toEqual({ type: "exists", field: "s" });
    expect(parseQuery("s:>=*")).toEqual({ type: "exists", field: "s" });
    expect(parseQuery("d:[2024-01-01 TO 2024-02-01]")).toEqual(r("d", { gte: "2024-01-01", lte: "2024-02-01" }));
    expect(parseQuery('d:["a b" TO "c]"]')).toEqual(r("d", { gte: "a b", lte: "c]" }));
    expect(parseQuery("d:[a TO b\\]]")).toEqual(r("d", { gte: "a", lte: "b]" }));
    expect(parseQuery("d:[1e3 TO 0x10]")).toEqual(r("d", { gte: 1000, lte: "0x10" }));
    expect(parseQuery("s:[1 TO 5] x")).toEqual({ type: "and", children: [r("s", { gte: 1, lte: 5 }), text("x")] });
  });

  it("field groups apply the field to every clause inside", () => {
    expect(parseQuery("f:(a OR b)")).toEqual({ type: "or", children: [term("f", "a"), term("f", "b")] });
    expect(parseQuery('f:(a "b c" d*)')).toEqual({
      type: "and",
      children: [term("f", "a"), term("f", "b c"), { type: "fieldWildcard", field: "f", pattern: "d*" }],
    });
    expect(parseQuery("f:(-a NOT b)")).toEqual({
      type: "and",
      children: [
        { type: "not", child: term("f", "a") },
        { type: "not", child: term("f", "b") },
      ],
    });
    expect(parseQuery("f:(a OR (b AND c))")).toEqual({
      type: "or",
      children: [term("f", "a"), { type: "and", children: [term("f", "b"), term("f", "c")] }],
    });
    expect(parseQuery("f:(>=500 OR [1 TO 2] OR *)")).toEqual({
      type: "or",
      children: [
        { type: "range", field: "f", gte: 500 },
        { type: "range", field: "f", gte: 1, lte: 2 },
        { type: "exists", field: "f" },
      ],
    });
    // inside a group colons are literal: every clause is a value of the group's field
    expect(parseQuery("u:(http://x OR y)")).toEqual({ type: "or", children: [term("u", "http://x"), term("u", "y")] });
    expect(parseQuery("f:(a) g:b")).toEqual({ type: "and", children: [term("f", "a"), term("g", "b")] });
  });
});

describe("parseQuery: syntax errors", () => {
  const cases: [string, number, RegExp][] = [
    ["(a OR b", 0, /unbalanced parenthesis.*'\(' at 0/],
    ["a (b (c)", 2, /'\(' at 2 is never closed/],
    ["a OR b)", 6, /unmatched '\)' at 6/],
    [")", 0, /unmatched '\)' at 0/],
    ["()", 0, /empty parentheses at 0/],
    ['error "connection', 6, /unterminated quoted phrase starting at 6/],
    ['"abc\\"', 0, /unterminated quoted phrase starting at 0/],
    ["json.level:", 11, /missing value after 'json.level:' at 11/],
    ["json.level: error", 11, /no space is allowed after ':'/],
    ["(json.level:)", 12, /missing value after 'json.level:' at 12/],
    ["f:()", 2, /empty group after 'f:' at 2/],
    ["f:(a", 2, /'\(' at 2 is never closed/],
    ["a AND", 2, /AND at 2 is not followed by anything/],
    ["AND a", 0, /AND at 0 has no search term before it/],
    ["a OR", 2, /OR at 2 is not followed/],
    ["OR", 0, /OR at 0 has no search term before it/],
    ["a OR OR b", 2, /OR at 2 is followed by OR at 5/],
    ["a AND ) b", 2, /AND at 2 is followed by '\)'/],
    ["(a OR)", 3, /OR at 3 is followed by '\)'/],
    ["a &&", 2, /&& at 2 is not followed/],
    ["|| a", 0, /\|\| at 0 has no search term before it/],
    ["NOT", 0, /NOT at 0 is not followed/],
    ["a !", 2, /! at 2 is not followed/],
    ["f:[a TO", 2, /unterminated range starting at 2/],
    ["f:[a", 2, /unterminated range starting at 2/],
    ["f:[a TO b", 2, /unterminated range starting at 2/],
    ["f:[a b]", 5, /expected 'TO' at 5 in the range starting at 2/],
    ["f:[a TO b c]", 10, /expected '\]' or '\}' at 10/],
    ["f:[ TO b]", 7, /expected 'TO' at 7/],
    ["f:[a TO ]", 8, /missing upper bound at 8/],
    ["f:[]", 3, /missing lower bound at 3/],
    ["f:>", 3, /missing value after 'f:>' at 3/],
    ["f:>= 5", 4, /missing value after 'f:>=' at 4/],
    ["abc\\", 3, /dangling '\\' at 3/],
    ["((((((((((".repeat(11) + "a", 100, /nested too deeply/],
  ];
  it.each(cases)("%j fails at %i", (q, position, message) => {
    let caught: unknown;
    try {
      parseQuery(q);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QuerySyntaxError);
    const e = caught as QuerySyntaxError;
    expect(e.name).toBe("QuerySyntaxError");
    expect(e.message).toMatch(message);
    expect(e.position).toBe(position);
  });

  it("QuerySyntaxError is an Error", () => {
    const e = new QuerySyntaxError("x at 1", 1);
    expect(e).toBeInstanceOf(Error);
    expect(e.position).toBe(1);
  });
});

describe("parseQuery: fuzz", () => {
  const rng = seededRandom;
  const alphabet = [
    ..."abcXYZ019 é日\t\n()\"\\:*?-+!&|[]{}<>=.,/_@'~^",
    " AND ", " OR ", " NOT ", "AND", "OR", "NOT", "TO", " TO ", "&&", "||", "json.level:", "tag:", "f:", "\\\"", "\\:", "*", "[1 TO 5]",
  ];

  function checkShape(q: Query, top: boolean): void {
    switch (q.type) {
      case "all":
        expect(top).toBe(true);
        return;
      case "and":
      case "or":
        expect(q.children.length).toBeGreaterThanOrEqual(2);
        for (const c of q.children) {
          expect(c.type).not.toBe(q.type);
          expect(c.type).not.toBe("all");
          checkShape(c, false);
        }
        return;
      case "not":
        if (q.child.type !== "all") checkShape(q.child, false);
        return;
      case "text":
        expect(tokenize(q.value).length).toBeGreaterThan(0);
        return;
      case "textWildcard":
      case "fieldWildcard":
        expect(q.pattern).toMatch(/(^|[^\\])(\\\\)*[*?]/);
        return;
      case "range":
        expect([q.gt, q.gte, q.lt, q.lte].some((b) => b !== undefined)).toBe(true);
        return;
      default:
        return;
    }
  }

  it("5,000 random queries either parse to a well-formed Query or throw QuerySyntaxError", () => {
    const next = rng(20240310);
    const sample = corpus.events;
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(next() * 24);
      let q = "";
      for (let j = 0; j < len; j++) q += alphabet[Math.floor(next() * alphabet.length)];
      let ast: Query;
      try {
        ast = parseQuery(q);
      } catch (err) {
        if (!(err instanceof QuerySyntaxError)) throw new Error(`parseQuery(${JSON.stringify(q)}) threw ${String(err)}`);
        expect(err.position, q).toBeGreaterThanOrEqual(0);
        expect(err.position, q).toBeLessThanOrEqual(q.length);
        expect(err.message, q).toMatch(/ at \d+/);
        continue;
      }
      parsed++;
      checkShape(ast, true);
      // Evaluation never throws either.
      for (let k = 0; k < 3; k++) matchesEvent(ast, sample[(i + k * 11) % sample.length]!);
    }
    // The generator is not so hostile that nothing parses.
    expect(parsed).toBeGreaterThan(500);
  });
});

describe("matchesEvent: details beyond the corpus", () => {
  it("tokenizes like FTS5 unicode61 remove_diacritics 2", () => {
    expect(tokenize("Café WEB-01 10.0.0.5:8080 users_email_key")).toEqual(["cafe", "web", "01", "10", "0", "0", "5", "8080", "users", "email", "key"]);
    expect(tokenize("re\u0301sume\u0301 İstanbul Ärger")).toEqual(["resume", "istanbul", "arger"]);
    expect(tokenize("日本語 の テスト")).toEqual(["日本語", "の", "テスト"]);
    expect(tokenize("-- !! ..")).toEqual([]);
  });

  it("a hand-built text node without tokens matches everything (same as the parser's all)", () => {
    expect(matchesEvent({ type: "text", value: "--", phrase: false }, ev({ raw: "anything" }))).toBe(true);
  });

  it("resolves dotted keys at any level, arrays of objects, and only own properties", () => {
    const e = ev({
      event: {
        json: { "a.b": { c: 1 }, a: { "b.c": 2, b: { c: 3 } }, list: [{ k: "x" }, [{ k: "y" }]] },
        "json.top": { v: "t" },
      },
    });
    expect(matchesEvent(parseQuery("json.a.b.c:1"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.a.b.c:2"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.a.b.c:3"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.a.b.c:4"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.top.v:t"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.list.k:y"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.constructor:*"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.__proto__:*"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.list.k:toString"), e)).toBe(false);
  });

  it("exists needs a non-null scalar somewhere", () => {
    const e = ev({ event: { json: { n: null, o: {}, on: { a: null }, arr: [], arrn: [null], deep: { x: [{ y: 0 }] }, f: false, s: "" } } });
    for (const f of ["n", "o", "on", "arr", "arrn", "missing"]) expect(matchesEvent(parseQuery(`json.${f}:*`), e), f).toBe(false);
    for (const f of ["deep", "deep.x", "deep.x.y", "f", "s"]) expect(matchesEvent(parseQuery(`json.${f}:*`), e), f).toBe(true);
  });

  it("term: numbers numerically, booleans by name, null and objects never", () => {
    const e = ev({ event: { json: { n: 1e3, b: true, z: null, o: { a: 1 }, s: "0500" } } });
    expect(matchesEvent(parseQuery("json.n:1000"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.n:1e3"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.n:1000.0"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.b:TRUE"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.z:null"), e)).toBe(false);
    expect(matchesEvent(parseQuery('json.o:"[object Object]"'), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.s:500"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.s:0500"), e)).toBe(true);
  });

  it("range: per-bound numeric or code point comparison; booleans and null never", () => {
    const e = (v: unknown) => ev({ event: { json: { v: v as never } } });
    expect(matchesEvent(parseQuery("json.v:[10 TO 20]"), e("15"))).toBe(true);
    expect(matchesEvent(parseQuery("json.v:[10 TO 20]"), e(9))).toBe(false);
    expect(matchesEvent(parseQuery("json.v:[a TO c]"), e("b"))).toBe(true);
    expect(matchesEvent(parseQuery("json.v:[a TO c]"), e("B"))).toBe(false); // case-sensitive: "B" < "a"
    expect(matchesEvent(parseQuery("json.v:>=1"), e(true))).toBe(false);
    expect(matchesEvent(parseQuery("json.v:>=0"), e(null))).toBe(false);
    expect(matchesEvent(parseQuery("json.v:>a"), e(5))).toBe(false); // "5" < "a"
    // code point order, not UTF-16 order: U+1F600 (surrogates D83D..) sorts after U+FF5E.
    expect(matchesEvent(parseQuery("json.v:>\uff5e"), e("\u{1f600}"))).toBe(true);
  });

  it("text wildcards: token prefix for `word*`, else an unanchored case-insensitive glob over raw", () => {
    const e = ev({ raw: "Line one\nERROR: disk *full* at 99%" });
    expect(matchesEvent(parseQuery("err*"), e)).toBe(true);
    expect(matchesEvent(parseQuery("rror*"), e)).toBe(false); // a token prefix, not a substring
    expect(matchesEvent(parseQuery("*rror"), e)).toBe(true);
    expect(matchesEvent(parseQuery("one*error"), e)).toBe(true); // * crosses the newline
    expect(matchesEvent(parseQuery("\\*full\\**"), e)).toBe(true); // literal stars
    expect(matchesEvent(parseQuery("\\*empty\\**"), e)).toBe(false);
    expect(matchesEvent(parseQuery("99?"), e)).toBe(true);
    expect(matchesEvent(parseQuery("99%?"), e)).toBe(false);
  });

  // Patterns that make a backtracking matcher explode (tests never assert timings: an exponential
  // matcher would hang this test until the runner's timeout).
  it("matches globs that defeat backtracking matchers", () => {
    const e = ev({ raw: "a".repeat(20_000), event: { json: { v: "a".repeat(20_000) } } });
    expect(matchesEvent(parseQuery("a*a*a*a*a*a*a*a*b"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.v:*a*a*a*a*a*a*a*a*b"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.v:*a*a*a*a*a*a*a*a"), e)).toBe(true);
  });

  it("fieldWildcard is anchored at both ends", () => {
    const e = ev({ event: { json: { p: "/api/v1/users" } } });
    expect(matchesEvent(parseQuery("json.p:/api/*"), e)).toBe(true);
    expect(matchesEvent(parseQuery("json.p:api/*"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.p:*/v1"), e)).toBe(false);
    expect(matchesEvent(parseQuery("json.p:/API/V?/*"), e)).toBe(true);
  });
});

describe("parseTime / parseTimeRange", () => {
  const now = Date.UTC(2024, 2, 10, 12, 0, 0); // 2024-03-10T12:00:00Z
  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const DAY = 24 * HOUR;

  it("relative forms", () => {
    expect(parseTime("now", now, 0)).toBe(now);
    expect(parseTime("NOW", now, 0)).toBe(now);
    expect(parseTime("-30s", now, 0)).toBe(now - 30_000);
    expect(parseTime("-10m", now, 0)).toBe(now - 10 * MIN);
    expect(parseTime("-2h", now, 0)).toBe(now - 2 * HOUR);
    expect(parseTime("-24h", now, 0)).toBe(now - DAY);
    expect(parseTime("-1d", now, 0)).toBe(now - DAY);
    expect(parseTime("-7d", now, 0)).toBe(now - 7 * DAY);
    expect(parseTime("-1w", now, 0)).toBe(now - 7 * DAY);
    expect(parseTime(" -0m ", now, 0)).toBe(now);
  });

  it("absolute forms: ISO-8601 (UTC without offset) and epoch milliseconds", () => {
    expect(parseTime("2024-03-10T12:00:00Z", now, 0)).toBe(now);
    expect(parseTime("2024-03-10T12:00:00.250Z", now, 0)).toBe(now + 250);
    expect(parseTime("2024-03-10T12:00:00.1234567Z", now, 0)).toBe(now + 123);
    expect(parseTime("2024-03-10T12:00:00", now, 0)).toBe(now);
    expect(parseTime("2024-03-10T12:00", now, 0)).toBe(now);
    expect(parseTime("2024-03-10 12:00:00", now, 0)).toBe(now);
    expect(parseTime("2024-03-10", now, 0)).toBe(now - 12 * HOUR);
    expect(parseTime("2024-03-10T14:00:00+02:00", now, 0)).toBe(now);
    expect(parseTime("2024-03-10T07:30:00-0430", now, 0)).toBe(now);
    expect(parseTime("2024-03-10T13:00:00+01", now, 0)).toBe(now);
    expect(parseTime("2024-02-29", now, 0)).toBe(Date.UTC(2024, 1, 29));
    expect(parseTime("0099-01-01T00:00:00Z", now, 0)).toBe(Date.parse("0099-01-01T00:00:00Z"));
    expect(parseTime("1710072000000", now, 0)).toBe(now);
    expect(parseTime("0", now, 5)).toBe(0);
  });

  it("missing or blank values take the fallback", () => {
    expect(parseTime(undefined, now, 42)).toBe(42);
    expect(parseTime("", now, 42)).toBe(42);
    expect(parseTime("  ", now, 42)).toBe(42);
  });

  it.each([
    ["yesterday", /invalid time 'yesterday'/],
    ["-1M", /unknown unit 'M'.*months are not supported/],
    ["-1y", /unknown unit 'y'/],
    ["-10", /missing unit/],
    ["+1h", /invalid time/],
    ["now-1h", /invalid time/],
    ["2024-13-01", /month 13/],
    ["2023-02-29", /day 29 does not exist in 2023-02/],
    ["2024-03-10T24:00:00Z", /hour 24/],
    ["2024-03-10T12:60:00Z", /minute 60/],
    ["2024-03-10T12:00:61Z", /second 61/],
    ["2024-03-10T12:00:00+25:00", /offset/],
    ["2024-03-10Z", /invalid time/],
    ["10/03/2024", /invalid time/],
    ["99999999999999999", /out of range/],
    ["-99999999999w", /too far/],
  ])("rejects %j", (value, message) => {
    expect(() => parseTime(value, now, 0)).toThrow(TimeRangeError);
    expect(() => parseTime(value, now, 0)).toThrow(message);
  });

  it("parseTimeRange: defaults -24h..now, explicit values, errors name the parameter", () => {
    expect(parseTimeRange(undefined, undefined, now)).toEqual({ from: now - DAY, until: now });
    expect(parseTimeRange("-2h", undefined, now)).toEqual({ from: now - 2 * HOUR, until: now });
    expect(parseTimeRange("-2h", "-1h", now)).toEqual({ from: now - 2 * HOUR, until: now - HOUR });
    expect(parseTimeRange("2024-03-10", "2024-03-10T06:00:00Z", now)).toEqual({ from: now - 12 * HOUR, until: now - 6 * HOUR });
    expect(parseTimeRange("now", "now", now)).toEqual({ from: now, until: now });
    const t = Date.now();
    const r = parseTimeRange();
    expect(r.until).toBeGreaterThanOrEqual(t);
    expect(r.until - r.from).toBe(DAY);

    const err = (f: () => unknown): TimeRangeError => {
      try {
        f();
      } catch (e) {
        if (e instanceof TimeRangeError) return e;
      }
      throw new Error("no TimeRangeError");
    };
    const bad = err(() => parseTimeRange("-2x", undefined, now));
    expect(bad.param).toBe("from");
    expect(bad.message).toMatch(/^from: invalid time '-2x'/);
    expect(err(() => parseTimeRange(undefined, "soon", now)).param).toBe("until");
    const order = err(() => parseTimeRange("-1h", "-2h", now));
    expect(order.message).toBe("from (2024-03-10T11:00:00.000Z) is after until (2024-03-10T10:00:00.000Z)");
    expect(err(() => parseTimeRange(undefined, "-2d", now)).message).toMatch(/is after until/);
  });
});
