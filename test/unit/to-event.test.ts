import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { LogEvent } from "../../packages/core/src/event";
import type { RawRecord, Transport } from "../../packages/core/src/raw-record";
import { parseKeyValue } from "../../packages/core/src/process/key-value";
import { epochToMs } from "../../packages/core/src/process/timestamps";
import { flattenFields, MAX_FUTURE_DRIFT_MS, toEvent, type ToEventOptions } from "../../packages/core/src/process/to-event";
import { seededRandom } from "../helpers/seeded";

/**
 * Corpus entry (test/fixtures/process-corpus.json). Timestamps are ISO strings worked out by hand from the input.
 * `expect.event` is matched with toMatchObject (a subset); `absent` lists dotted paths under `event` that must
 * not exist (`"http"` = no http namespace, `"syslog.procid"` = no such field).
 */
interface CorpusEntry {
  name: string;
  transport: Transport;
  receivedAt: string;
  raw: string;
  remote?: string;
  tags?: string[];
  contentType?: string;
  timeZone?: string;
  flags?: string[];
  rawBytes?: string;
  expect: {
    logtypes: string[];
    timestamp: string;
    logmsg: string;
    unparsed: string | null;
    event: Record<string, unknown>;
  };
  absent?: string[];
}

const corpus = JSON.parse(
  readFileSync(new URL("../fixtures/process-corpus.json", import.meta.url), "utf8"),
) as CorpusEntry[];

const at = (iso: string): number => Date.parse(iso);
const ID = "0190a5c0-0000-7000-8000-000000000000";
const TOKEN = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

function record(raw: string, extra: Partial<RawRecord> = {}): RawRecord {
  return {
    id: ID,
    tenant: "acme",
    receivedAt: at("2024-03-15T10:00:00Z"),
    transport: "https",
    remote: "192.0.2.10",
    collector: "c1",
    tags: [],
    raw,
    ...extra,
  };
}

function recordOf(entry: CorpusEntry): RawRecord {
  const rec = record(entry.raw, {
    transport: entry.transport,
    receivedAt: at(entry.receivedAt),
    remote: entry.remote ?? "192.0.2.10",
    tags: entry.tags ?? [],
  });
  if (entry.contentType !== undefined) rec.contentType = entry.contentType;
  if (entry.flags !== undefined) rec.flags = entry.flags;
  if (entry.rawBytes !== undefined) rec.rawBytes = entry.rawBytes;
  return rec;
}

function hasPath(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key)) return false;
    cur = (cur as Record<string, unknown>)[key];
  }
  return true;
}

describe("process corpus (test/fixtures/process-corpus.json)", () => {
  it("has at least 40 entries with unique names", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((e) => e.name)).size).toBe(corpus.length);
  });

  it.each(corpus)("$name", (entry) => {
    const opts: ToEventOptions = entry.timeZone === undefined ? {} : { timeZone: entry.timeZone };
    const rec = recordOf(entry);
    const ev = toEvent(rec, opts);

    expect(ev.logtypes).toEqual(entry.expect.logtypes);
    expect(new Date(ev.timestamp).toISOString()).toBe(new Date(at(entry.expect.timestamp)).toISOString());
    expect(ev.logmsg).toBe(entry.expect.logmsg);
    expect(ev.unparsed).toBe(entry.expect.unparsed);
    expect(ev.event).toMatchObject(entry.expect.event);
    for (const path of entry.absent ?? []) expect(hasPath(ev.event, path), `event.${path} must be absent`).toBe(false);

    // The envelope is carried over unchanged.
    expect(ev).toMatchObject({ id: ID, tenant: "acme", receivedAt: rec.receivedAt, tags: rec.tags, raw: entry.raw });
    // http.* exactly for HTTP transports.
    const http = entry.transport === "http" || entry.transport === "https";
    expect(hasPath(ev.event, "http")).toBe(http);
    if (http) expect(ev.event.http!.clientHost).toBe(rec.remote);
  });

  it("never puts the Loggly token into fields", () => {
    for (const entry of corpus) {
      for (const [path, value] of flattenFields(toEvent(recordOf(entry)))) {
        expect(path.includes("@41058") || String(value).includes(TOKEN), `${entry.name}: ${path}`).toBe(false);
      }
    }
  });
});

describe("envelope", () => {
  it("does not treat an rfc5424 token element as SD, over syslog or HTTP, and keeps other elements", () => {
    const line = `<13>1 2024-03-15T10:00:00Z h app - - [${TOKEN}@41058 tag="x"][origin@0 ip="10.0.0.1" ip="10.0.0.2"] hi`;
    for (const transport of ["tcp", "udp", "tls", "https"] as const) {
      const ev = toEvent(record(line, { transport }));
      expect(ev.event.syslog).toMatchObject({ sd: { "origin@0": { ip: ["10.0.0.1", "10.0.0.2"] } } });
      expect(Object.keys(ev.event.syslog!.sd as object)).toEqual(["origin@0"]);
      expect(JSON.stringify(ev.event)).not.toContain(TOKEN);
      const flat = flattenFields(ev);
      expect(flat.filter(([p]) => p.startsWith("syslog.sd."))).toEqual([
        ["syslog.sd.origin@0.ip", "10.0.0.1"],
        ["syslog.sd.origin@0.ip", "10.0.0.2"],
      ]);
      expect(flat.some(([p, v]) => p.includes(TOKEN) || String(v).includes(TOKEN))).toBe(false);
    }
  });

  it("never writes '-' or null for absent syslog header values", () => {
    const ev = toEvent(record("<14>1 - - - - - - msg", { transport: "tcp" }));
    expect(ev.event.syslog).toEqual({ priority: 14, facility: "user", severity: "Informational", host: "192.0.2.10" });
    expect(ev.logtypes).toEqual(["syslog"]);
  });

  it("leaves contentType out when the request had none", () => {
    expect(toEvent(record("x")).event.http).toEqual({ clientHost: "192.0.2.10" });
    expect(toEvent(record("x", { contentType: "text/plain" })).event.http).toEqual({ clientHost: "192.0.2.10", contentType: "text/plain" });
  });

  it("uses logmsg, not the header, for body detection over HTTP (pri-only stays text)", () => {
    const ev = toEvent(record('<13>{"a":1}'));
    expect(ev.logtypes).toEqual([]);
    expect(ev.event).not.toHaveProperty("json");
  });

  it("falls back to a minimal event instead of throwing on a broken record", () => {
    const broken = { id: ID, tenant: "t", receivedAt: 1, transport: "https", remote: "r", collector: "c", tags: null, raw: null } as unknown as RawRecord;
    const ev = toEvent(broken);
    expect(typeof ev.timestamp).toBe("number");
    expect(ev.logtypes).toEqual([]);
    expect(() => toEvent(null as unknown as RawRecord)).not.toThrow();
  });
});

describe("key=value threshold", () => {
  it.each([
    ["retrying in a=b style", null],
    ["see x=1", null],
    ["user=alice", { user: "alice" }],
    ["a=1 b=2", { a: 1, b: 2 }],
    ["GET done user=alice status=200", { user: "alice", status: 200 }],
    ["x==y and z==w", null],
    ["https://e.com/?a=b&c=d", null],
    ["name=alice&plan=pro", null],
    ["path=/search?q=a&page=2 status=200", { path: "/search?q=a&page=2", status: 200 }],
  ])("%j", (text, expected) => {
    expect(parseKeyValue(text)).toEqual(expected);
  });

  it("unquotes, unescapes and keeps quoted numbers as strings", () => {
    expect(parseKeyValue(`msg="say \\"hi\\"" path='C:\\temp' n="42" m=42 z=007 f=1.5 e=1e3 neg=-3 host=a, port=22`)).toEqual({
      msg: 'say "hi"',
      path: "C:\\temp",
      n: "42",
      m: 42,
      z: "007",
      f: 1.5,
      e: "1e3",
      neg: -3,
      host: "a",
      port: 22,
    });
  });

  it("collects a repeated key into an array and never touches the prototype", () => {
    const kv = parseKeyValue("tag=a tag=b __proto__=x");
    expect(kv).toEqual({ tag: ["a", "b"], ["__proto__"]: "x" });
    expect(Object.getPrototypeOf(kv)).toBe(Object.prototype);
  });

  it("only looks at the first 4 KiB", () => {
    const text = `${"word ".repeat(1000)}a=1 b=2`;
    expect(parseKeyValue(text)).toBeNull();
    expect(parseKeyValue(`a=1 b=2 ${"word ".repeat(1000)}`)).toEqual({ a: 1, b: 2 });
  });
});

describe("access logs: apache or nginx", () => {
  const line = '10.0.0.1 - - [15/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"';
  it.each([
    ["no hint", {}, "apache"],
    ["syslog appName httpd", { raw: `<14>Mar 15 10:00:00 h httpd: ${line}`, transport: "udp" }, "apache"],
    ["syslog appName nginx", { raw: `<14>Mar 15 10:00:00 h nginx: ${line}`, transport: "udp" }, "nginx"],
    ["tag nginx", { tags: ["nginx"] }, "nginx"],
    ["tag containing NGINX", { tags: ["edge-NGINX-1"] }, "nginx"],
  ] as const)("%s → %s", (_name, extra, logtype) => {
    const ev = toEvent(record(line, extra as Partial<RawRecord>));
    expect(ev.logtypes.at(-1)).toBe(logtype);
    expect(ev.event[logtype]).toMatchObject({ clientHost: "10.0.0.1", status: 200, size: 5, userAgent: "x" });
  });

  it("unescapes Apache's \\\" in the request and user agent", () => {
    const ev = toEvent(record('1.2.3.4 - - [15/Mar/2024:10:00:00 +0000] "GET /a\\"b HTTP/1.1" 400 0 "-" "evil \\"agent\\""'));
    expect(ev.event.apache).toMatchObject({ url: '/a"b', userAgent: 'evil "agent"', status: 400 });
  });

  it("a request line that is not a request keeps status and size only", () => {
    const ev = toEvent(record('1.2.3.4 - - [15/Mar/2024:10:00:00 +0000] "-" 400 0 "-" "-"'));
    expect(ev.event.apache).toEqual({ clientHost: "1.2.3.4", timestamp: "2024-03-15T10:00:00.000Z", status: 400, size: 0 });
  });
});

describe("timestamps", () => {
  it("tells epoch seconds, ms, µs and ns apart by magnitude and rejects implausible numbers", () => {
    const ms = at("2024-03-15T09:59:00.123Z");
    expect(epochToMs(1710496740.123)).toBe(ms);
    expect(epochToMs(ms)).toBe(ms);
    expect(epochToMs(ms * 1000)).toBe(ms);
    expect(epochToMs(ms * 1e6)).toBe(ms);
    for (const v of [0, 12.5, 86_400, 5e11, 5e14, 5e17, 1e21, -1710496740, Number.NaN, Infinity]) expect(epochToMs(v)).toBeNaN();
  });

  it("the drift guard believes up to 24 h ahead and no more", () => {
    const receivedAt = at("2024-03-15T10:00:00Z");
    const ahead = (ms: number) => toEvent(record(`{"ts":${receivedAt + ms}}`, { receivedAt })).timestamp;
    expect(ahead(MAX_FUTURE_DRIFT_MS)).toBe(receivedAt + MAX_FUTURE_DRIFT_MS);
    expect(ahead(MAX_FUTURE_DRIFT_MS + 1)).toBe(receivedAt);
    expect(ahead(-365 * 86_400_000)).toBe(receivedAt - 365 * 86_400_000); // late events are believed
  });

  it("reads offset-less times in the configured zone, across DST, and treats an unknown zone as UTC", () => {
    // receivedAt a few hours after the stamp, so that the drift guard is not what is tested here
    const ev = (ts: string, timeZone?: string) =>
      toEvent(record(`{"time":"${ts}"}`, { receivedAt: at(`${ts}Z`) + 6 * 3_600_000 }), { timeZone }).timestamp;
    expect(ev("2024-01-15T10:00:00", "Europe/Berlin")).toBe(at("2024-01-15T09:00:00Z"));
    expect(ev("2024-07-15T10:00:00", "Europe/Berlin")).toBe(at("2024-07-15T08:00:00Z"));
    expect(ev("2024-03-10T10:00:00", "Not/AZone")).toBe(at("2024-03-10T10:00:00Z"));
    expect(ev("2024-03-10T10:00:00")).toBe(at("2024-03-10T10:00:00Z"));
  });

  it("takes the first usable field in the order timestamp, @timestamp, time, ts, datetime", () => {
    const ev = toEvent(record('{"datetime":"2024-03-15T01:00:00Z","time":"not a time","ts":"2024-03-15T02:00:00Z"}'));
    expect(ev.timestamp).toBe(at("2024-03-15T02:00:00Z"));
  });
});

describe("flattenFields", () => {
  function event(fields: LogEvent["event"], extra: Partial<LogEvent> = {}): LogEvent {
    return { id: ID, tenant: "t", receivedAt: 0, timestamp: 0, tags: [], logtypes: [], raw: "", logmsg: "", unparsed: null, event: fields, ...extra };
  }

  it("takes a stored document of another shape (no tags, logtypes or fields; odd types) without throwing", () => {
    const odd = { id: ID, tenant: "t", receivedAt: 0, timestamp: 0, raw: "x" } as unknown as LogEvent;
    expect(flattenFields(odd)).toEqual([]);
    expect(flattenFields({ ...odd, event: "text", tags: "prod", logtypes: [7, "json"] } as unknown as LogEvent)).toEqual([["logtype", "json"]]);
  });

  it("dots nested paths, repeats array paths, flattens objects in arrays, skips nulls", () => {
    const flat = flattenFields(
      event(
        {
          json: {
            level: "info",
            ok: true,
            n: 0,
            nothing: null,
            req: { headers: { accept: "text/html" } },
            ids: [1, 2, null, [3]],
            items: [{ sku: "a", qty: 1 }, { sku: "b" }],
            empty: {},
          },
          syslog: { host: "h" },
        },
        { tags: ["prod", "web"], logtypes: ["syslog", "json"] },
      ),
    );
    expect(flat).toEqual([
      ["json.level", "info"],
      ["json.ok", true],
      ["json.n", 0],
      ["json.req.headers.accept", "text/html"],
      ["json.ids", 1],
      ["json.ids", 2],
      ["json.ids", 3],
      ["json.items.sku", "a"],
      ["json.items.qty", 1],
      ["json.items.sku", "b"],
      ["syslog.host", "h"],
      ["tag", "prod"],
      ["tag", "web"],
      ["logtype", "syslog"],
      ["logtype", "json"],
    ]);
  });

  it("skips paths over 256 chars and values over 1024 chars", () => {
    const longKey = "k".repeat(260);
    const flat = flattenFields(
      event({ json: { [longKey]: "v", ok: "x".repeat(1024), big: "x".repeat(1025), deep: { [ "d".repeat(250)]: { x: 1 } } } }),
    );
    expect(flat.map(([p]) => p)).toEqual(["json.ok"]);
  });

  it("survives deeply nested JSON without overflowing the stack", () => {
    const depth = 5000;
    const body = `{"a":${"[".repeat(depth)}1${"]".repeat(depth)}}`;
    const ev = toEvent(record(body));
    expect(ev.logtypes).toEqual(["json"]);
    expect(() => flattenFields(ev)).not.toThrow();
  });

  it("gives the paths queries use for every log type in the corpus", () => {
    const paths = new Set(corpus.flatMap((e) => flattenFields(toEvent(recordOf(e), { timeZone: e.timeZone })).map(([p]) => p)));
    const expected = [
      "syslog.host",
      "syslog.appName",
      "syslog.severity",
      "syslog.facility",
      "json.req.headers.accept",
      "apache.status",
      "nginx.status",
      "http.clientHost",
      "kv.srcport",
      "gc.pauseMs",
      "java.exception",
      "tag",
      "logtype",
    ];
    for (const p of expected) {
      expect(paths.has(p), p).toBe(true);
    }
  });
});

describe("fuzz: toEvent never throws and always returns a well-formed event", () => {
  const prng = seededRandom;

  /** Fragments that steer mutations into every parser's edge cases (and lone surrogates, NULs, BOMs). */
  const PIECES = [
    ..."<>[]{}\"\\= \n\t-/)KZ",
    "<13>",
    "<165>1 ",
    "\tat ",
    "at a.B.c(D.java:1)",
    "Caused by: ",
    "Exception in thread \"x\" ",
    "java.lang.X: ",
    "GC(",
    "Pause ",
    "->",
    "M(",
    "secs",
    "ms",
    ": ",
    "2024-03-15T10:00:00",
    "+0000",
    "15/Mar/2024:10:00:00 +0000",
    "@41058",
    "@cee:",
    "__proto__",
    "\uFEFF",
    "\uFFFD",
    "\uD800",
    "\u0000",
    "9".repeat(30),
    "1e309",
  ];
  const TRANSPORTS: Transport[] = ["udp", "tcp", "tls", "http", "https"];
  const LOGTYPES = new Set(["syslog", "json", "kv", "apache", "nginx", "gc", "java"]);
  const ZONES = [undefined, "UTC", "Europe/Berlin", "America/New_York", "Bogus/Zone", ""];

  function mutate(rand: () => number, base: string): string {
    let s = base;
    const ops = 1 + Math.floor(rand() * 6);
    for (let k = 0; k < ops; k++) {
      const pos = Math.floor(rand() * (s.length + 1));
      const r = rand();
      if (r < 0.3) s = s.slice(0, pos) + PIECES[Math.floor(rand() * PIECES.length)] + s.slice(pos);
      else if (r < 0.5) s = s.slice(0, pos) + s.slice(pos + 1 + Math.floor(rand() * 8));
      else if (r < 0.65) s = s.slice(0, pos);
      else if (r < 0.8) s = s.slice(0, pos) + String.fromCharCode(Math.floor(rand() * 0x10000)) + s.slice(pos + 1);
      else if (r < 0.9) s = s.slice(0, pos) + s.slice(Math.floor(rand() * s.length), pos) + s.slice(pos);
      else s = s.slice(pos) + s.slice(0, pos);
    }
    return s;
  }

  function randomText(rand: () => number): string {
    let s = "";
    const n = Math.floor(rand() * 40);
    for (let k = 0; k < n; k++) {
      s += rand() < 0.5 ? PIECES[Math.floor(rand() * PIECES.length)] : String.fromCharCode(32 + Math.floor(rand() * 95));
    }
    return s;
  }

  it("5,000 random and mutated inputs", () => {
    const rand = prng(0x5eed);
    const bases = corpus.map((e) => e.raw);
    const problems: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const raw = i % 4 === 0 ? randomText(rand) : mutate(rand, bases[Math.floor(rand() * bases.length)]!);
      const receivedAt = i % 97 === 0 ? Number.NaN : at("2024-03-15T10:00:00Z") + Math.floor((rand() - 0.5) * 4e10);
      const rec = record(raw, {
        transport: TRANSPORTS[Math.floor(rand() * TRANSPORTS.length)]!,
        receivedAt,
        tags: rand() < 0.2 ? ["nginx"] : [],
        contentType: rand() < 0.5 ? "application/json" : undefined,
      });
      const timeZone = ZONES[Math.floor(rand() * ZONES.length)];
      let e: LogEvent;
      try {
        e = toEvent(rec, { timeZone });
      } catch (err) {
        problems.push(`threw ${String(err)} for ${JSON.stringify(raw)}`);
        continue;
      }
      const bad = (what: string) => problems.push(`${what} for ${JSON.stringify(raw)}`);
      if (typeof e.timestamp !== "number" || !Number.isFinite(e.timestamp)) bad(`timestamp ${e.timestamp}`);
      if (e.id !== ID || e.tenant !== "acme" || e.raw !== raw) bad("envelope changed");
      if (Number.isFinite(receivedAt) && e.receivedAt !== receivedAt) bad("receivedAt changed");
      if (typeof e.logmsg !== "string") bad("logmsg not a string");
      if (!(e.unparsed === null || e.unparsed === e.logmsg)) bad("unparsed is neither null nor logmsg");
      if ((e.unparsed === null) !== e.logtypes.some((t) => t !== "syslog")) bad("unparsed disagrees with logtypes");
      if (new Set(e.logtypes).size !== e.logtypes.length) bad(`duplicate logtypes ${e.logtypes}`);
      for (const t of e.logtypes) if (!LOGTYPES.has(t)) bad(`unknown logtype ${t}`);
      if (typeof e.event !== "object" || e.event === null) bad("event not an object");
      // The catch-all fallback event has no envelope fields; reaching it means a parser threw.
      else if (rec.transport === "http" || rec.transport === "https" ? !e.event.http : !e.event.syslog) bad("parser threw (fallback event)");
      for (const [path, value] of flattenFields(e)) {
        if (path.length > 256) bad(`path too long ${path.length}`);
        if (typeof value === "string" ? value.length > 1024 : typeof value !== "number" && typeof value !== "boolean") bad(`bad value at ${path}`);
      }
      JSON.stringify(e);
    }
    expect(problems).toEqual([]);
  });
});
