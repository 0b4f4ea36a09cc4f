import { describe, expect, it } from "vitest";
import { parseQuery } from "../../packages/core/src/query/index";
import { eventFields, formatStat, levelOf, looksNumeric, rowMessage, rowSource } from "../../packages/web/src/fields";
import { addClause, fieldClause, highlightTerms, markTerms, quoteValue, recentQueries, rememberQuery, suggestFields } from "../../packages/web/src/query";
import { DEFAULT_ROUTE, formatHash, parseHash } from "../../packages/web/src/route";
import { setupSnippets } from "../../packages/web/src/setup-snippets";
import { sourcesOf } from "../../packages/web/src/sources";
import { describeRange, fillBuckets, formatTick, formatTimestamp, fromLocalInput, PRESETS, relativeRange, resolveTime, setZoneMode, toLocalInput, zoneMode, zoneName } from "../../packages/web/src/time";

describe("web UI: field:value clauses", () => {
  it("writes values bare when the query language reads them back unchanged, quoted otherwise", () => {
    const cases: [string | number | boolean, string][] = [
      ["error", "error"],
      [503, "503"],
      [true, "true"],
      ["web-01", "web-01"],
      ["/api/users", "/api/users"],
      ["10.0.0.5:5432", "10.0.0.5:5432"],
      ["db timeout", '"db timeout"'],
      ['say "hi"', '"say \\"hi\\""'],
      ["a\\b", '"a\\\\b"'],
      ["err*", '"err*"'],
      ["(x)", '"(x)"'],
      ["[1 TO 2]", '"[1 TO 2]"'],
      [">=5", '">=5"'],
      ["", '""'],
      ["-3", '"-3"'],
    ];
    for (const [value, written] of cases) expect(quoteValue(value)).toBe(written);
  });

  it("makes clauses the parser turns into exactly that field and value", () => {
    for (const value of ["error", "db timeout", 'say "hi"', "a\\b", "err*", "(x)", "[1 TO 2]", ">=5", "10.0.0.5:5432", "AND", "-3"]) {
      const clause = fieldClause("json.msg", value)!;
      expect(parseQuery(clause)).toEqual({ type: "term", field: "json.msg", value });
    }
    expect(fieldClause("json.has space", "x")).toBeUndefined();
    expect(fieldClause("tag", "web")).toBe("tag:web");
  });

  it("narrows the query: appended, parenthesised around an OR, never twice", () => {
    expect(addClause("", "json.level:error")).toBe("json.level:error");
    expect(addClause("*", "json.level:error")).toBe("json.level:error");
    expect(addClause("timeout", "json.level:error")).toBe("timeout json.level:error");
    expect(addClause("a OR b", "tag:web")).toBe("(a OR b) tag:web");
    expect(addClause("tag:web", "tag:web")).toBe("tag:web");
    expect(addClause("x tag:web", "tag:web")).toBe("x tag:web");
    expect(addClause("ORDERS", "tag:web")).toBe("ORDERS tag:web");
    // The narrowed query means "the old one AND the clause".
    expect(parseQuery(addClause("a OR b", "tag:web"))).toEqual({
      type: "and",
      children: [
        { type: "or", children: [{ type: "text", value: "a", phrase: false }, { type: "text", value: "b", phrase: false }] },
        { type: "term", field: "tag", value: "web" },
      ],
    });
  });
});

describe("web UI: the URL holds the search", () => {
  it("round-trips query and range through the hash", () => {
    const state = { page: "search" as const, q: 'json.level:error AND "db timeout" & more', from: "2024-03-10T12:00:00.000Z", until: "2024-03-10T12:30:00.000Z" };
    expect(parseHash(formatHash(state))).toEqual(state);
    expect(formatHash({ ...DEFAULT_ROUTE, page: "fields" })).toBe("#/fields");
    expect(parseHash("")).toEqual(DEFAULT_ROUTE);
    expect(parseHash("#/nowhere?q=x")).toEqual({ ...DEFAULT_ROUTE, q: "x" });
    expect(parseHash("#/tail?q=tag%3Aweb")).toEqual({ ...DEFAULT_ROUTE, page: "tail", q: "tag:web" });
  });
});

describe("web UI: time", () => {
  const now = Date.UTC(2024, 2, 10, 12, 0, 0);
  it("reads the API's time values", () => {
    expect(resolveTime("now", now)).toBe(now);
    expect(resolveTime("-10m", now)).toBe(now - 600_000);
    expect(resolveTime("-7d", now)).toBe(now - 7 * 86_400_000);
    expect(resolveTime("1710072000000", now)).toBe(1710072000000);
    expect(resolveTime("2024-03-10T11:00:00.000Z", now)).toBe(now - 3_600_000);
    expect(resolveTime("2024-03-10T11:00:00", now)).toBe(now - 3_600_000);
    expect(resolveTime("garbage", now)).toBeUndefined();
    expect(describeRange("-1h", "now", now)).toBe("Last hour");
    expect(describeRange("-3h", "now", now)).toBe("Last 3 hours");
    expect(describeRange("-1w", "now", now)).toBe("Last 1 week");
    expect(describeRange("-15m", "now", now)).toBe("Last 15 minutes");
  });

  it("fills the buckets the API leaves out with zeros", () => {
    const filled = fillBuckets([{ time: 120_000, count: 4 }], 30_000, 200_000, 60_000);
    expect(filled).toEqual([
      { time: 0, count: 0 },
      { time: 60_000, count: 0 },
      { time: 120_000, count: 4 },
      { time: 180_000, count: 0 },
    ]);
  });
});

describe("web UI: events and source setup", () => {
  it("flattens an event's fields the way queries address them", () => {
    const fields = eventFields({ event: { syslog: { appName: "billing", sd: { origin: { ip: "1.2.3.4" } } }, json: { level: "error", tags: ["a", "b"], empty: null, req: { status: 503 } } } });
    expect(fields).toEqual([
      ["syslog.appName", "billing"],
      ["syslog.sd.origin.ip", "1.2.3.4"],
      ["json.level", "error"],
      ["json.tags", "a"],
      ["json.tags", "b"],
      ["json.req.status", 503],
    ]);
  });

  it("puts the token, host and ports into Loggly's templates", () => {
    const token = "5e4f0c72-b0dd-413e-96e2-c87f0bff5ee0";
    const s = Object.fromEntries(setupSnippets({ syslogHost: "logs.example.com", syslogPort: 5514, httpBase: "http://logs.example.com:8080", token }).map((x) => [x.id, x.text]));
    expect(s.rsyslog).toContain(`[${token}@41058 tag=\\"rsyslog\\"] %msg%\\n`);
    expect(s.rsyslog).toContain('target="logs.example.com" port="5514"');
    expect(s["syslog-ng"]).toContain(`loggly(host("logs.example.com") port(5514) token("${token}")`);
    expect(s.logger).toContain(`-P 5514 -T --octet-count --rfc5424 --sd-id ${token}@41058`);
    expect(s["curl-inputs"]).toContain(`http://logs.example.com:8080/inputs/${token}/tag/http/`);
    expect(s["curl-bulk"]).toContain(`http://logs.example.com:8080/bulk/${token}/tag/bulk/`);
  });
});

describe("web UI: an event's sources (surrounding events)", () => {
  it("offers its syslog host and app, the HTTP sender and each tag, as clauses the query language reads back", () => {
    const syslog = { id: "1", timestamp: 0, tags: ["web", "prod eu"], logtypes: ["syslog"], raw: "", logmsg: "", unparsed: null, event: { syslog: { host: "web-01", appName: "nginx" } } };
    const sources = sourcesOf(syslog as unknown as Parameters<typeof sourcesOf>[0]);
    expect(sources).toEqual([
      { label: "host web-01", clause: "syslog.host:web-01" },
      { label: "app nginx", clause: "syslog.appName:nginx" },
      { label: "tag web", clause: "tag:web" },
      { label: "tag prod eu", clause: 'tag:"prod eu"' },
    ]);
    for (const s of sources) expect(() => parseQuery(s.clause)).not.toThrow();
    const http = { ...syslog, tags: [], event: { http: { clientHost: "10.0.0.5" }, json: { a: 1 } } };
    expect(sourcesOf(http as unknown as Parameters<typeof sourcesOf>[0])).toEqual([{ label: "sender 10.0.0.5", clause: "http.clientHost:10.0.0.5" }]);
    expect(sourcesOf({ ...syslog, tags: [], event: {} } as unknown as Parameters<typeof sourcesOf>[0])).toEqual([]);
  });
});

describe("web UI: time ranges", () => {
  it("offers the presets Loggly users reach for, each a range the API reads", () => {
    expect(PRESETS.map((p) => p.label)).toEqual(["10 min", "15 min", "30 min", "1 h", "4 h", "12 h", "24 h", "7 d"]);
    const now = Date.UTC(2026, 0, 1);
    for (const p of PRESETS) expect(resolveTime(p.from, now)).toBeLessThan(now);
  });

  it("reads a typed relative range, leniently, and refuses what is not one", () => {
    expect(relativeRange("-15m")).toBe("-15m");
    expect(relativeRange("15m")).toBe("-15m");
    expect(relativeRange(" - 2 H ")).toBe("-2h");
    expect(relativeRange("-3d")).toBe("-3d");
    for (const bad of ["", "-0m", "15", "m", "-15x", "-1.5h", "yesterday", "-1234567m"]) expect(relativeRange(bad), bad).toBeUndefined();
  });
});

describe("web UI: a readable event list", () => {
  const ev = (event: Record<string, unknown>, logmsg = "the text") => ({ logmsg, raw: logmsg, event }) as unknown as Parameters<typeof rowMessage>[0];
  it("leads a JSON event's row with its message field, a syslog row with host and app", () => {
    expect(rowMessage(ev({ json: { level: "info", message: "user  signed\nin" } }, '{"level":"info"}'))).toBe("user signed in");
    expect(rowMessage(ev({ json: { msg: "short form" } }))).toBe("short form");
    expect(rowMessage(ev({ json: { message: 42 } }, "as sent"))).toBe("as sent");
    expect(rowMessage(ev({ syslog: { host: "web-01" } }, "GET /"))).toBe("GET /");
    expect(rowSource(ev({ syslog: { host: "web-01", appName: "nginx" } }))).toBe("web-01 nginx");
    expect(rowSource(ev({ syslog: { host: "web-01", appName: "-" } }))).toBe("web-01");
    expect(rowSource(ev({ json: {} }))).toBeUndefined();
  });

  it("reads the level from JSON level fields and syslog severities", () => {
    expect(levelOf(ev({ json: { level: "ERROR" } }))).toBe("error");
    expect(levelOf(ev({ json: { severity: "warning" } }))).toBe("warn");
    expect(levelOf(ev({ json: { level: "fatal" } }))).toBe("error");
    expect(levelOf(ev({ syslog: { severity: "Critical" } }))).toBe("error");
    expect(levelOf(ev({ syslog: { severity: "Informational" } }))).toBe("info");
    expect(levelOf(ev({ syslog: { severity: "Debug" } }))).toBe("debug");
    expect(levelOf(ev({ json: { level: "loud" } }))).toBeUndefined();
    expect(levelOf(ev({}))).toBeUndefined();
  });

  it("highlights the query's words and phrases, not operators, excluded words or field names", () => {
    expect(highlightTerms('json.level:error AND "disk full" NOT noise -other tag:web')).toEqual(["error", "disk full", "web"]);
    expect(highlightTerms("err* json.status:>=500")).toEqual(["err", "500"]);
    expect(highlightTerms("*")).toEqual([]);
    expect(markTerms("The DB timeout at db", ["db", "timeout"])).toEqual([
      { text: "The ", hit: false },
      { text: "DB", hit: true },
      { text: " ", hit: false },
      { text: "timeout", hit: true },
      { text: " at ", hit: false },
      { text: "db", hit: true },
    ]);
    expect(markTerms("a+b (c)", ["+b (c"])).toEqual([
      { text: "a", hit: false },
      { text: "+b (c", hit: true },
      { text: ")", hit: false },
    ]);
  });
});

describe("web UI: query help", () => {
  const known = ["json.level", "json.status", "syslog.severity", "syslog.appName", "http.level"];
  it("suggests the known field a bare field name most likely means, JSON first", () => {
    expect(suggestFields("level:error", known)).toBe("json.level:error");
    expect(suggestFields("timeout AND (appName:nginx OR level:warn)", known)).toBe("timeout AND (syslog.appName:nginx OR json.level:warn)");
    expect(suggestFields("json.level:error", known)).toBeUndefined();
    expect(suggestFields("tag:web logtype:json", known)).toBeUndefined();
    expect(suggestFields("colour:red", known)).toBeUndefined();
    expect(suggestFields('"level:error"', known)).toBeUndefined();
    for (const q of [suggestFields("level:error", known)!, suggestFields("timeout AND (appName:nginx OR level:warn)", known)!]) expect(() => parseQuery(q)).not.toThrow();
  });

  it("remembers the last ten queries searched, newest first, each once", () => {
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    for (let i = 0; i < 12; i++) rememberQuery(`q${i}`, storage);
    rememberQuery("q5", storage);
    rememberQuery("  ", storage);
    rememberQuery("*", storage);
    expect(recentQueries(storage)).toEqual(["q5", "q11", "q10", "q9", "q8", "q7", "q6", "q4", "q3", "q2"]);
    items.set("unmeltable.recentQueries", "not json");
    expect(recentQueries(storage)).toEqual([]);
  });
});

describe("web UI: times in UTC when chosen", () => {
  it("formats and reads times in UTC, 24 h, and puts the date on a tick where a day begins", () => {
    const before = zoneMode();
    setZoneMode("utc");
    try {
      const t = Date.UTC(2026, 11, 31, 23, 59, 58, 7);
      expect(formatTimestamp(t)).toBe("2026-12-31 23:59:58.007");
      expect(toLocalInput(t)).toBe("2026-12-31T23:59");
      expect(fromLocalInput("2026-12-31T23:59")).toBe(Date.UTC(2026, 11, 31, 23, 59));
      expect(zoneName()).toBe("UTC");
      expect(formatTick(Date.UTC(2027, 0, 1, 0, 30), 6 * 3_600_000, Date.UTC(2026, 11, 31, 23, 0))).toBe("Jan 1, 00:30");
      expect(formatTick(Date.UTC(2027, 0, 1, 1, 30), 6 * 3_600_000, Date.UTC(2027, 0, 1, 0, 30))).toBe("01:30");
    } finally {
      setZoneMode(before);
    }
  });
});

describe("web UI: numeric aggregates in the field browser", () => {
  it("treats a field as numeric when most of its top values are numbers or read as numbers", () => {
    expect(looksNumeric([{ term: 12 }, { term: "40" }, { term: "n/a" }])).toBe(true);
    expect(looksNumeric([{ term: 12 }, { term: "GET" }, { term: "POST" }])).toBe(false);
    expect(looksNumeric([{ term: 1 }, { term: "x" }])).toBe(false); // half is not most
    expect(looksNumeric([])).toBe(false);
  });

  it("writes figures as people read them: separators, decimals by size, exponents at the extremes", () => {
    expect(formatStat(4096, "en")).toBe("4,096");
    expect(formatStat(364.575, "en")).toBe("364.6");
    expect(formatStat(12.3456, "en")).toBe("12.35");
    expect(formatStat(0.0012345, "en")).toBe("0.00123");
    expect(formatStat(-2.5e22, "en")).toBe("-2.50e+22");
    expect(formatStat(1e-9, "en")).toBe("1.00e-9");
  });
});
