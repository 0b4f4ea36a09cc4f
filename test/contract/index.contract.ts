import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDerivedRules, compileRule, InvalidCursorError, MAX_HISTOGRAM_BUCKETS, newEventId, parseQuery, toEvent, validateDerivedRule, type IndexPort, type LogEvent, type SearchQuery } from "@unmeltable/core";

/**
 * The index port's contract; every adapter runs it (embedded SQLite, OpenSearch through recorded
 * responses or a live cluster). Tenant names are unique per run, so it also runs against a shared cluster.
 */
export interface IndexHarness {
  index: IndexPort;
  /** Make writes visible to searches (OpenSearch: refresh); no-op where writes are visible at once. */
  refresh(): Promise<void>;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday noon

export function makeEvent(tenant: string, at: number, fields: Partial<LogEvent> & { json?: Record<string, unknown>; host?: string; app?: string } = {}): LogEvent {
  const host = fields.host ?? "web-01";
  const app = fields.app ?? "api";
  const raw = fields.raw ?? `<14>1 ${new Date(at).toISOString()} ${host} ${app} - - - ${fields.logmsg ?? "hello world"}`;
  return {
    id: fields.id ?? newEventId(at),
    timestamp: at,
    receivedAt: at,
    tenant,
    tags: fields.tags ?? [],
    logtypes: fields.logtypes ?? (fields.json ? ["syslog", "json"] : ["syslog"]),
    raw,
    logmsg: fields.logmsg ?? "hello world",
    unparsed: null,
    event: fields.json ? { syslog: { host, appName: app, severity: "Informational" }, json: fields.json as never } : { syslog: { host, appName: app, severity: "Informational" } },
  };
}

export function indexContract(name: string, makeHarness: () => Promise<IndexHarness>): void {
  describe(`index contract: ${name}`, () => {
    let h: IndexHarness;
    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      await h.index.close();
      await h.cleanup();
    });
    const tenantName = () => `t${randomUUID().slice(0, 8)}`;
    const all = (tenant: string, from = BASE - 30 * 86_400_000, until = BASE + 30 * 86_400_000): SearchQuery => ({ tenant, query: parseQuery("*"), from, until });
    const docs = (events: LogEvent[]) => events.map((e) => JSON.stringify(e));

    it("stores each event once: a repeated id is reported as existing, in the same batch or a later one", async () => {
      const t = tenantName();
      const a = makeEvent(t, BASE);
      const b = makeEvent(t, BASE + 1000);
      expect((await h.index.write(t, docs([a, b, a]))).map((r) => r.status)).toEqual(["created", "created", "exists"]);
      expect((await h.index.write(t, docs([b]))).map((r) => r.status)).toEqual(["exists"]);
      await h.refresh();
      expect(await h.index.count(all(t))).toBe(2);
    });

    it("rejects a document that is not an event without losing its neighbours", async () => {
      const t = tenantName();
      const good = makeEvent(t, BASE);
      const results = await h.index.write(t, [JSON.stringify(good), "{not json", JSON.stringify({ hello: "world" })]);
      expect(results.map((r) => r.status)).toEqual(["created", "rejected", "rejected"]);
      expect(results[1]!.error).toBeTruthy();
      await h.refresh();
      const found = await h.index.search(all(t), { order: "desc", size: 10 });
      expect(found.events.map((e) => e.id)).toEqual([good.id]);
    });

    it("returns events newest first (or oldest first), within the inclusive time range, across time slices", async () => {
      const t = tenantName();
      // Spread over three days, so any slice length splits them.
      const events = [0, 1, 2, 25, 26, 50].map((hour) => makeEvent(t, BASE + hour * HOUR));
      await h.index.write(t, docs([...events].reverse()));
      await h.refresh();
      const desc = await h.index.search(all(t), { order: "desc", size: 10 });
      expect(desc.events.map((e) => e.timestamp)).toEqual(events.map((e) => e.timestamp).reverse());
      const asc = await h.index.search(all(t), { order: "asc", size: 10 });
      expect(asc.events.map((e) => e.timestamp)).toEqual(events.map((e) => e.timestamp));
      const window = await h.index.search({ ...all(t), from: BASE + HOUR, until: BASE + 25 * HOUR }, { order: "asc", size: 10 });
      expect(window.events.map((e) => e.timestamp)).toEqual([BASE + HOUR, BASE + 2 * HOUR, BASE + 25 * HOUR]);
      expect(await h.index.count({ ...all(t), from: BASE + HOUR, until: BASE + 25 * HOUR })).toBe(3);
    });

    it("pages by offset and by cursor without gaps or repeats", async () => {
      const t = tenantName();
      const events = Array.from({ length: 23 }, (_, i) => makeEvent(t, BASE + i * 60_000, { logmsg: `message ${i}` }));
      await h.index.write(t, docs(events));
      await h.refresh();
      const byOffset: string[] = [];
      for (let page = 0; page < 3; page++) byOffset.push(...(await h.index.search(all(t), { order: "desc", size: 10, offset: page * 10 })).events.map((e) => e.id));
      const byCursor: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await h.index.search(all(t), { order: "desc", size: 7, cursor });
        byCursor.push(...r.events.map((e) => e.id));
        cursor = r.cursor;
      } while (cursor);
      const expected = events.map((e) => e.id).reverse();
      expect(byOffset).toEqual(expected);
      expect(byCursor).toEqual(expected);
    });

    it("never shows one tenant's events to another", async () => {
      const a = tenantName();
      const b = tenantName();
      await h.index.write(a, docs([makeEvent(a, BASE, { logmsg: "secret of a" })]));
      await h.index.write(b, docs([makeEvent(b, BASE, { logmsg: "visible to b" })]));
      await h.refresh();
      const seenByB = await h.index.search({ ...all(b), query: parseQuery("*") }, { order: "desc", size: 10 });
      expect(seenByB.events.map((e) => e.logmsg)).toEqual(["visible to b"]);
      expect(await h.index.count({ ...all(b), query: parseQuery("secret") })).toBe(0);
      expect((await h.index.facet(all(b), "syslog.host", 10)).terms.reduce((n, t) => n + t.count, 0)).toBe(1);
    });

    it("counts facet values, filtered or not, biggest first", async () => {
      const t = tenantName();
      const events = [
        ...Array.from({ length: 5 }, (_, i) => makeEvent(t, BASE + i * 1000, { host: "web-01", json: { level: "error", status: 500 } })),
        ...Array.from({ length: 3 }, (_, i) => makeEvent(t, BASE + 10_000 + i * 1000, { host: "web-02", json: { level: "info", status: 200 } })),
        makeEvent(t, BASE + 20_000, { host: "db-01", json: { level: "info", status: 200 } }),
      ];
      await h.index.write(t, docs(events));
      await h.refresh();
      expect((await h.index.facet(all(t), "syslog.host", 10)).terms).toEqual([
        { term: "web-01", count: 5 },
        { term: "web-02", count: 3 },
        { term: "db-01", count: 1 },
      ]);
      expect((await h.index.facet(all(t), "syslog.host", 1)).terms).toEqual([{ term: "web-01", count: 5 }]);
      const filtered = await h.index.facet({ ...all(t), query: parseQuery("json.level:info") }, "json.status", 10);
      expect(filtered.terms).toEqual([{ term: 200, count: 4 }]);
    });

    it("counts facet values as term queries find them: case folded, in the most frequent spelling, with the true number of distinct values", async () => {
      const t = tenantName();
      const levels = ["ERROR", "ERROR", "ERROR", "ERROR", "error", "error", "error", "Error", "Error", "info", "info", "info", "info", "info", "warn"];
      await h.index.write(t, docs(levels.map((level, i) => makeEvent(t, BASE + i * 1000, { json: { level } }))));
      await h.refresh();
      const errors = await h.index.count({ ...all(t), query: parseQuery("json.level:error") });
      expect(errors).toBe(9);
      // Unfiltered (json.level has a roll-up in the embedded index) and filtered (events counted one by one).
      for (const query of ["*", "json.level:*"]) {
        const facet = await h.index.facet({ ...all(t), query: parseQuery(query) }, "json.level", 1);
        expect(facet.terms, query).toEqual([{ term: "ERROR", count: errors }]);
        expect({ distinct: facet.distinct, distinctExact: facet.distinctExact }, query).toEqual({ distinct: 3, distinctExact: true });
        const clicked = await h.index.count({ ...all(t), query: parseQuery(`json.level:"${String(facet.terms[0]!.term)}"`) });
        expect(clicked, query).toBe(facet.terms[0]!.count);
      }
      expect((await h.index.facet(all(t), "json.level", 10)).terms).toEqual([
        { term: "ERROR", count: 9 },
        { term: "info", count: 5 },
        { term: "warn", count: 1 },
      ]);
    });

    it("refuses a cursor it did not make with core's InvalidCursorError", async () => {
      const t = tenantName();
      await h.index.write(t, docs([makeEvent(t, BASE), makeEvent(t, BASE + 1000), makeEvent(t, BASE + 2000)]));
      await h.refresh();
      const made = (await h.index.search(all(t), { order: "desc", size: 1 })).cursor!;
      expect(made).toBeTruthy();
      const forged = ["bm9wZQ", "!!", "zzzzzzzzzzzzzzzzzzzz", Buffer.from(JSON.stringify([1e300, "x"])).toString("base64url"), Buffer.from(JSON.stringify(["a", 1])).toString("base64url"), `${made}!`];
      for (const cursor of forged) await expect(h.index.search(all(t), { order: "desc", size: 1, cursor }), cursor).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it("ends a page early at maxBytes of events, with a cursor that continues, and gives the last page no cursor", async () => {
      const t = tenantName();
      const events = Array.from({ length: 4 }, (_, i) => makeEvent(t, BASE + i * 1000, { logmsg: `message ${i} ${"x".repeat(2000)}` }));
      await h.index.write(t, docs(events));
      await h.refresh();
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await h.index.search(all(t), { order: "asc", size: 4, cursor, maxBytes: 3000 });
        // One event fits in 3000 characters, two do not: at least one event per page, whatever maxBytes.
        expect(r.events).toHaveLength(1);
        ids.push(...r.events.map((e) => e.id));
        cursor = r.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(ids).toEqual(events.map((e) => e.id));
      // A last page that is exactly full has no cursor either.
      const full = await h.index.search(all(t), { order: "asc", size: 2, offset: 2 });
      expect(full.events).toHaveLength(2);
      expect(full.cursor).toBeUndefined();
    });

    it("refuses a histogram of more than MAX_HISTOGRAM_BUCKETS buckets", async () => {
      const t = tenantName();
      await expect(h.index.histogram({ ...all(t), from: 0, until: MAX_HISTOGRAM_BUCKETS * 1000 }, 1000)).rejects.toBeInstanceOf(RangeError);
      expect(await h.index.histogram({ ...all(t), from: 0, until: (MAX_HISTOGRAM_BUCKETS - 1) * 1000 }, 1000)).toHaveLength(MAX_HISTOGRAM_BUCKETS);
    });

    it("counts events per time bucket, empty buckets included", async () => {
      const t = tenantName();
      const events = [0, 10, 20, 70, 200].map((s) => makeEvent(t, BASE + s * 1000, { logmsg: s < 100 ? "tick" : "tock" }));
      await h.index.write(t, docs(events));
      await h.refresh();
      const q = { ...all(t), from: BASE, until: BASE + 239_999 };
      expect(await h.index.histogram(q, 60_000)).toEqual([
        { time: BASE, count: 3 },
        { time: BASE + 60_000, count: 1 },
        { time: BASE + 120_000, count: 0 },
        { time: BASE + 180_000, count: 1 },
      ]);
      expect((await h.index.histogram({ ...q, query: parseQuery("tick") }, 60_000)).map((b) => b.count)).toEqual([3, 1, 0, 0]);
    });

    it("lists the fields present", async () => {
      const t = tenantName();
      await h.index.write(t, docs([makeEvent(t, BASE, { tags: ["x"], json: { level: "info", req: { id: "r1" } } })]));
      await h.refresh();
      const fields = await h.index.fields(all(t));
      expect(fields).toEqual(expect.arrayContaining(["syslog.host", "syslog.appName", "json.level", "json.req.id", "tag", "logtype"]));
    });

    it("answers exists, term and range queries on long values and on the intrinsic fields", async () => {
      const t = tenantName();
      const long = "x".repeat(3000);
      const a = makeEvent(t, BASE, { json: { trace: long, n: 1 } });
      const b = makeEvent(t, BASE + 1000, { json: { n: 2 } });
      await h.index.write(t, docs([a, b]));
      await h.refresh();
      const ids = async (text: string) => (await h.index.search({ ...all(t), query: parseQuery(text) }, { order: "asc", size: 10 })).events.map((e) => e.id);
      expect(await ids("json.trace:*")).toEqual([a.id]);
      expect(await ids(`json.trace:${long}`)).toEqual([a.id]);
      expect(await ids(`id:${b.id}`)).toEqual([b.id]);
      expect(await ids(`timestamp:>=${BASE + 500}`)).toEqual([b.id]);
    });

    it("answers term, range and exists queries, facets and field lists on derived fields as on parsed ones", async () => {
      const t = tenantName();
      // Made by the process stage's own code: the built-in parsers, then a tenant's regex rule.
      const checked = validateDerivedRule({ name: "took", type: "regex", pattern: "took (?<ms>\\d+) ms for user=(?<user>\\w+)" });
      if (!checked.ok) throw new Error("the rule is valid");
      const rule = compileRule(checked.spec);
      const lines = ["GET /a took 231 ms for user=alice", "GET /b took 1200 ms for user=Bob", '{"message":"json took 45 ms for user=alice"}', "no timing here"];
      const events = lines.map((raw, i) => applyDerivedRules(toEvent({ id: newEventId(BASE + i * 1000), tenant: t, receivedAt: BASE + i * 1000, transport: "http", remote: "10.0.0.1", collector: "c1", tags: [], raw }), [rule]));
      await h.index.write(t, docs(events));
      await h.refresh();
      const ids = async (text: string) => (await h.index.search({ ...all(t), query: parseQuery(text) }, { order: "asc", size: 10 })).events.map((e) => e.id);
      expect(await ids("derived.ms:>200")).toEqual([events[0]!.id, events[1]!.id]);
      expect(await ids("derived.ms:[40 TO 300]")).toEqual([events[0]!.id, events[2]!.id]);
      expect(await ids("derived.user:bob")).toEqual([events[1]!.id]);
      expect(await ids("derived.user:*")).toHaveLength(3);
      expect(await ids("NOT derived.ms:*")).toEqual([events[3]!.id]);
      const facet = await h.index.facet(all(t), "derived.user", 5);
      expect(facet.terms).toEqual([
        { term: "alice", count: 2 },
        { term: "Bob", count: 1 },
      ]);
      expect(await h.index.fields(all(t))).toEqual(expect.arrayContaining(["derived.ms", "derived.user"]));
    });

    it("computes a field's numeric aggregates: numbers and numeric strings, each event once per distinct value", async () => {
      const t = tenantName();
      const values: unknown[] = [10, 20, 30, 40, "50", "n/a", [60, 60], true];
      const events = values.map((ms, i) => makeEvent(t, BASE + i * 1000, { json: { ms, k: "v" } }));
      events.push(makeEvent(t, BASE + 9000, { json: { other: 1 } }));
      await h.index.write(t, docs(events));
      await h.refresh();
      expect(h.index.stats).toBeDefined();
      expect(await h.index.stats!(all(t), "json.ms")).toEqual({ count: 6, min: 10, max: 60, avg: 35, sum: 210, p50: 30, p95: 60, p99: 60, exact: true });
      expect(await h.index.stats!({ ...all(t), query: parseQuery("json.ms:>=30") }, "json.ms")).toEqual({ count: 4, min: 30, max: 60, avg: 45, sum: 180, p50: 40, p95: 60, p99: 60, exact: true });
      expect(await h.index.stats!(all(t), "json.k")).toEqual({ count: 0, min: null, max: null, avg: null, sum: null, p50: null, p95: null, p99: null, exact: true });
    });

    it("gives every query of the query-language corpus its expected hits", async () => {
      const corpus = loadQueryCorpus();
      const t = tenantName();
      const events = corpus.events.map((e) => ({ ...e, tenant: t }));
      await h.index.write(t, docs(events));
      await h.refresh();
      const times = events.map((e) => e.timestamp);
      const range = { tenant: t, from: Math.min(...times), until: Math.max(...times) };
      const failures: string[] = [];
      for (const c of corpus.cases) {
        const q = { ...range, query: parseQuery(c.query) };
        const got = (await h.index.search(q, { order: "desc", size: 1000 })).events.map((e) => e.id).sort();
        const count = await h.index.count(q);
        if (JSON.stringify(got) !== JSON.stringify([...c.expected].sort()) || count !== c.expected.length) {
          failures.push(`${c.query}: expected ${JSON.stringify(c.expected)} got ${JSON.stringify(got)} (count ${count})`);
        }
      }
      expect(failures).toEqual([]);
    });
  });
}

export interface QueryCorpus {
  events: LogEvent[];
  cases: { query: string; expected: string[] }[];
}

export function loadQueryCorpus(): QueryCorpus {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, "../fixtures/query-corpus.json"), "utf8")) as QueryCorpus;
}
