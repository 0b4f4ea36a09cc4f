import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseQuery, ResultWindowError, type LogEvent, type SearchQuery, type Tenant, type TenantDirectory } from "@unmeltable/core";
import {
  compileDsl,
  componentTemplate,
  indexTemplate,
  IndexNames,
  InvalidCursorError,
  OpenSearchConfigError,
  OpenSearchIndex,
  OpenSearchRequestError,
  openSearchIndexForTiers,
  project,
  type OpenSearchIndexOptions,
} from "@unmeltable/index-opensearch";
import { makeEvent } from "../contract/index.contract";
import { loadFixture, RecordedServer, type RecordedRequest, type Reply } from "./recorded-server";

const BASE = Date.UTC(2026, 0, 5, 12, 0, 0); // Monday 2026-01-05 12:00 UTC
const HOUR = 3_600_000;
const ack = loadFixture("template-ack");

/** A bulk response creating every `create` of the request: the documented item, once per operation. */
function allCreated(req: RecordedRequest): Reply {
  const item = (loadFixture("bulk-created").body as { items: { create: Record<string, unknown> }[] }).items[0]!.create;
  const ops = (req.body as Record<string, { _index: string; _id: string }>[]).filter((_, k) => k % 2 === 0);
  return { status: 200, body: { took: 3, errors: false, items: ops.map((o) => ({ create: { ...item, _index: o.create!._index, _id: o.create!._id } })) } };
}

/** The create operations of a recorded bulk request: [action, document] pairs. */
function bulkOps(req: RecordedRequest): { action: { _index: string; _id: string }; doc: Record<string, unknown> }[] {
  const lines = req.body as Record<string, unknown>[];
  const out = [];
  for (let k = 0; k < lines.length; k += 2) out.push({ action: (lines[k] as { create: { _index: string; _id: string } }).create, doc: lines[k + 1]! });
  return out;
}

const ev = (id: string, at = BASE, fields: Parameters<typeof makeEvent>[2] = {}): LogEvent => makeEvent("acme", at, { id, ...fields });
const docs = (...events: LogEvent[]) => events.map((e) => JSON.stringify(e));
const q = (text: string, from = BASE, until = BASE + HOUR - 1): SearchQuery => ({ tenant: "acme", query: parseQuery(text), from, until });
/** Every read's query string: its bounds in time (searchTimeoutMs 20 s by default: the cluster cancels at 85 %). */
const READ_QS = { ignore_unavailable: "true", allow_no_indices: "true", cancel_after_time_interval: "17000ms" };
/** A facet fixture's terms under the sampler the adapter asks for, the sample holding every match (`total`). */
function inSample(fixture: Reply, total = 100): Reply {
  const facet = (fixture.body as { aggregations: { facet: unknown } }).aggregations.facet;
  return { status: 200, body: { hits: { total: { value: total, relation: "eq" }, hits: [] }, aggregations: { sample: { doc_count: total, facet } } } };
}

describe("OpenSearch adapter (recorded responses)", () => {
  let server: RecordedServer;
  let index: OpenSearchIndex;
  const open = (options: Partial<OpenSearchIndexOptions> = {}) => new OpenSearchIndex({ node: server.url, retryBaseMs: 1, ...options });

  beforeEach(async () => {
    server = await RecordedServer.start();
    server.on("PUT", /^\/_(component|index)_template\//, ack);
    index = open();
  });
  afterEach(async () => {
    await index.close();
    await server.close();
    expect(server.problems).toEqual([]);
  });

  describe("templates", () => {
    it("puts the component template and the tier's index template once, before the first bulk", async () => {
      server.on("POST", "/_bulk", allCreated);
      await index.write("acme", docs(ev("e1")));
      await index.write("acme", docs(ev("e2")));
      expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /_component_template/logs-default.event", "PUT /_index_template/logs-default", "POST /_bulk", "POST /_bulk"]);
      const options = { names: new IndexNames("logs", "default"), analysis: "asciifolding" as const, refreshInterval: "30s", shards: 1, priority: 200 };
      expect(server.requests[0]!.body).toEqual(componentTemplate(options));
      expect(server.requests[1]!.body).toEqual(indexTemplate(options));
    });

    it("maps the Loggly event shape: nothing dynamic, the projection indexed but not stored, raw analyzed like match.ts", async () => {
      await index.ensureTemplates();
      const component = server.requests[0]!.body as { template: { settings: { analysis: Record<string, Record<string, Record<string, unknown>>> }; mappings: Record<string, unknown> } };
      const { mappings, settings } = component.template;
      expect(mappings.dynamic).toBe(false);
      expect(mappings._source).toEqual({ excludes: ["f"] });
      expect(mappings.properties).toMatchObject({
        id: { type: "keyword" },
        tenant: { type: "keyword" },
        timestamp: { type: "date", format: "epoch_millis", fields: { keyword: { type: "keyword", doc_values: false } } },
        tags: { type: "keyword", normalizer: "unmeltable_lowercase" },
        logtypes: { type: "keyword", normalizer: "unmeltable_lowercase" },
        raw: { type: "text", analyzer: "unmeltable_text", norms: false },
        f: { properties: { paths: { type: "keyword" }, term: { type: "keyword", doc_values: false, ignore_above: 10_000 }, num: { type: "keyword", doc_values: false }, str: { type: "keyword", ignore_above: 10_000 }, glob: { type: "wildcard", doc_values: true, ignore_above: 10_000 } } },
      });
      expect(settings.analysis.tokenizer!.unmeltable_words).toEqual({ type: "pattern", pattern: "[\\p{L}\\p{N}]+", group: 0 });
      expect(settings.analysis.analyzer!.unmeltable_text).toEqual({ type: "custom", char_filter: ["unmeltable_marks"], tokenizer: "unmeltable_words", filter: ["lowercase", "unmeltable_fold", "unmeltable_truncate"] });
      const tier = server.requests[1]!.body as Record<string, unknown>;
      expect(tier).toMatchObject({ index_patterns: ["logs-default.*"], priority: 200, composed_of: ["logs-default.event"], template: { settings: { number_of_shards: 1, refresh_interval: "30s" } } });
    });

    it("uses the ICU decomposition when asked, and the tier's own settings", async () => {
      const custom = open({ analysis: "icu", tier: "hot", prefix: "ul", refreshInterval: "60s", shards: 3, replicas: 0, templatePriority: 300 });
      await custom.ensureTemplates();
      await custom.close();
      expect(server.requests.map((r) => r.path)).toEqual(["/_component_template/ul-hot.event", "/_index_template/ul-hot"]);
      const component = server.requests[0]!.body as { template: { settings: { analysis: { char_filter: Record<string, unknown>; analyzer: Record<string, unknown> } } } };
      expect(component.template.settings.analysis.char_filter.unmeltable_nfd).toEqual({ type: "icu_normalizer", name: "nfc", mode: "decompose" });
      expect(component.template.settings.analysis.analyzer.unmeltable_text).toMatchObject({ char_filter: ["unmeltable_nfd", "unmeltable_marks"], filter: ["lowercase", "unmeltable_truncate"] });
      expect(server.requests[1]!.body).toMatchObject({ index_patterns: ["ul-hot.*"], priority: 300, template: { settings: { number_of_shards: 3, number_of_replicas: 0, refresh_interval: "60s" } } });
    });

    it("tries the templates again with the next write when putting them failed", async () => {
      const failing = await RecordedServer.start();
      failing.once("PUT", "/_component_template/logs-default.event", loadFixture("forbidden"));
      failing.on("PUT", /template/, ack).on("POST", "/_bulk", allCreated);
      const i = new OpenSearchIndex({ node: failing.url, retryBaseMs: 1 });
      await expect(i.write("acme", docs(ev("e1")))).rejects.toBeInstanceOf(OpenSearchRequestError);
      expect((await i.write("acme", docs(ev("e1")))).map((r) => r.status)).toEqual(["created"]);
      await i.close();
      await failing.close();
      expect(failing.requests.map((r) => r.path)).toEqual(["/_component_template/logs-default.event", "/_component_template/logs-default.event", "/_index_template/logs-default", "/_bulk"]);
    });
  });

  describe("write", () => {
    it("sends one create per event, the event id as _id, into the tenant's slice index, with the projection", async () => {
      server.on("POST", "/_bulk", allCreated);
      const a = ev("e1", BASE, { tags: ["prod"], json: { level: "error", status: 500 } });
      const b = { ...ev("e2", BASE + 13 * HOUR), tenant: undefined };
      const results = await index.write("acme", [JSON.stringify(a), JSON.stringify(b)]);
      expect(results).toEqual([{ status: "created" }, { status: "created" }]);
      const [bulk] = server.requestsTo("POST", /_bulk/);
      expect(bulk!.headers["content-type"]).toBe("application/x-ndjson");
      expect(bulk!.raw.endsWith("\n")).toBe(true);
      expect(bulkOps(bulk!)).toEqual([
        { action: { _index: "logs-default.acme.day-20260105", _id: "e1" }, doc: JSON.parse(JSON.stringify({ ...a, f: project(a) })) },
        // The tenant is the caller's, also when the event does not say; the next day is the next slice.
        { action: { _index: "logs-default.acme.day-20260106", _id: "e2" }, doc: JSON.parse(JSON.stringify({ ...b, tenant: "acme", f: project({ ...b, tenant: "acme" }) })) },
      ]);
    });

    it("names slices by the tenant's slice length: hour, day or week (weeks start on Monday)", async () => {
      server.on("POST", "/_bulk", allCreated);
      for (const length of ["hour", "day", "week"] as const) {
        const i = open({ sliceOf: (t) => (t === "acme" ? length : "day") });
        await i.write("acme", docs(ev(`e-${length}`, BASE + 2 * 86_400_000 + 5 * HOUR)));
        await i.close();
      }
      expect(server.requestsTo("POST", /_bulk/).map((r) => bulkOps(r)[0]!.action._index)).toEqual(["logs-default.acme.hour-2026010717", "logs-default.acme.day-20260107", "logs-default.acme.week-20260105"]);
    });

    it("rejects what is not an event, or another tenant's event, without sending it", async () => {
      const results = await index.write("acme", ["{not json", JSON.stringify({ hello: "world" }), "[1]", JSON.stringify(makeEvent("other", BASE)), JSON.stringify(ev("x".repeat(513))), JSON.stringify({ ...ev("e9"), timestamp: "soon" })]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected", "rejected", "rejected", "rejected"]);
      expect(results[3]!.error).toMatch(/tenant other/);
      expect(results[4]!.error).toMatch(/512 bytes/);
      expect(server.requests).toEqual([]);
    });

    it("maps item outcomes: 201 created, 409 exists, 400 rejected with type and reason, 429 retried alone", async () => {
      server.once("POST", "/_bulk", loadFixture("bulk-mixed-errors"));
      server.on("POST", "/_bulk", allCreated);
      const events = [ev("e1"), ev("e2", BASE + 1), ev("e3", BASE + 2), ev("e4", BASE + 3)];
      const results = await index.write("acme", docs(...events));
      expect(results.map((r) => r.status)).toEqual(["created", "exists", "created", "rejected"]);
      expect(results[3]!.error).toMatch(/^400 mapper_parsing_exception: failed to parse field \[timestamp\]/);
      const bulks = server.requestsTo("POST", /_bulk/);
      expect(bulks.map((r) => bulkOps(r).map((o) => o.action._id))).toEqual([["e1", "e2", "e3", "e4"], ["e3"]]);
      // The retried operation is byte for byte the one first sent.
      expect(bulks[1]!.raw).toBe(bulks[0]!.raw.split("\n").slice(4, 6).join("\n") + "\n");
    });

    it("retries items the cluster refused for its own reasons (a write block, a closed or missing index, the shard limit); only the document's own fault is rejected", async () => {
      server.once("POST", "/_bulk", loadFixture("bulk-items-cluster-side"));
      server.on("POST", "/_bulk", allCreated);
      const events = [ev("e1"), ev("e2", BASE + 1), ev("e3", BASE + 2), ev("e4", BASE + 3), ev("e5", BASE + 4)];
      const results = await index.write("acme", docs(...events));
      expect(results.map((r) => r.status)).toEqual(["created", "created", "created", "created", "rejected"]);
      expect(results[4]!.error).toMatch(/^400 mapper_parsing_exception/);
      const bulks = server.requestsTo("POST", /_bulk/);
      expect(bulks.map((r) => bulkOps(r).map((o) => o.action._id))).toEqual([["e1", "e2", "e3", "e4", "e5"], ["e1", "e2", "e3", "e4"]]);
    });

    it("reports retry, never rejected, while a write block outlasts the attempts", async () => {
      const blocked = loadFixture("bulk-items-cluster-side").body as { items: unknown[] };
      server.on("POST", "/_bulk", { status: 200, body: { took: 1, errors: true, items: [blocked.items[0]] } });
      const i = open({ maxAttempts: 2 });
      const results = await i.write("acme", docs(ev("e1")));
      await i.close();
      expect(results).toEqual([{ status: "retry", error: expect.stringMatching(/^403 cluster_block_exception: .*FORBIDDEN\/8\/index write/) }]);
    });

    it("reports retry with the last error when 429s outlast the attempts", async () => {
      const mixed = loadFixture("bulk-mixed-errors").body as { items: unknown[] };
      server.on("POST", "/_bulk", { status: 200, body: { took: 1, errors: true, items: [mixed.items[2]] } });
      const i = open({ maxAttempts: 3 });
      const results = await i.write("acme", docs(ev("e3")));
      await i.close();
      expect(results).toEqual([{ status: "retry", error: expect.stringMatching(/^429 rejected_execution_exception: rejected execution of processing/) }]);
      expect(server.requestsTo("POST", /_bulk/)).toHaveLength(3);
    });

    it("re-sends the whole request after a whole-request 429 or 5xx", async () => {
      server.once("POST", "/_bulk", loadFixture("bulk-request-429"));
      server.on("POST", "/_bulk", allCreated);
      const results = await index.write("acme", docs(ev("e1"), ev("e2", BASE + 1)));
      expect(results.map((r) => r.status)).toEqual(["created", "created"]);
      const bulks = server.requestsTo("POST", /_bulk/);
      expect(bulks).toHaveLength(2);
      expect(bulks[1]!.raw).toBe(bulks[0]!.raw);
    });

    it("reports retry for every operation of a request that keeps failing with 5xx", async () => {
      server.on("POST", "/_bulk", loadFixture("bulk-request-503"));
      const i = open({ maxAttempts: 2 });
      const results = await i.write("acme", docs(ev("e1"), ev("e2", BASE + 1)));
      await i.close();
      expect(results).toEqual([
        { status: "retry", error: "bulk request failed with 503" },
        { status: "retry", error: "bulk request failed with 503" },
      ]);
    });

    it("treats a dropped connection as transient", async () => {
      server.once("POST", "/_bulk", { status: 0, hangUp: true });
      server.on("POST", "/_bulk", allCreated);
      expect((await index.write("acme", docs(ev("e1")))).map((r) => r.status)).toEqual(["created"]);
    });

    it("splits a request refused with 413 in halves until it fits; a lone document that does not fit is rejected", async () => {
      const big = "x".repeat(3000);
      // This cluster takes at most two documents per request, and never the big one.
      server.on("POST", "/_bulk", (req) => (bulkOps(req).length > 2 || req.raw.includes(big) ? loadFixture("bulk-request-413") : allCreated(req)));
      const events = [0, 1, 2, 3, 4].map((k) => ev(`e${k}`, BASE + k));
      const results = await index.write("acme", docs(...events, ev("huge", BASE + 9, { json: { big } })));
      expect(results.map((r) => r.status)).toEqual(["created", "created", "created", "created", "created", "rejected"]);
      expect(results[5]!.error).toMatch(/413/);
      expect(server.requestsTo("POST", /_bulk/).map((r) => bulkOps(r).length)).toEqual([6, 3, 2, 1, 3, 2, 1]);
    });

    it("sizes bulk bodies by bytes and by operations; a document bigger than the limit goes alone", async () => {
      server.on("POST", "/_bulk", allCreated);
      const events = Array.from({ length: 7 }, (_, k) => ev(`e${k}`, BASE + k, { json: { pad: "y".repeat(k === 3 ? 9000 : 500) } }));
      const lineBytes = docs(...events).map((d) => d.length);
      const i = open({ maxBulkBytes: 6000 });
      await i.write("acme", docs(...events));
      await i.close();
      const bulks = server.requestsTo("POST", /_bulk/);
      expect(bulks.map((r) => bulkOps(r).map((o) => o.action._id))).toEqual([["e0", "e1"], ["e2"], ["e3"], ["e4", "e5"], ["e6"]]);
      for (const r of bulks) expect(Buffer.byteLength(r.raw) <= 6000 || bulkOps(r).length === 1).toBe(true);
      expect(lineBytes[3]).toBeGreaterThan(6000);

      server.requests.length = 0;
      const byCount = open({ maxBulkOps: 3 });
      await byCount.write("acme", docs(...events.map((e) => ({ ...e, id: `${e.id}b` }))));
      await byCount.close();
      expect(server.requestsTo("POST", /_bulk/).map((r) => bulkOps(r).length)).toEqual([3, 3, 1]);
    });

    it("sends a repeated id once and reports the repeats as existing", async () => {
      server.on("POST", "/_bulk", allCreated);
      const a = ev("e1");
      const results = await index.write("acme", docs(a, ev("e2", BASE + 1), a));
      expect(results.map((r) => r.status)).toEqual(["created", "created", "exists"]);
      expect(bulkOps(server.requestsTo("POST", /_bulk/)[0]!).map((o) => o.action._id)).toEqual(["e1", "e2"]);
    });

    it("throws a structured error for other whole-request failures (403)", async () => {
      server.on("POST", "/_bulk", loadFixture("forbidden"));
      const err = (await index.write("acme", docs(ev("e1"))).catch((e: unknown) => e)) as OpenSearchRequestError;
      expect(err).toBeInstanceOf(OpenSearchRequestError);
      expect(err.status).toBe(403);
      expect(err.path).toBe("/_bulk");
      expect(err.bodyExcerpt).toContain("security_exception");
    });

    it("refuses tenant names that would widen an index pattern", async () => {
      await expect(index.write("acme,*", docs(ev("e1")))).rejects.toBeInstanceOf(OpenSearchConfigError);
      await expect(index.count({ ...q("*"), tenant: "*" })).rejects.toBeInstanceOf(OpenSearchConfigError);
      expect(server.requests).toEqual([]);
    });
  });

  describe("search", () => {
    const searchPath = (from: number, until: number) => `/${new IndexNames("logs", "default").searchTarget("acme", from, until).target}/_search`;

    it("reads exactly the slices of every length overlapping the range, tenant and time as filters", async () => {
      server.on("POST", /_search$/, loadFixture("search-hits"));
      await index.search(q("json.level:error"), { order: "desc", size: 10 });
      const [r] = server.requests;
      expect(r!.path).toBe("/logs-default.acme.hour-2026010512,logs-default.acme.day-20260105,logs-default.acme.week-20260105/_search");
      expect(r!.query).toEqual(READ_QS);
      expect(r!.body).toEqual({
        query: { bool: { filter: [{ term: { tenant: "acme" } }, { range: { timestamp: { gte: BASE, lte: BASE + HOUR - 1, format: "epoch_millis" } } }, compileDsl(parseQuery("json.level:error"))] } },
        sort: [{ timestamp: { order: "desc" } }, { id: { order: "desc" } }],
        size: 11,
        from: 0,
        track_total_hits: false,
        timeout: "14000ms",
      });
    });

    it("reads the tenant's pattern, pre-filtered on time, when the names would not fit in a request line", async () => {
      server.on("POST", /_search$/, loadFixture("search-hits"));
      await index.search(q("*", BASE - 30 * 86_400_000, BASE), { order: "asc", size: 5, offset: 10 });
      const [r] = server.requests;
      expect(r!.path).toBe("/logs-default.acme.*/_search");
      expect(r!.query).toEqual({ ...READ_QS, pre_filter_shard_size: "1" });
      expect(r!.body).toMatchObject({ sort: [{ timestamp: { order: "asc" } }, { id: { order: "asc" } }], size: 6, from: 10 });
    });

    it("returns the events without the projection, and a cursor when more follow", async () => {
      server.on("POST", /_search$/, loadFixture("search-hits"));
      const page = await index.search(q("*"), { order: "desc", size: 2 });
      const hits = (loadFixture("search-hits").body as { hits: { hits: { _source: LogEvent }[] } }).hits.hits;
      expect(page.events).toEqual([hits[0]!._source, hits[1]!._source]);
      expect(page.cursor).toBeDefined();
      const last = await index.search(q("*"), { order: "desc", size: 3 });
      expect(last.cursor).toBeUndefined();

      // The cursor continues after the last event of the page: search_after its sort values.
      server.requests.length = 0;
      await index.search(q("*"), { order: "desc", size: 2, cursor: page.cursor });
      expect(server.requests[0]!.body).toMatchObject({ search_after: [1767614401000, "e2"], size: 3 });
      expect(server.requests[0]!.body).not.toHaveProperty("from");
    });

    it("with a cursor and an offset, skips the offset after the cursor", async () => {
      server.on("POST", /_search$/, loadFixture("search-hits"));
      const page = await index.search(q("*"), { order: "desc", size: 1, offset: 1, cursor: Buffer.from(JSON.stringify([1767614403000, "e4"])).toString("base64url") });
      expect(server.requests[0]!.body).toMatchObject({ search_after: [1767614403000, "e4"], size: 3 });
      expect(page.events.map((e) => e.id)).toEqual(["e2"]);
      expect(page.cursor).toBeDefined();
    });

    it("refuses a cursor it did not make", async () => {
      await expect(index.search(q("*"), { order: "desc", size: 2, cursor: "bm9wZQ" })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it("maps OpenSearch's refusal of deep offset pages (a cluster with a smaller max_result_window) to core's ResultWindowError", async () => {
      server.on("POST", /_search$/, loadFixture("search-result-window"));
      const err = (await index.search(q("*"), { order: "desc", size: 10, offset: 9_000 }).catch((e: unknown) => e)) as ResultWindowError;
      expect(err).toBeInstanceOf(ResultWindowError);
      expect({ window: err.window, requested: err.requested }).toEqual({ window: 10_000, requested: 10_011 });
    });

    it("asks nothing for an empty time range", async () => {
      expect(await index.search(q("*", BASE, BASE - 1), { order: "desc", size: 10 })).toEqual({ events: [] });
      expect(await index.count(q("*", BASE, BASE - 1))).toBe(0);
      expect(await index.histogram(q("*", BASE, BASE - 1), 60_000)).toEqual([]);
      expect(server.requests).toEqual([]);
    });

    it("counts with a bounded search (size 0, track_total_hits), not the _count API", async () => {
      server.on("POST", /_search$/, loadFixture("search-count"));
      expect(await index.count(q("tag:prod"))).toBe(42);
      const [r] = server.requests;
      expect(r!.path).toBe(searchPath(BASE, BASE + HOUR - 1));
      expect(r!.query).toEqual(READ_QS);
      expect(r!.body).toEqual({ size: 0, track_total_hits: true, timeout: "14000ms", query: { bool: { filter: [{ term: { tenant: "acme" } }, { range: { timestamp: { gte: BASE, lte: BASE + HOUR - 1, format: "epoch_millis" } } }, { term: { "f.term": "tag=prod" } }] } } });
    });

    it("facets with a terms aggregation on the field's keys, and gives the terms their JSON types", async () => {
      server.on("POST", /_search$/, inSample(loadFixture("facet-terms")));
      const facet = await index.facet(q("*"), "json.status", 4);
      // sum_other_doc_count 2: keys were left out, so the distinct count is a lower bound.
      expect(facet).toEqual({ terms: [{ term: 500, count: 5 }, { term: "200", count: 3 }, { term: "n/a", count: 1 }, { term: true, count: 1 }], sampled: false, distinct: 4, distinctExact: false });
      // More keys than terms: spellings of one term are added up here.
      expect(server.requests[0]!.body).toMatchObject({
        size: 0,
        track_total_hits: true,
        aggs: { sample: { sampler: { shard_size: 100_000 }, aggs: { facet: { terms: { field: "f.str", size: 1000, execution_hint: "map", include: "json\\.status\\=[nqsb].*", order: [{ _count: "desc" }, { _key: "asc" }] } } } } },
      });
    });

    it("folds case in facet terms as term queries do: one term per value, in its most frequent spelling, and the true distinct count", async () => {
      server.on("POST", /_search$/, inSample(loadFixture("facet-terms-case")));
      const facet = await index.facet(q("*"), "json.level", 1);
      expect(facet).toEqual({ terms: [{ term: "ERROR", count: 9 }], sampled: false, distinct: 2, distinctExact: true });
      expect(server.requests[0]!.body).toMatchObject({ aggs: { sample: { aggs: { facet: { terms: { field: "f.str", size: 1000 } } } } } });
    });

    it("facets id and timestamp on their own fields", async () => {
      server.on("POST", /_search$/, inSample({ status: 200, body: { aggregations: { facet: { buckets: [{ key: 1767614400000, key_as_string: "1767614400000", doc_count: 2 }] } } } }, 2));
      expect((await index.facet(q("*"), "timestamp", 3)).terms).toEqual([{ term: 1767614400000, count: 2 }]);
      expect(server.requests[0]!.body).toMatchObject({ aggs: { sample: { aggs: { facet: { terms: { field: "timestamp", size: 1000, execution_hint: "map" } } } } } });
    });

    it("counts per time bucket with a date_histogram aligned to the epoch, empty buckets included", async () => {
      server.on("POST", /_search$/, loadFixture("histogram"));
      const from = Date.UTC(2026, 0, 5, 12, 0, 30);
      const buckets = await index.histogram(q("tick", from, BASE + 239_999), 60_000);
      expect(buckets).toEqual([
        { time: BASE, count: 3 },
        { time: BASE + 60_000, count: 1 },
        { time: BASE + 120_000, count: 0 },
        { time: BASE + 180_000, count: 1 },
      ]);
      expect(server.requests[0]!.body).toMatchObject({
        size: 0,
        aggs: { histogram: { date_histogram: { field: "timestamp", fixed_interval: "60000ms", min_doc_count: 0, extended_bounds: { min: BASE, max: BASE + 239_999 } } } },
      });
    });

    it("still gives every bucket when no index answers", async () => {
      server.on("POST", /_search$/, { status: 200, body: { took: 0, timed_out: false, _shards: { total: 0, successful: 0, skipped: 0, failed: 0 }, hits: { hits: [] } } });
      expect(await index.histogram(q("*", BASE, BASE + 119_999), 60_000)).toEqual([
        { time: BASE, count: 0 },
        { time: BASE + 60_000, count: 0 },
      ]);
    });

    it("lists the fields present in the matching events from a terms aggregation on f.paths", async () => {
      server.on("POST", /_search$/, loadFixture("fields-terms"));
      expect(await index.fields(q("json.level:*"))).toEqual(["json.level", "json.req.id", "logtype", "syslog.host", "tag"]);
      expect(server.requests[0]!.body).toMatchObject({ size: 0, aggs: { fields: { terms: { field: "f.paths", size: 10_001 } } } });
    });
  });

  describe("administration", () => {
    it("refreshes the tier's indices and deletes a tenant's indices by name", async () => {
      server.on("POST", "/logs-default.*/_refresh", { status: 200, body: { _shards: { total: 2, successful: 1, failed: 0 } } });
      server.on("GET", "/_cat/indices/logs-default.acme.*", loadFixture("cat-indices"));
      server.on("DELETE", /^\//, { status: 200, body: { acknowledged: true } });
      await index.refresh();
      await index.deleteTenant("acme");
      expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /logs-default.*/_refresh", "GET /_cat/indices/logs-default.acme.*", "DELETE /logs-default.acme.day-20260105,logs-default.acme.hour-2026010612"]);
      expect(server.requests[1]!.query).toEqual({ format: "json", h: "index", expand_wildcards: "all" });
    });
  });

  describe("authentication", () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it("signs every request with SigV4 when a region is given (credentials from the default AWS chain)", async () => {
      process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLETEST00001";
      process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
      process.env.AWS_SESSION_TOKEN = "session-token-for-tests";
      delete process.env.AWS_PROFILE;
      server.on("POST", "/_bulk", allCreated);
      const signed = open({ region: "eu-west-1" });
      await signed.write("acme", docs(ev("e1")));
      await signed.close();
      expect(server.requests).toHaveLength(3);
      for (const r of server.requests) {
        expect(r.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETEST00001\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
        expect(r.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
        expect(r.headers["x-amz-security-token"]).toBe("session-token-for-tests");
        expect(r.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(r.raw).digest("hex"));
      }
    });

    it("sends basic auth from the node URL or the auth option, and nothing AWS without a region", async () => {
      server.on("POST", /_search$/, loadFixture("search-count"));
      const url = new URL(server.url);
      url.username = "admin";
      url.password = "s3cret";
      const basic = new OpenSearchIndex({ node: url.toString() });
      await basic.count(q("*"));
      await basic.close();
      expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from("admin:s3cret").toString("base64")}`);
      expect(server.requests[0]!.headers["x-amz-date"]).toBeUndefined();
    });
  });
});

describe("openSearchIndexForTiers", () => {
  it("without the layout: writes to the function's tier and reads every tier's domain (a tenant's old slices stay searchable after a tier move)", async () => {
    const [hot, cold] = [await RecordedServer.start(), await RecordedServer.start()];
    for (const s of [hot, cold]) s.on("PUT", /template/, ack).on("POST", "/_bulk", allCreated).on("POST", /_search$/, loadFixture("search-count"));
    const tenant = (name: string, tier: string, slice: Tenant["slice"]) => ({ name, tier, slice }) as Tenant;
    const list = [tenant("acme", "hot", "hour"), tenant("quiet", "cold", "week")];
    const tenants: TenantDirectory = { byName: (n) => list.find((t) => t.name === n), byApiToken: () => undefined, byIngestToken: () => undefined, list: () => list };
    const index = openSearchIndexForTiers({ endpoints: { hot: hot.url, cold: cold.url }, tenants, tier: "hot", retryBaseMs: 1, layout: false });
    await index.write("acme", docs(ev("e1")));
    const perDomain = (loadFixture("search-count").body as { hits: { total: { value: number } } }).hits.total.value;
    expect(await index.count({ ...q("*"), tenant: "quiet" })).toBe(2 * perDomain);
    await index.close();
    expect(hot.requests.map((r) => r.path)).toEqual(["/_component_template/logs-hot.event", "/_index_template/logs-hot", "/_bulk", `/${new IndexNames("logs", "hot").searchTarget("quiet", BASE, BASE + HOUR - 1).target}/_search`]);
    expect(bulkOps(hot.requests[2]!)[0]!.action._index).toBe("logs-hot.acme.hour-2026010512");
    expect(cold.requests.map((r) => r.path)).toEqual([`/${new IndexNames("logs", "cold").searchTarget("quiet", BASE, BASE + HOUR - 1).target}/_search`]);
    await Promise.all([hot.close(), cold.close()]);
  });
});

/** A tenant pooled on the cold tier until 2026-01-05, then on the hot tier (its placements). */
const movedToHot = {
  name: "acme",
  tier: "hot",
  slice: "day",
  retentionDays: 3650,
  placements: [
    { from: Date.UTC(2025, 0, 1), layout: "pooled", slice: "day", tier: "cold" },
    { from: Date.UTC(2026, 0, 5), layout: "pooled", slice: "day" },
  ],
} as Tenant;
/** A range over both placements of movedToHot. */
const overMove = (text: string) => q(text, Date.UTC(2026, 0, 4), BASE + HOUR - 1);

describe("slice administration and tier moves", () => {
  it("lists a tenant's slice indices with sizes, deletes one by name and creates the next ahead of time", async () => {
    const server = await RecordedServer.start();
    server
      .on("GET", /^\/_cat\/indices\//, () => ({
        status: 200,
        // _cat/indices?format=json&bytes=b (https://opensearch.org/docs/latest/api-reference/cat/cat-indices/): the primaries' size, not store.size (with replicas)
        body: [
          { index: "logs-default.acme.day-20260105", "pri.store.size": "1048576" },
          { index: "logs-default.acme.hour-2026010612", "pri.store.size": "2048" },
        ],
      }))
      .on("DELETE", /^\/logs-default\.acme\./, () => ({ status: 200, body: { acknowledged: true } }))
      .on("PUT", /template/, ack)
      .on("PUT", /^\/logs-default\.acme\.week-/, () => ({ status: 200, body: { acknowledged: true, shards_acknowledged: true, index: "x" } }));
    const index = new OpenSearchIndex({ node: server.url, retryBaseMs: 1 });
    const slices = await index.slices("acme");
    expect(slices).toEqual([
      { name: "logs-default.acme.day-20260105", start: Date.UTC(2026, 0, 5), end: Date.UTC(2026, 0, 6), bytes: 1_048_576 },
      { name: "logs-default.acme.hour-2026010612", start: Date.UTC(2026, 0, 6, 12), end: Date.UTC(2026, 0, 6, 13), bytes: 2048 },
    ]);
    await index.dropSlice("acme", "logs-default.acme.day-20260105");
    await expect(index.dropSlice("acme", "logs-default.other.day-20260105")).rejects.toThrow(/not an index of tenant acme/);
    await index.prepareSlice("acme", Date.UTC(2026, 0, 14), "week");
    await index.close();
    const paths = server.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain("DELETE /logs-default.acme.day-20260105");
    expect(paths).toContain("PUT /logs-default.acme.week-20260112");
    await server.close();
  });

  it("merges a tenant's events from its old and new tier in time order, and pages across them by cursor", async () => {
    const hit = (e: LogEvent) => ({ _index: "x", _id: e.id, _source: e, sort: [e.timestamp, e.id] });
    const oldTier = [ev("a1", BASE + 1), ev("a3", BASE + 3)];
    const newTier = [ev("b2", BASE + 2), ev("b4", BASE + 4)];
    const [hot, cold] = [await RecordedServer.start(), await RecordedServer.start()];
    const answer = (events: LogEvent[]) => (req: RecordedRequest) => {
      const body = req.body as { size: number; search_after?: [number, string] };
      const after = body.search_after;
      const list = [...events].sort((x, y) => y.timestamp - x.timestamp).filter((e) => !after || e.timestamp < after[0]);
      return { status: 200, body: { hits: { hits: list.slice(0, body.size).map(hit) } } };
    };
    hot.on("POST", /_search$/, answer(newTier));
    cold.on("POST", /_search$/, answer(oldTier));
    const list = [movedToHot];
    const tenants: TenantDirectory = { byName: (n) => list.find((t) => t.name === n), byApiToken: () => undefined, byIngestToken: () => undefined, list: () => list };
    const index = openSearchIndexForTiers({ endpoints: { hot: hot.url, cold: cold.url }, tenants, retryBaseMs: 1 });
    const first = await index.search(overMove("*"), { order: "desc", size: 3 });
    expect(first.events.map((e) => e.id)).toEqual(["b4", "a3", "b2"]);
    const second = await index.search(overMove("*"), { order: "desc", size: 3, cursor: first.cursor });
    expect(second.events.map((e) => e.id)).toEqual(["a1"]);
    expect(second.cursor).toBeUndefined();
    await index.close();
    await Promise.all([hot.close(), cold.close()]);
  });

  it("adds up a tenant's facet terms across tiers, case folded, and ends a merged page at maxBytes", async () => {
    const [hot, cold] = [await RecordedServer.start(), await RecordedServer.start()];
    const terms = (buckets: [string, number][]) => () => inSample({ status: 200, body: { aggregations: { facet: { sum_other_doc_count: 0, buckets: buckets.map(([key, doc_count]) => ({ key, doc_count })) } } } });
    hot.once("POST", /_search$/, terms([["json.level=sERROR", 3], ["json.level=sinfo", 1]]));
    cold.once("POST", /_search$/, terms([["json.level=serror", 2]]));
    const list = [movedToHot];
    const tenants: TenantDirectory = { byName: (n) => list.find((t) => t.name === n), byApiToken: () => undefined, byIngestToken: () => undefined, list: () => list };
    const index = openSearchIndexForTiers({ endpoints: { hot: hot.url, cold: cold.url }, tenants, retryBaseMs: 1 });
    const facet = await index.facet(overMove("*"), "json.level", 5);
    expect(facet.terms).toEqual([
      { term: "ERROR", count: 5 },
      { term: "info", count: 1 },
    ]);
    // Two tiers' values may overlap: the biggest tier's count is a lower bound.
    expect({ distinct: facet.distinct, distinctExact: facet.distinctExact }).toEqual({ distinct: 2, distinctExact: false });

    const hit = (e: LogEvent) => ({ _index: "x", _id: e.id, _source: e, sort: [e.timestamp, e.id] });
    hot.on("POST", /_search$/, () => ({ status: 200, body: { hits: { hits: [hit(ev("b2", BASE + 2))] } } }));
    cold.on("POST", /_search$/, () => ({ status: 200, body: { hits: { hits: [hit(ev("a1", BASE + 1))] } } }));
    const page = await index.search(overMove("*"), { order: "desc", size: 2, maxBytes: 10 });
    expect(page.events.map((e) => e.id)).toEqual(["b2"]);
    expect(page.cursor).toBeDefined();
    await index.close();
    await Promise.all([hot.close(), cold.close()]);
  });
});
