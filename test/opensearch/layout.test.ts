import { afterEach, describe, expect, it } from "vitest";
import { createIndexStage, encodeProcessedDocs, parseQuery, sliceStart, type LogEvent, type Placement, type QueueRecord, type SearchQuery, type Tenant } from "@unmeltable/core";
import { applyPlacementChange, OpenSearchIndex, openSearchIndexForTiers, planPlacement, retentionClass, type PlacementChange, type TenantLayout } from "@unmeltable/index-opensearch";
import { ReloadingTenantDirectory } from "@unmeltable/tenants-config";
import { makeEvent } from "../contract/index.contract";
import { routedShards, modelShard, startModelCluster } from "./model-cluster";
import type { RecordedRequest, RecordedServer } from "./recorded-server";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const today = sliceStart(Date.now(), "day");
const day0 = today - 3 * DAY;

const tenant = (name: string, extra: Partial<Tenant> = {}): Tenant => ({ name, ingestToken: `ingest-${name}`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0, ...extra });
const docs = (events: LogEvent[]) => events.map((e) => JSON.stringify(e));
const q = (t: string, from: number, until: number, text = "*"): SearchQuery => ({ tenant: t, query: parseQuery(text), from, until });

/** The request line's length as sent (method, percent-encoded path and query, protocol). */
function requestLine(r: RecordedRequest): number {
  const query = new URLSearchParams(r.query).toString();
  return `${r.method} ${encodeURI(r.path)}${query ? `?${query}` : ""} HTTP/1.1`.length;
}

async function allIds(index: { search: OpenSearchIndex["search"] }, query: SearchQuery): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await index.search(query, { order: "asc", size: 50, cursor });
    ids.push(...page.events.map((e) => e.id));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}

describe("OpenSearch layout on the modelled cluster", () => {
  let cluster: RecordedServer;
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const i of opened.splice(0)) await i.close();
    await cluster?.close();
    expect(cluster.problems).toEqual([]);
  });

  const open = (layouts: Record<string, TenantLayout>, extra: Partial<ConstructorParameters<typeof OpenSearchIndex>[0]> = {}) => {
    const index = new OpenSearchIndex({ node: cluster.url, retryBaseMs: 1, replicas: 0, layoutOf: (t) => layouts[t], ...extra });
    opened.push(index);
    return index;
  };

  it("applies the templates: a pooled index made by a bulk gets the pooled template's settings and requires routing; a dedicated one the tier's template and its own primaries", async () => {
    cluster = await startModelCluster();
    const index = open({ acme: { retentionDays: 30 } }, { poolShards: 4, refreshInterval: "45s" });
    expect((await index.write("acme", docs([makeEvent("acme", today + HOUR, { id: "a1" })])))[0]!.status).toBe("created");
    const pooled = `logs-default._pool-r30.${"day-" + new Date(today).toISOString().slice(0, 10).replaceAll("-", "")}`;
    const settings = async (name: string) => ((await index.client.transport.request({ method: "GET", path: `/${name}/_settings` })).body as Record<string, { settings: { index: Record<string, string> } }>)[name]!.settings.index;
    expect(await settings(pooled)).toMatchObject({ number_of_shards: "4", routing_partition_size: "2", number_of_replicas: "0", refresh_interval: "45s" });
    expect((await settings(pooled)).analysis).toBeDefined(); // from the component template

    // The pooled template's mapping requires routing: a write without it is refused, not misplaced.
    const raw = await index.client.transport.request({ method: "POST", path: "/_bulk", bulkBody: `${JSON.stringify({ create: { _index: pooled, _id: "acme/x" } })}\n${JSON.stringify(makeEvent("acme", today))}\n` });
    const item = (raw.body as { items: { create: { status: number; error: { type: string } } }[] }).items[0]!.create;
    expect(item).toMatchObject({ status: 400, error: { type: "routing_missing_exception" } });

    expect(await index.createIndex("logs-default.big.day-20260105", 3)).toBe(true);
    expect(await index.createIndex("logs-default.big.day-20260105", 3)).toBe(false); // exists: done all the same
    expect(await settings("logs-default.big.day-20260105")).toMatchObject({ number_of_shards: "3", number_of_replicas: "0", refresh_interval: "45s" });
    expect((await settings("logs-default.big.day-20260105")).routing_partition_size).toBeUndefined();
  });

  it("routes a pooled tenant's documents to its partition of the shards, and a routed search reads only those", async () => {
    cluster = await startModelCluster();
    const index = open({ acme: { retentionDays: 30 }, other: { retentionDays: 30 } }, { poolShards: 8 });
    const events = Array.from({ length: 40 }, (_, k) => makeEvent("acme", today + k * 1000, { id: `a${k}` }));
    await index.write("acme", docs(events));
    await index.write("other", docs([makeEvent("other", today, { id: "o1" })]));
    const partition = routedShards("acme", 8, 2);
    for (const e of events) expect(partition.has(modelShard("acme", `acme/${e.id}`, 8, 2))).toBe(true);
    expect(new Set(events.map((e) => modelShard("acme", `acme/${e.id}`, 8, 2))).size).toBe(2); // spread over its partition
    expect((await allIds(index, q("acme", today, today + DAY - 1))).sort()).toEqual(events.map((e) => e.id).sort());
    const searches = cluster.requests.filter((r) => r.path.endsWith("/_search"));
    expect(searches.every((r) => r.query.routing === "acme")).toBe(true);
    expect(await allIds(index, q("other", today, today + DAY - 1))).toEqual(["o1"]);
  });

  it("answers retry, never rejected, when the shard cap refuses a new index; once shards are free the same events are created", async () => {
    cluster = await startModelCluster({ maxShardsPerNode: 3, nodes: 1 });
    const dedicated = (): TenantLayout => ({ retentionDays: 30, placements: [{ from: 0, layout: "dedicated", slice: "day" }] });
    const index = open({ a: dedicated(), b: dedicated(), c: dedicated(), d: dedicated() }, { maxAttempts: 2 });
    for (const t of ["a", "b", "c"]) expect((await index.write(t, docs([makeEvent(t, today, { id: "1" })])))[0]!.status).toBe("created");
    const refused = await index.write("d", docs([makeEvent("d", today, { id: "1" }), makeEvent("d", today + 1, { id: "2" })]));
    expect(refused.map((r) => r.status)).toEqual(["retry", "retry"]);
    expect(refused[0]!.error).toMatch(/validation_exception: Validation Failed: 1: this action would add \[1\] total shards, but this cluster currently has \[3\]\/\[3\] maximum shards open/);
    // Through the index stage: nothing dead-lettered, the records retried.
    const stage = createIndexStage({ index });
    const record: QueueRecord = { topic: "processed.default", partition: 0, offset: 7, key: "d", value: encodeProcessedDocs("d", docs([makeEvent("d", today, { id: "1" })])), timestamp: today, headers: {} };
    const out = await stage([record]);
    expect(out.deadLetters).toEqual([]);
    expect(out.outcomes[0]!.status).toBe("retry");
    await index.client.transport.request({ method: "PUT", path: "/_cluster/settings", body: { persistent: { "cluster.max_shards_per_node": 10 } } });
    expect((await stage([record])).outcomes[0]!.status).toBe("ok");
  });

  it("keeps replays idempotent across a placement change: each event goes where its time's placement says, a replay answers exists, a search sees each once", async () => {
    cluster = await startModelCluster();
    const acme: Tenant = tenant("acme");
    const dir = new ReloadingTenantDirectory([acme]);
    const index = openSearchIndexForTiers({ endpoints: { default: cluster.url }, tenants: dir, tier: "default", retryBaseMs: 1, replicas: 0 });
    opened.push(index);
    const before = Array.from({ length: 5 }, (_, k) => makeEvent("acme", day0 + k * HOUR, { id: `p${k}` }));
    expect((await index.write("acme", docs(before))).map((r) => r.status)).toEqual(Array(5).fill("created"));
    // Promoted to dedicated hour slices from the next day on.
    const change: Placement = { from: day0 + DAY, layout: "dedicated", slice: "hour", shards: 2 };
    dir.replace([{ ...acme, placements: [change] }]);
    const after = Array.from({ length: 5 }, (_, k) => makeEvent("acme", day0 + DAY + k * HOUR, { id: `d${k}` }));
    expect((await index.write("acme", docs(after))).map((r) => r.status)).toEqual(Array(5).fill("created"));
    // The replay of both (the archive, a redrive) after the change.
    expect((await index.writeMany!([{ tenant: "acme", docs: docs([...before, ...after]) }]))[0]!.map((r) => r.status)).toEqual(Array(10).fill("exists"));
    const cat = (await index.forTier("default").catIndices()).map((r) => r.index).sort();
    expect(cat.filter((n) => n.includes("._pool-"))).toEqual([`logs-default._pool-r30.day-${ymd(day0)}`]);
    expect(cat.filter((n) => n.includes(".acme."))).toHaveLength(5);
    const ids = await allIds(index, q("acme", day0 - DAY, day0 + 3 * DAY));
    expect(ids).toEqual([...before, ...after].map((e) => e.id));
    expect(await index.count(q("acme", day0 - DAY, day0 + 3 * DAY))).toBe(10);
    // A range over the change is read as two searches merged: the pooled indices routed, the dedicated ones not (routed by _id).
    const searches = cluster.requests.filter((r) => r.path.endsWith("/_search"));
    expect(searches.filter((r) => r.query.routing === "acme").every((r) => r.path.includes("._pool-"))).toBe(true);
    expect(searches.filter((r) => r.query.routing === undefined).every((r) => !r.path.includes("._pool-"))).toBe(true);
    expect(searches.filter((r) => r.query.routing === "acme").length).toBe(searches.length / 2);
    await allIds(index, q("acme", day0, day0 + DAY - 1));
    expect(cluster.requests.filter((r) => r.path.endsWith("/_search")).at(-1)!.query.routing).toBe("acme");
  });

  it("keeps replays idempotent across a change of retention class: the retention is recorded, the new class starts at the next midnight", async () => {
    cluster = await startModelCluster();
    const acme: Tenant = tenant("acme", { retentionDays: 7 });
    const dir = new ReloadingTenantDirectory([acme]);
    const index = openSearchIndexForTiers({ endpoints: { default: cluster.url }, tenants: dir, tier: "default", retryBaseMs: 1, replicas: 0 });
    opened.push(index);
    // The lifecycle's saves, applied to the directory as functions/lifecycle.ts applies them to tenants.json.
    const save = async (changes: PlacementChange[]) => {
      dir.replace(dir.list().map((t) => changes.filter((c) => c.tenant === t.name).reduce((x, c) => ({ ...x, placements: applyPlacementChange(x, c) ?? x.placements }), t)));
    };
    const early = [makeEvent("acme", day0 + HOUR, { id: "e0" }), makeEvent("acme", today + HOUR, { id: "e1" })];
    expect((await index.write("acme", docs(early))).map((r) => r.status)).toEqual(["created", "created"]);
    // The first run records the retention acme's placements have been read with (it had none: pooled from the start).
    const first = await index.layoutLifecycle!({ tenants: dir.list(), now: today + 2 * HOUR, savePlacements: save });
    expect({ recorded: first.recorded, placed: first.placed, failed: first.failed }).toEqual({ recorded: ["acme"], placed: [], failed: [] });
    expect(dir.byName("acme")!.placements).toEqual([{ from: -8.64e15, layout: "pooled", slice: "day", retentionDays: 7 }]);

    // Ops raise acme's retention to 30 days (another class) by editing tenants.json.
    dir.replace([{ ...dir.byName("acme")!, retentionDays: 30 }]);
    const later = makeEvent("acme", today + 3 * HOUR, { id: "e2" });
    // Until the next midnight, acme's events stay in the class they were placed in: a replay answers exists.
    expect((await index.write("acme", docs([...early, later]))).map((r) => r.status)).toEqual(["exists", "exists", "created"]);
    const second = await index.layoutLifecycle!({ tenants: dir.list(), now: today + 4 * HOUR, savePlacements: save });
    expect(second.placed.map((c) => c.placement)).toEqual([{ from: today + DAY, layout: "pooled", slice: "day", retentionDays: 30 }]);
    expect(second.recorded).toEqual([]);
    const tomorrow = makeEvent("acme", today + DAY + HOUR, { id: "e3" });
    expect((await index.write("acme", docs([tomorrow]))).map((r) => r.status)).toEqual(["created"]);
    // The replay of everything, after the change: each event where it went the first time.
    expect((await index.write("acme", docs([...early, later, tomorrow]))).map((r) => r.status)).toEqual(["exists", "exists", "exists", "exists"]);
    const pools = (await index.forTier("default").catIndices()).map((r) => r.index).filter((n) => n.includes("._pool-")).sort();
    expect(pools).toEqual(expect.arrayContaining([`logs-default._pool-r7.day-${ymd(day0)}`, `logs-default._pool-r7.day-${ymd(today)}`, `logs-default._pool-r30.day-${ymd(today + DAY)}`]));
    expect(pools).not.toContain(`logs-default._pool-r30.day-${ymd(today)}`);
    expect(await allIds(index, q("acme", day0 - DAY, today + 2 * DAY))).toEqual(["e0", "e1", "e2", "e3"]);
    // A third run has nothing to change.
    const third = await index.layoutLifecycle!({ tenants: dir.list(), now: today + 5 * HOUR, savePlacements: save });
    expect({ recorded: third.recorded, placed: third.placed }).toEqual({ recorded: [], placed: [] });
  });

  it("plans a retention change as the same placement under the new retention, at a boundary of its slice", () => {
    const now = Date.UTC(2026, 5, 10, 10, 30); // a Wednesday
    const midnight = Date.UTC(2026, 5, 11);
    const hourly: Placement = { from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 4, retentionDays: 30 };
    expect(planPlacement({ retentionDays: 90, placements: [hourly] }, undefined, now)).toEqual({ from: midnight, layout: "dedicated", slice: "hour", shards: 4, retentionDays: 90 });
    const weekly: Placement = { from: Date.UTC(2025, 11, 29), layout: "dedicated", slice: "week", retentionDays: 30 };
    expect(planPlacement({ retentionDays: 7, placements: [weekly] }, undefined, now)).toEqual({ from: Date.UTC(2026, 5, 15), layout: "dedicated", slice: "week", retentionDays: 7 });
    // Unchanged retention, unmeasured volume: nothing to do.
    expect(planPlacement({ retentionDays: 30, placements: [hourly] }, undefined, now)).toBeUndefined();
    // A promotion records the retention it was made under.
    expect(planPlacement({ retentionDays: 14, placements: [{ from: -8.64e15, layout: "pooled", slice: "day", retentionDays: 14 }] }, 100e9, now)).toEqual({ from: midnight, layout: "dedicated", slice: "day", shards: 3, retentionDays: 14 });
    // Applying: a record fills only missing retentions, from the entry as it is; an append goes after the last placement only.
    const entry = { retentionDays: 60, placements: [{ from: -8.64e15, layout: "pooled", slice: "day" } as Placement, hourly] };
    expect(applyPlacementChange(entry, { tenant: "x", record: true })).toEqual([{ from: -8.64e15, layout: "pooled", slice: "day", retentionDays: 60 }, hourly]);
    expect(applyPlacementChange({ retentionDays: 30, placements: [hourly] }, { tenant: "x", record: true })).toBeUndefined();
    expect(applyPlacementChange({ retentionDays: 30, placements: [hourly] }, { tenant: "x", placement: { ...hourly, from: Date.UTC(2025, 0, 1) } })).toBeUndefined();
  });

  it("places events older than the tenant's retention or a day ahead at their receipt, keeping the stated time: no old index is created", async () => {
    cluster = await startModelCluster();
    const index = open({ acme: { retentionDays: 7 } });
    const received = today + 2 * HOUR;
    const old = { ...makeEvent("acme", Date.UTC(1970, 0, 2), { id: "old" }), receivedAt: received };
    const stale = { ...makeEvent("acme", received - 20 * DAY, { id: "stale" }), receivedAt: received };
    const ahead = { ...makeEvent("acme", received + 3 * DAY, { id: "ahead" }), receivedAt: received };
    expect((await index.write("acme", docs([old, stale, ahead]))).map((r) => r.status)).toEqual(["created", "created", "created"]);
    expect((await index.catIndices()).map((r) => r.index)).toEqual([`logs-default._pool-r${retentionClass(7)}.day-${ymd(today)}`]);
    const found = (await index.search(q("acme", today, today + DAY - 1), { order: "asc", size: 10 })).events;
    expect(found.map((e) => [e.id, e.timestamp, (e.event.unmeltable as { statedTimestamp?: number }).statedTimestamp])).toEqual([
      ["ahead", received, ahead.timestamp],
      ["old", received, old.timestamp],
      ["stale", received, stale.timestamp],
    ]); // one timestamp: in id order
    // A replay places them the same way.
    expect((await index.write("acme", docs([old, stale, ahead]))).map((r) => r.status)).toEqual(["exists", "exists", "exists"]);
  });

  it("enforces each tenant's retention at query time in a pooled index of a longer class", async () => {
    cluster = await startModelCluster();
    const index = open({ short: { retentionDays: 2 }, long: { retentionDays: 7 } });
    const at = today - 4 * DAY + HOUR; // within the 7-day class, beyond a 2-day retention
    for (const t of ["short", "long"]) await index.write(t, docs([makeEvent(t, at, { id: `${t}-old`, receivedAt: at }), makeEvent(t, today + HOUR, { id: `${t}-new` })]));
    expect(retentionClass(2)).toBe(retentionClass(7));
    expect(await allIds(index, q("short", today - 10 * DAY, today + DAY))).toEqual(["short-new"]);
    expect(await index.count(q("short", today - 10 * DAY, today + DAY))).toBe(1);
    expect(await allIds(index, q("long", today - 10 * DAY, today + DAY))).toEqual(["long-old", "long-new"]);
    // A range wholly before the retention asks nothing.
    const before = cluster.requests.length;
    expect((await index.search(q("short", today - 10 * DAY, today - 5 * DAY), { order: "asc", size: 10 })).events).toEqual([]);
    expect(cluster.requests.length).toBe(before);
  });

  it("reads only the tiers holding the range: another tier's domain being unreachable fails no search there", async () => {
    cluster = await startModelCluster();
    const moved = tenant("acme", { tier: "hot", retentionDays: 30, placements: [{ from: today - 10 * DAY, layout: "pooled", slice: "day", tier: "cold" }, { from: today - DAY, layout: "pooled", slice: "day" }] });
    const dir = new ReloadingTenantDirectory([moved]);
    // cold: nothing listens there.
    const index = openSearchIndexForTiers({ endpoints: { hot: cluster.url, cold: "http://127.0.0.1:9" }, tenants: dir, tier: "hot", retryBaseMs: 1, maxAttempts: 1, requestTimeoutMs: 2000, replicas: 0 });
    opened.push(index);
    await index.write("acme", docs([makeEvent("acme", today + HOUR, { id: "h1" })]));
    expect(await allIds(index, q("acme", today - DAY, today + DAY))).toEqual(["h1"]);
    await expect(index.search(q("acme", today - 5 * DAY, today + DAY), { order: "asc", size: 10 })).rejects.toThrow(/unavailable/);
  });

  it("deletes a tenant: 800 dedicated slices in DELETEs whose request lines stay under 4 KB, its pooled documents by a routed, throttled delete-by-query", async () => {
    cluster = await startModelCluster({ maxShardsPerNode: 5000 });
    const index = open({ big: { retentionDays: 30, placements: [{ from: 0, layout: "dedicated", slice: "hour" }] }, small: { retentionDays: 30 }, other: { retentionDays: 30 } });
    await index.ensureTemplates();
    for (let h = 0; h < 800; h += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => index.createIndex(`logs-default.big.hour-${ymdh(today - (h + k) * HOUR)}`)));
    await index.write("small", docs([makeEvent("small", today, { id: "s1" }), makeEvent("small", today + 1, { id: "s2" })]));
    await index.write("other", docs([makeEvent("other", today, { id: "o1" })]));
    const from = cluster.requests.length;
    await index.deleteTenant("big");
    await index.deleteTenant("small");
    const sent = cluster.requests.slice(from);
    expect(Math.max(...sent.map(requestLine))).toBeLessThan(4096);
    const deletes = sent.filter((r) => r.method === "DELETE");
    expect(deletes.length).toBeGreaterThan(1);
    expect(deletes.flatMap((r) => r.path.slice(1).split(","))).toHaveLength(800);
    const dbq = sent.filter((r) => r.path.endsWith("/_delete_by_query"));
    expect(dbq.map((r) => r.query)).toEqual([
      expect.objectContaining({ routing: "big", wait_for_completion: "false", requests_per_second: "1000" }),
      expect.objectContaining({ routing: "small", wait_for_completion: "false", requests_per_second: "1000" }),
    ]);
    expect((await index.catIndices()).map((r) => r.index).filter((n) => n.includes(".big."))).toEqual([]);
    expect(await index.count(q("small", today - DAY, today + DAY))).toBe(0);
    expect(await allIds(index, q("other", today - DAY, today + DAY))).toEqual(["o1"]);
  });

  it("sends one bulk for a batch of many tenants (the index stage's cross-tenant write)", async () => {
    cluster = await startModelCluster();
    const tenants = Array.from({ length: 50 }, (_, k) => tenant(`t${k}`));
    const index = openSearchIndexForTiers({ endpoints: { default: cluster.url }, tenants: new ReloadingTenantDirectory(tenants), tier: "default", retryBaseMs: 1, replicas: 0 });
    opened.push(index);
    const stage = createIndexStage({ index });
    const records: QueueRecord[] = tenants.map((t, k) => ({ topic: "processed.default", partition: 0, offset: k, key: t.name, value: encodeProcessedDocs(t.name, docs([makeEvent(t.name, today, { id: "e1" }), makeEvent(t.name, today + 1, { id: "e2" })])), timestamp: today, headers: {} }));
    const out = await stage(records);
    expect(out.eventsOut).toBe(100);
    expect(out.outcomes.every((o) => o.status === "ok")).toBe(true);
    expect(cluster.requests.filter((r) => r.path === "/_bulk")).toHaveLength(1);
    expect(await allIds(index, q("t7", today - DAY, today + DAY))).toEqual(["e1", "e2"]);
    // A tenant name that cannot be part of an index name has its documents rejected; the others are written.
    const mixed = await index.writeMany!([
      { tenant: "t1,*", docs: docs([makeEvent("t1,*", today, { id: "x" })]) },
      { tenant: "t1", docs: docs([makeEvent("t1", today, { id: "e3" })]) },
    ]);
    expect(mixed.map((r) => r.map((x) => x.status))).toEqual([["rejected"], ["created"]]);
    expect(mixed[0]![0]!.error).toMatch(/invalid tenant/);
  });
});

function ymd(t: number): string {
  return new Date(t).toISOString().slice(0, 10).replaceAll("-", "");
}

function ymdh(t: number): string {
  return ymd(t) + new Date(t).toISOString().slice(11, 13);
}

describe("tier settings", () => {
  it("puts each tier's replicas and analysis into its templates (UNMELTABLE_OPENSEARCH_INDEX_SETTINGS)", async () => {
    const cluster = await startModelCluster("icu");
    const index = openSearchIndexForTiers({ endpoints: { default: cluster.url }, tenants: new ReloadingTenantDirectory([tenant("acme")]), tier: "default", retryBaseMs: 1, tierSettings: { default: { replicas: 1, analysis: "icu" } } });
    await index.write("acme", docs([makeEvent("acme", today, { id: "e1" })]));
    const put = (path: string) => cluster.requests.find((r) => r.method === "PUT" && r.path === path)!.body as { template: { settings: Record<string, unknown> } };
    expect(put("/_index_template/logs-default").template.settings.number_of_replicas).toBe(1);
    expect(put("/_index_template/logs-default.pool").template.settings.number_of_replicas).toBe(1);
    expect(JSON.stringify(put("/_component_template/logs-default.event").template.settings)).toContain("icu_normalizer");
    await index.close();
    await cluster.close();
  });
});
