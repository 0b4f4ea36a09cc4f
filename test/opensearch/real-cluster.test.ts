import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collectExport, handleApi, planExport, type ApiResponse } from "@unmeltable/api";
import {
  IndexUnavailableError,
  parseQuery,
  QueryBudgetError,
  QuerySyntaxError,
  ResultWindowError,
  withDeadline,
  type IndexPort,
  type LogEvent,
  type SearchQuery,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";
import { OpenSearchIndex, openSearchIndexForTiers, type OpenSearchIndexOptions } from "@unmeltable/index-opensearch";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";
import { modelControls, startModelCluster, type ModelControls } from "./model-cluster";
import type { RecordedServer } from "./recorded-server";

/**
 * The adapter against the modelled cluster where real OpenSearch differs from an ideal one (issue 13):
 * refresh visibility, the result window, 429s under load, partial and timed-out searches, slow answers,
 * non-prefix wildcards and bounded facets. No assertion is on time: budgets are checked by what was
 * sent and what came back, and waiting on a slow cluster is bounded by the test's own timeout.
 */
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MINUTE = 60_000;
const q = (text: string): SearchQuery => ({ tenant: "acme", query: parseQuery(text), from: NOW - 60 * MINUTE, until: NOW });
const docs = (events: LogEvent[]) => events.map((e) => JSON.stringify(e));
const levels = (n: number) => Array.from({ length: n }, (_, i) => makeEvent("acme", NOW - (i + 1) * 1000, { json: { level: i % 3 === 0 ? "error" : "info", n: i }, logmsg: `request ${i} failed with an error` }));

/** A clock for the retry budget: sleeping moves time on at once, and every wait is kept. */
function fakeClock() {
  let now = Date.now();
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

describe("OpenSearch adapter against what a real cluster does", () => {
  let cluster: RecordedServer;
  let model: ModelControls;
  let index: OpenSearchIndex;
  const open = (options: Partial<OpenSearchIndexOptions> = {}) => new OpenSearchIndex({ node: cluster.url, retryBaseMs: 1, maxAttempts: 5, ...options });

  beforeEach(async () => {
    cluster = await startModelCluster();
    model = modelControls(cluster);
    index = open();
  });
  afterEach(async () => {
    await index.close();
    await cluster.close();
    expect(cluster.problems).toEqual([]);
  });

  describe("refresh visibility", () => {
    it("shows written events to searches only after a refresh, while a repeated id is known at once", async () => {
      model.refreshVisibility = true;
      const events = levels(4);
      expect((await index.write("acme", docs(events))).map((r) => r.status)).toEqual(["created", "created", "created", "created"]);
      expect(await index.count(q("*"))).toBe(0);
      expect((await index.search(q("*"), { order: "desc", size: 10 })).events).toEqual([]);
      // The realtime get: a repeated _id is refused before any refresh.
      expect((await index.write("acme", docs(events.slice(0, 1))))[0]!.status).toBe("exists");
      await index.refresh();
      expect(await index.count(q("*"))).toBe(4);

      // The refresh_interval elapsing does the same.
      await index.write("acme", docs(levels(6).slice(4)));
      expect(await index.count(q("*"))).toBe(4);
      model.tick();
      expect(await index.count(q("*"))).toBe(6);
    });
  });

  describe("result window", () => {
    it("reaches the window's last page without asking past it, and refuses deeper pages before sending", async () => {
      await index.write("acme", docs(levels(3)));
      // offset + size = 10,000 exactly: the look-ahead event would pass the window, so it is not asked for.
      const last = await index.search(q("*"), { order: "desc", size: 10, offset: 9_990 });
      expect(last.events).toEqual([]);
      expect(cluster.requestsTo("POST", /_search$/).at(-1)!.body).toMatchObject({ from: 9_990, size: 10 });
      const sent = cluster.requests.length;
      const err = (await index.search(q("*"), { order: "desc", size: 10, offset: 9_995 }).catch((e: unknown) => e)) as ResultWindowError;
      expect(err).toBeInstanceOf(ResultWindowError);
      expect({ window: err.window, requested: err.requested }).toEqual({ window: 10_000, requested: 10_005 });
      expect(cluster.requests.length).toBe(sent);
    });

    it("gives a full last page of the window a cursor: more may follow, read on with it", async () => {
      await index.write("acme", docs(levels(5)));
      const i = open({ maxResultWindow: 4 });
      const page = await i.search(q("*"), { order: "desc", size: 2, offset: 2 });
      expect(page.events).toHaveLength(2);
      expect(page.cursor).toBeDefined();
      const rest = await i.search(q("*"), { order: "desc", size: 2, cursor: page.cursor });
      expect(rest.events).toHaveLength(1);
      expect(rest.cursor).toBeUndefined();
      await i.close();
    });

    it("maps the cluster's own 400 (an index with a smaller max_result_window) to the same error", async () => {
      model.maxResultWindow = 100;
      await index.write("acme", docs(levels(3)));
      const err = (await index.search(q("*"), { order: "desc", size: 50, offset: 60 }).catch((e: unknown) => e)) as ResultWindowError;
      expect(err).toBeInstanceOf(ResultWindowError);
      expect({ window: err.window, requested: err.requested }).toEqual({ window: 100, requested: 111 });
    });
  });

  describe("429s under sustained load", () => {
    it("backs off for minutes (capped, jittered, within the budget) when whole bulks are refused, then hands the events back as retry", async () => {
      model.bulkRejections = Number.POSITIVE_INFINITY;
      const clock = fakeClock();
      const i = open({ maxAttempts: undefined, retryBaseMs: 200, retryCapMs: 30_000, retryBudgetMs: 300_000, clock });
      const results = await i.write("acme", docs(levels(3)));
      await i.close();
      expect(results.map((r) => r.status)).toEqual(["retry", "retry", "retry"]);
      expect(results[0]!.error).toBe("bulk request failed with 429");
      const total = clock.waits.reduce((a, b) => a + b, 0);
      // Minutes, not the old 1.5–3 s: the rounds stop only when the next wait would pass the budget.
      expect(total).toBeLessThanOrEqual(300_000);
      expect(total).toBeGreaterThan(300_000 - 30_000);
      expect(Math.max(...clock.waits)).toBeLessThanOrEqual(30_000);
      // Exponential at first (each wait in the upper half of its doubling step), capped later.
      clock.waits.slice(0, 6).forEach((w, k) => {
        expect(w).toBeGreaterThanOrEqual(100 * 2 ** k);
        expect(w).toBeLessThanOrEqual(200 * 2 ** k);
      });
      expect(cluster.requestsTo("POST", /^\/_bulk$/)).toHaveLength(clock.waits.length + 1);
      expect(model.refused.bulk).toBe(clock.waits.length + 1);
    });

    it("stops backing off at the invocation's deadline", async () => {
      model.itemRejections = Number.POSITIVE_INFINITY;
      const clock = fakeClock();
      const i = open({ maxAttempts: undefined, retryBaseMs: 200, retryCapMs: 30_000, retryBudgetMs: 300_000, clock });
      const results = await withDeadline(clock.now() + 45_000, () => i.write("acme", docs(levels(2))));
      await i.close();
      expect(results.map((r) => r.status)).toEqual(["retry", "retry"]);
      expect(results[0]!.error).toMatch(/^429 es_rejected_execution_exception: rejected execution/);
      expect(clock.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(45_000);
    });

    it("gets every event in once per-item 429s stop, re-sending only the refused items", async () => {
      model.itemRejections = 3;
      const clock = fakeClock();
      const i = open({ maxAttempts: undefined, retryBudgetMs: 300_000, clock });
      const events = levels(5);
      expect((await i.write("acme", docs(events))).map((r) => r.status)).toEqual(["created", "created", "created", "created", "created"]);
      await i.close();
      const bulks = cluster.requestsTo("POST", /^\/_bulk$/).map((r) => (r.body as unknown[]).length / 2);
      expect(bulks).toEqual([5, 3]);
      expect(await index.count(q("*"))).toBe(5);
    });
  });

  describe("partial and slow searches", () => {
    beforeEach(async () => {
      await index.write("acme", docs(levels(6)));
    });

    it("fails every kind of read when a shard failed, instead of answering in part", async () => {
      const reads: [string, () => Promise<unknown>][] = [
        ["search", () => index.search(q("*"), { order: "desc", size: 10 })],
        ["count", () => index.count(q("*"))],
        ["facet", () => index.facet(q("*"), "json.level", 5)],
        ["histogram", () => index.histogram(q("*"), MINUTE)],
        ["fields", () => index.fields(q("*"))],
      ];
      for (const [name, read] of reads) {
        model.shardFailures = 1;
        const err = (await read().catch((e: unknown) => e)) as Error;
        expect(err, name).toBeInstanceOf(IndexUnavailableError);
        expect(err.message).toMatch(/1 of 2 shards failed \(node_not_connected_exception/);
      }
      expect(model.refused.shards).toBe(reads.length);
      // The cluster whole again: the same reads answer.
      expect(await index.count(q("*"))).toBe(6);
    });

    it("fails a read the cluster timed out (timed_out: true) with the time budget's error", async () => {
      model.timeouts = 1;
      const err = (await index.search(q("*"), { order: "desc", size: 10 }).catch((e: unknown) => e)) as QueryBudgetError;
      expect(err).toBeInstanceOf(QueryBudgetError);
      expect(err.budget).toBe("time");
    });

    it("tells the cluster its time budget: the body timeout and cancel_after_time_interval, within the caller's deadline", async () => {
      await withDeadline(Date.now() + 5_000, () => index.count(q("*")));
      const r = cluster.requestsTo("POST", /_search$/).at(-1)!;
      const cancelMs = Number(/^(\d+)ms$/.exec(r.query.cancel_after_time_interval!)![1]);
      const shardMs = Number(/^(\d+)ms$/.exec((r.body as { timeout: string }).timeout)![1]);
      expect(cancelMs).toBeLessThanOrEqual(5_000);
      expect(shardMs).toBeLessThan(cancelMs);
      // Without a deadline: searchTimeoutMs (20 s by default).
      await index.count(q("*"));
      expect(cluster.requestsTo("POST", /_search$/).at(-1)!.query.cancel_after_time_interval).toBe("17000ms");
    });

    it("sends nothing when the caller's deadline has passed", async () => {
      const sent = cluster.requests.length;
      await expect(withDeadline(Date.now() - 1, () => index.search(q("*"), { order: "desc", size: 10 }))).rejects.toBeInstanceOf(QueryBudgetError);
      expect(cluster.requests.length).toBe(sent);
    });

    it("gives up on a slow cluster within its budget, closing the connection (which cancels the search there)", async () => {
      model.searchDelayMs = 10 * MINUTE;
      const i = open({ searchTimeoutMs: 300 });
      const err = (await i.search(q("*"), { order: "desc", size: 10 }).catch((e: unknown) => e)) as QueryBudgetError;
      expect(err).toBeInstanceOf(QueryBudgetError);
      expect(err.message).toMatch(/did not answer within 300 ms/);
      await i.close();
      // The server sees the connection closed while its answer was pending.
      for (let k = 0; k < 800 && cluster.abandoned.length === 0; k++) await new Promise((r) => setTimeout(r, 25));
      expect(cluster.abandoned.map((r) => r.path)).toEqual([cluster.requestsTo("POST", /_search$/).at(-1)!.path]);
    }, 60_000);
  });

  describe("wildcards and facets", () => {
    it("finds text by a wildcard that is not a prefix, and refuses one with fewer than 2 literal characters in a row", async () => {
      await index.write("acme", docs(levels(3)));
      expect(await index.count(q("*rror"))).toBe(3);
      expect(await index.count(q("fa?led"))).toBe(3);
      for (const text of ["*e*", "?", "a?b*c"]) {
        await expect(index.count(q(text)), text).rejects.toBeInstanceOf(QuerySyntaxError);
      }
    });

    it("counts facet terms in a bounded sample per shard and says when the sample left events out", async () => {
      await index.write("acme", docs(levels(9)));
      const whole = await index.facet(q("*"), "json.level", 5);
      expect(whole).toEqual({ terms: [{ term: "info", count: 6 }, { term: "error", count: 3 }], sampled: false, distinct: 2, distinctExact: true });
      const i = open({ facetSampleSize: 4 });
      const part = await i.facet(q("*"), "json.level", 5);
      await i.close();
      expect(part.sampled).toBe(true);
      expect(part.distinctExact).toBe(false);
      expect(part.terms.reduce((n, t) => n + t.count, 0)).toBe(4);
      expect(cluster.requestsTo("POST", /_search$/).at(-1)!.body).toMatchObject({ aggs: { sample: { sampler: { shard_size: 4 }, aggs: { facet: { terms: { execution_hint: "map" } } } } } });
    });

    it("says sampled across tiers when one tier's sample left events out", async () => {
      const cold = await startModelCluster();
      const tenant = { name: "acme", tier: "hot", slice: "day" } as Tenant;
      const tenants: TenantDirectory = { byName: (n) => (n === "acme" ? tenant : undefined), byApiToken: () => undefined, byIngestToken: () => undefined, list: () => [tenant] };
      const tiers = openSearchIndexForTiers({ endpoints: { hot: cluster.url, cold: cold.url }, tenants, retryBaseMs: 1, facetSampleSize: 4 });
      await tiers.write("acme", docs(levels(6)));
      const facet = await tiers.facet(q("*"), "json.level", 5);
      await tiers.close();
      await cold.close();
      expect({ sampled: facet.sampled, distinctExact: facet.distinctExact }).toEqual({ sampled: true, distinctExact: false });
      expect(facet.terms.reduce((n, t) => n + t.count, 0)).toBe(4);
    });
  });
});

describe("the retrieval API over both engines: deep pages, partial and slow reads", () => {
  const acme: Tenant = { name: "acme", ingestToken: "in-acme", apiToken: "api-acme", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
  const tenants: TenantDirectory = { byApiToken: (t) => (t === acme.apiToken ? acme : undefined), byIngestToken: () => undefined, byName: (n) => (n === "acme" ? acme : undefined), list: () => [acme] };
  const get = (index: IndexPort, p: string): Promise<ApiResponse> => {
    const url = new URL(p, "http://localhost:8080");
    return handleApi({ method: "GET", path: url.pathname, query: url.searchParams, headers: { authorization: `bearer ${acme.apiToken}` }, origin: "http://localhost:8080" }, { index, tenants, now: () => NOW });
  };
  const body = (r: ApiResponse) => r.body as Record<string, unknown>;

  let dir: string;
  let cluster: RecordedServer;
  let engines: [string, IndexPort][];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-window-"));
    cluster = await startModelCluster();
    engines = [
      ["embedded", new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" })],
      ["opensearch", new OpenSearchIndex({ node: cluster.url, retryBaseMs: 1 })],
    ];
    for (const [, index] of engines) await index.write("acme", docs(levels(5)));
  });
  afterEach(async () => {
    for (const [, index] of engines) await index.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers the window's last page with 200 and a page past it with 400 pointing at /apiv2/events/iterate, alike on both engines", async () => {
    for (const [name, index] of engines) {
      const { rsid } = body(await get(index, "/apiv2/search?q=*&from=-1h&size=1000")) as { rsid: { id: string } };
      // page 9 of 1,000 ends exactly at event 10,000 (it was a 500 on OpenSearch: the look-ahead passed the window).
      const last = await get(index, `/apiv2/events?rsid=${rsid.id}&page=9`);
      expect(last.status, name).toBe(200);
      expect(body(last).events, name).toEqual([]);
      const deeper = await get(index, `/apiv2/events?rsid=${rsid.id}&page=10`);
      expect(deeper.status, name).toBe(400);
      expect(String(body(deeper).message), name).toMatch(/\/apiv2\/events\/iterate/);
      const first = await get(index, `/apiv2/events?rsid=${rsid.id}&page=0`);
      expect((body(first).events as unknown[]).length, name).toBe(5);
    }
  });

  it("exports a search's events alike from both engines, page after page, as NDJSON and CSV", async () => {
    // 1,205 events in all: more than two of the export's 500-event pages.
    const more = Array.from({ length: 1200 }, (_, i) => makeEvent("acme", NOW - 10_000 - i * 1000, { json: { level: i % 4 === 0 ? "warn" : "info", n: 100 + i }, logmsg: `batch line ${i}` }));
    for (const [, index] of engines) await index.write("acme", docs(more));
    const exported: Record<string, { ids: string[]; csv: string[] }> = {};
    for (const [name, index] of engines) {
      const ndjson = await planExport(new URLSearchParams({ q: "*", from: "-1h", format: "ndjson" }), acme, index, NOW);
      expect(ndjson.matched, name).toBe(1205);
      const lines = (await collectExport(ndjson, 64 * 1024 * 1024)).body.trimEnd().split("\n");
      const csv = await planExport(new URLSearchParams({ q: "json.level:warn", from: "-1h", format: "csv", fields: "json.level,json.n", order: "asc" }), acme, index, NOW);
      // The five events of beforeEach are made once per engine (ids of their own): events are told apart by time and n.
      const key = (l: string) => {
        const e = JSON.parse(l) as { timestamp: number; event: { json: { n: number } } };
        return `${e.timestamp} ${e.event.json.n}`;
      };
      exported[name] = { ids: lines.map(key), csv: (await collectExport(csv, 64 * 1024 * 1024)).body.trimEnd().split("\r\n") };
    }
    const { embedded, opensearch } = exported as Record<"embedded" | "opensearch", { ids: string[]; csv: string[] }>;
    expect(embedded.ids).toHaveLength(1205);
    expect(new Set(embedded.ids).size).toBe(1205);
    // Same events, same order (newest first; ties broken alike).
    expect(opensearch.ids).toEqual(embedded.ids);
    expect(embedded.csv[0]).toBe("timestamp,json.level,json.n");
    expect(embedded.csv).toHaveLength(301);
    expect(embedded.csv[1]).toBe(`${new Date(NOW - 10_000 - 1196 * 1000).toISOString()},warn,1296`);
    expect(opensearch.csv).toEqual(embedded.csv);
  });

  it("answers a field's numeric aggregates alike on both engines (GET /apiv2/fields/FIELD/stats), and refuses a missing field", async () => {
    const more = Array.from({ length: 300 }, (_, i) => makeEvent("acme", NOW - 10_000 - i * 1000, { json: { level: i % 5 === 0 ? "error" : "info", ms: i % 7 === 0 ? String(i * 3) : i * 3 }, logmsg: `timed line ${i}` }));
    for (const [, index] of engines) await index.write("acme", docs(more));
    const answers: Record<string, unknown[]> = {};
    for (const [name, index] of engines) {
      const all = await get(index, "/apiv2/fields/json.ms/stats?q=*&from=-1h");
      const errors = await get(index, "/apiv2/fields/json.ms/stats?q=json.level:error&from=-1h");
      const none = await get(index, "/apiv2/fields/json.level/stats?from=-1h");
      expect([all.status, errors.status, none.status], name).toEqual([200, 200, 200]);
      answers[name] = [all.body, errors.body, none.body];
      expect((await get(index, "/apiv2/fields//stats?from=-1h")).status, name).toBe(400);
    }
    // 0, 3, ..., 897 (every 7th a numeric string): computed by hand, nearest-rank percentiles.
    expect(answers.embedded![0]).toEqual({ field: "json.ms", count: 300, min: 0, max: 897, sum: 134_550, avg: 448.5, p50: 447, p95: 852, p99: 888, exact: true });
    expect((answers.embedded![1] as { count: number }).count).toBe(60);
    expect(answers.embedded![2]).toMatchObject({ field: "json.level", count: 0, min: null, avg: null });
    expect(answers.opensearch).toEqual(answers.embedded);
  });

  it("answers 400 pointing at /apiv2/events/iterate when the cluster's own window is smaller, and the engines' window errors directly", async () => {
    modelControls(cluster).maxResultWindow = 100;
    const opensearch = engines[1]![1];
    const { rsid } = body(await get(opensearch, "/apiv2/search?q=*&from=-1h&size=50")) as { rsid: { id: string } };
    const res = await get(opensearch, `/apiv2/events?rsid=${rsid.id}&page=3`);
    expect(res.status).toBe(400);
    expect(String(body(res).message)).toMatch(/first 100 events .*\/apiv2\/events\/iterate/);
    for (const [name, index] of engines) {
      await expect(index.search(q("*"), { order: "desc", size: 10, offset: 9_991 }), name).rejects.toBeInstanceOf(ResultWindowError);
    }
  });

  it("answers 503 for a partial read, 504 for a timed-out one and 400 for a wildcard without literals (OpenSearch)", async () => {
    const opensearch = engines[1]![1];
    const model = modelControls(cluster);
    model.shardFailures = 1;
    const partial = await get(opensearch, "/apiv2/events/count?q=*&from=-1h");
    expect(partial.status).toBe(503);
    expect(partial.headers["Retry-After"]).toBeDefined();
    model.timeouts = 1;
    expect((await get(opensearch, "/apiv2/events/count?q=*&from=-1h")).status).toBe(504);
    const wild = await get(opensearch, `/apiv2/events/count?q=${encodeURIComponent("*e*")}&from=-1h`);
    expect(wild.status).toBe(400);
    expect(String(body(wild).message)).toMatch(/at least 2 characters in a row/);
    expect(body(await get(opensearch, "/apiv2/events/count?q=*&from=-1h"))).toEqual({ count: 5 });
  });
});
