import { afterEach, describe, expect, it } from "vitest";
import { sliceStart, type LogEvent, type Placement, type Tenant } from "@unmeltable/core";
import { applyPlacementChange, openSearchIndexForTiers, type PlacementChange, type TieredIndex } from "@unmeltable/index-opensearch";
import { ReloadingTenantDirectory } from "@unmeltable/tenants-config";
import { makeEvent } from "../contract/index.contract";
import { startModelCluster } from "./model-cluster";
import type { RecordedServer } from "./recorded-server";

/**
 * The batched lifecycle (packages/index-opensearch/src/lifecycle.ts) against the modelled cluster. Sizes:
 * one document stands for many events through the model's storeBytes (1,000 bytes per event on disk,
 * the assumption: a 100,000 events/s tenant fills 360 GB an hour): a pooled document is a day of
 * 10 events/s (864 MB), a dedicated hourly document an hour of 100,000 events/s (360 GB).
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 10, 10, 30); // a fixed run time: the lifecycle takes it, nothing reads the clock
const TODAY = sliceStart(NOW, "day");
const YESTERDAY = TODAY - DAY;
const storeBytes = (index: string, docs: number) => docs * (index.includes("._pool-") ? 864e6 : 360e9);

const tenant = (name: string, extra: Partial<Tenant> = {}): Tenant => ({ name, ingestToken: `ingest-${name}`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0, ...extra });
const ev = (t: string, at: number, id: string): string => JSON.stringify({ ...makeEvent(t, at, { id }), receivedAt: at } satisfies LogEvent);
const BIG: Placement = { from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 9 };

/** Applies the run's changes to the directory, as the tenants config update does. */
function saver(dir: ReloadingTenantDirectory, calls: PlacementChange[][]) {
  return async (changes: PlacementChange[]) => {
    calls.push(changes);
    const by = new Map(changes.map((c) => [c.tenant, c]));
    dir.replace(dir.list().map((t) => (by.has(t.name) ? { ...t, placements: applyPlacementChange(t, by.get(t.name)!) ?? t.placements } : t)));
  };
}

describe("the batched OpenSearch lifecycle", () => {
  let cluster: RecordedServer;
  let index: TieredIndex;
  afterEach(async () => {
    await index?.close();
    await cluster?.close();
    expect(cluster.problems).toEqual([]);
  });

  async function setUp(tenants: Tenant[], maxShardsPerNode = 1_000_000) {
    cluster = await startModelCluster({ maxShardsPerNode, storeBytes });
    const dir = new ReloadingTenantDirectory(tenants);
    index = openSearchIndexForTiers({ endpoints: { default: cluster.url }, tenants: dir, tier: "default", retryBaseMs: 1, replicas: 0, maxBulkOps: 20_000 });
    return dir;
  }

  it("runs the issue's 10,000 tenants in a bounded number of requests: retention, promotion with ONE config update, the next indices sized", { timeout: 240_000 }, async () => {
    const tenants = [
      ...Array.from({ length: 9000 }, (_, k) => tenant(`s${k}`)), // 10 events/s
      ...Array.from({ length: 900 }, (_, k) => tenant(`m${k}`)), // 100 events/s
      ...Array.from({ length: 90 }, (_, k) => tenant(`l${k}`)), // 1,000 events/s
      ...Array.from({ length: 10 }, (_, k) => tenant(`x${k}`, { placements: [BIG] })), // 100,000 events/s
    ];
    const dir = await setUp(tenants);
    // Yesterday's pooled documents: 1, 10 and 100 a day (864 MB, 8.64 GB, 86.4 GB).
    const perTenant = (name: string) => (name.startsWith("s") ? 1 : name.startsWith("m") ? 10 : 100);
    const pooledTenants = tenants.filter((t) => !t.name.startsWith("x"));
    for (let k = 0; k < pooledTenants.length; k += 2000) {
      const batches = pooledTenants.slice(k, k + 2000).map((t) => ({ tenant: t.name, docs: Array.from({ length: perTenant(t.name) }, (_, j) => ev(t.name, YESTERDAY + 1000 * j, `y${j}`)) }));
      const results = await index.writeMany!(batches);
      expect(results.flat().every((r) => r.status === "created")).toBe(true);
    }
    // The big tenants' last 24 hourly slices (360 GB each), and 5 hourly slices each past their 30 days.
    for (const t of tenants.filter((x) => x.name.startsWith("x"))) {
      const docs = [...Array.from({ length: 24 }, (_, h) => ev(t.name, TODAY + 10 * HOUR - (h + 1) * HOUR, `h${h}`)), ...Array.from({ length: 5 }, (_, h) => ev(t.name, TODAY - 31 * DAY - h * HOUR, `old${h}`))];
      // Stated 31 days back but received then too: placed by their own time (backfills are placed at receipt).
      expect((await index.write(t.name, docs)).every((r) => r.status === "created")).toBe(true);
    }
    // A pooled day past its 30-day class.
    await index.write("s0", [ev("s0", TODAY - 40 * DAY, "ancient")]);
    const before = cluster.requests.length;

    const saved: PlacementChange[][] = [];
    const report = await index.layoutLifecycle!({ tenants: dir.list(), now: NOW, savePlacements: saver(dir, saved) });
    const sent = cluster.requests.slice(before);

    expect(report.failed).toEqual([]);
    expect({ done: report.done, remaining: report.remaining }).toEqual({ done: 10_000, remaining: 0 });
    // Promotion: the 90 tenants at 86.4 GB/day get dedicated day slices of 3 primaries from the next midnight; nobody else moves.
    expect(saved).toHaveLength(1);
    const moves = saved[0]!.filter((c) => c.placement);
    expect(moves.map((c) => c.tenant).sort()).toEqual(tenants.filter((t) => t.name.startsWith("l")).map((t) => t.name).sort());
    expect(new Set(moves.map((c) => JSON.stringify(c.placement)))).toEqual(new Set([JSON.stringify({ from: TODAY + DAY, layout: "dedicated", slice: "day", shards: 3, retentionDays: 30 })]));
    // The same write records every tenant's retention on its placements (the first run after the upgrade).
    expect(report.recorded).toHaveLength(10_000);
    expect(dir.byName("s0")!.placements).toEqual([{ from: -8.64e15, layout: "pooled", slice: "day", retentionDays: 30 }]);
    expect(dir.byName("x0")!.placements).toEqual([{ ...BIG, retentionDays: 30 }]);
    // Retention: the 50 expired hourly slices and the expired pooled day.
    expect(report.dropped).toHaveLength(51);
    expect(report.dropped.filter((n) => n.includes("._pool-"))).toEqual([`logs-default._pool-r30.day-${ymd(TODAY - 40 * DAY)}`]);
    // Ahead of time: 90 dedicated day slices, 10 next hourly slices, tomorrow's pooled index.
    const day = ymd(TODAY + DAY);
    expect(report.prepared.filter((n) => n.endsWith(`.day-${day}`) && n.includes(".l"))).toHaveLength(90);
    expect(report.prepared.filter((n) => n.endsWith(`.hour-${ymd(TODAY)}11`))).toHaveLength(10);
    expect(report.prepared.filter((n) => n.includes("._pool-"))).toEqual([`logs-default._pool-r30.day-${day}`]);
    const settings = async (name: string) => ((await index.forTier("default").client.transport.request({ method: "GET", path: `/${name}/_settings` })).body as Record<string, { settings: { index: Record<string, string> } }>)[name]!.settings.index;
    // The pool of those staying pooled: 9,000 × 0.864 GB + 900 × 8.64 GB = 15,552 GB a day → 389 primaries of ≤ 40 GB.
    expect(await settings(`logs-default._pool-r30.day-${day}`)).toMatchObject({ number_of_shards: "389", routing_partition_size: "98" });
    expect(await settings(`logs-default.l0.day-${day}`)).toMatchObject({ number_of_shards: "3" });
    expect(await settings(`logs-default.x0.hour-${ymd(TODAY)}11`)).toMatchObject({ number_of_shards: "9" });

    // The requests: per tier 3 template PUTs, one _cat/indices, one aggregation, the deletes in batches, one PUT per index created.
    const kinds = (pred: (r: (typeof sent)[number]) => boolean) => sent.filter(pred).length;
    expect(kinds((r) => r.path.startsWith("/_index_template/") || r.path.startsWith("/_component_template/"))).toBe(3);
    expect(kinds((r) => r.path.startsWith("/_cat/indices/"))).toBe(1);
    expect(kinds((r) => r.path.endsWith("/_search"))).toBe(1);
    expect(kinds((r) => r.method === "DELETE")).toBe(1);
    expect(kinds((r) => r.method === "PUT" && !r.path.startsWith("/_"))).toBe(101);
    expect(sent).toHaveLength(107);
    // 107 round trips against ≥ 40,000 (4 per tenant) before: even at 1 s each, with 8 creations in flight, well within the 300 s timeout.

    // The next run at the same time: nothing to drop, place or create; the same 5 fixed requests.
    const again = cluster.requests.length;
    const second = await index.layoutLifecycle!({ tenants: dir.list(), now: NOW, savePlacements: saver(dir, saved) });
    expect({ dropped: second.dropped, placed: second.placed, recorded: second.recorded, prepared: second.prepared, failed: second.failed }).toEqual({ dropped: [], placed: [], recorded: [], prepared: [], failed: [] });
    expect(saved).toHaveLength(1);
    expect(cluster.requests.length - again).toBe(5);
  });

  it("stops at its deadline and the next run continues where it stopped; one tenant's failure does not stop the others", async () => {
    const tenants = Array.from({ length: 40 }, (_, k) => tenant(`d${String(k).padStart(2, "0")}`, { placements: [{ from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 1 }] }));
    // Its placement asks for more primaries than an index may have: OpenSearch refuses the index.
    tenants[5] = tenant("bad", { placements: [{ from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 2000 }] });
    const dir = await setUp(tenants);
    let budget = 12;
    const run = (start?: number) => index.layoutLifecycle!({ tenants: dir.list(), now: NOW, start, timeLeft: () => budget--, concurrency: 1, savePlacements: async () => undefined });
    const first = await run(0);
    expect(first.done).toBeLessThan(40);
    expect(first.remaining).toBe(40 - first.done);
    expect(first.next).toBe(first.done);
    expect(first.failed).toEqual([{ tenant: "bad", error: expect.stringMatching(/400.*number_of_shards/) }]);
    budget = Infinity;
    const second = await run(first.next);
    expect({ done: second.done, remaining: second.remaining }).toEqual({ done: 40, remaining: 0 });
    const next = `hour-${ymd(TODAY)}11`;
    // Every tenant but "bad" got its next slice exactly once over the two runs.
    const created = [...first.prepared, ...second.prepared];
    expect(created.sort()).toEqual(tenants.filter((t) => t.name !== "bad").map((t) => `logs-default.${t.name}.${next}`).sort());
    expect(second.failed.map((f) => f.tenant)).toEqual(["bad"]);
  });

  it("without a start, rotates with the hour so that a run cut short does not always serve the same tenants first", async () => {
    const tenants = Array.from({ length: 48 }, (_, k) => tenant(`r${String(k).padStart(2, "0")}`, { placements: [{ from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 1 }] }));
    const dir = await setUp(tenants);
    const firstServed = async (now: number) => {
      let budget = 1;
      const r = await index.layoutLifecycle!({ tenants: dir.list(), now, timeLeft: () => budget--, concurrency: 1, savePlacements: async () => undefined });
      return r.prepared[0];
    };
    const a = await firstServed(NOW);
    const b = await firstServed(NOW + HOUR);
    expect(a).toMatch(/^logs-default\.r\d\d\./);
    expect(b!.split(".")[1]).not.toBe(a!.split(".")[1]);
  });

  it("judges a tenant promoted at midnight by the last 24 hours, yesterday's pooled share included: its new slices are not resized", async () => {
    // l1 was promoted from today's midnight (dedicated day slices of 3 primaries); yesterday it sent 86.4 GB pooled.
    const promoted = tenant("l1", { placements: [{ from: TODAY, layout: "dedicated", slice: "day", shards: 3 }] });
    const dir = await setUp([promoted, tenant("s1")]);
    await index.writeMany!([
      { tenant: "l1", docs: Array.from({ length: 100 }, (_, j) => ev("l1", YESTERDAY + 1000 * j, `y${j}`)) },
      { tenant: "s1", docs: [ev("s1", YESTERDAY, "y0")] },
    ]);
    // Today's dedicated slice exists, still empty in the model (a document there would stand for 360 GB):
    // judged by it alone, l1 would look idle and be sent back to the pool.
    await index.forTier("default").createIndex(`logs-default.l1.day-${ymd(TODAY)}`, 3);
    const saved: PlacementChange[][] = [];
    const report = await index.layoutLifecycle!({ tenants: dir.list(), now: NOW, savePlacements: saver(dir, saved) });
    expect(report.failed).toEqual([]);
    // 86.4 GB × 13.5 / 24 of yesterday's pool in the window ≈ 48.6 GB: stays dedicated with its 3 primaries (≥ half of 2 wanted).
    expect(report.placed).toEqual([]);
    expect(saved.flat().filter((c) => c.placement)).toEqual([]);
    expect(report.prepared).toContain(`logs-default.l1.day-${ymd(TODAY + DAY)}`);
  });
});

function ymd(t: number): string {
  return new Date(t).toISOString().slice(0, 10).replaceAll("-", "");
}
