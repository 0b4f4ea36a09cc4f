/**
 * Per-tenant usage: the aggregation in memory (UsageTally), the receive time read from a stored document,
 * the index stage's per-tenant report (with the real embedded index), the daily table of one machine
 * (UsageLedger, a real SQLite file), the bounded Prometheus exposition (TenantMetrics, prom-client's own
 * text) and GET /apiv2/usage's answers and refusals.
 */
import client from "prom-client";
import { describe, expect, it } from "vitest";
import { handleApi } from "../../packages/api/src/routes";
import {
  createIndexStage,
  deadLetterBytes,
  encodeProcessedDocs,
  lastDays,
  percentOfPlan,
  receivedAtOf,
  toEvent,
  UsageTally,
  utcDay,
  type IndexedUsage,
  type QueueRecord,
  type RawRecord,
  type Tenant,
  type TenantDirectory,
} from "../../packages/core/src/index";
import { EmbeddedIndex } from "../../packages/index-sqlite/src/index";
import { LAG_BUCKETS_S, OTHER_TENANT, TenantMetrics } from "../../packages/runtime/src/tenant-metrics";
import { UsageLedger } from "../../packages/runtime/src/usage-ledger";
import { tempDirs } from "../helpers/temp-dirs";

const DAY = 86_400_000;
const tempDir = tempDirs("usage");

const raw = (tenant: string, text: string, receivedAt: number, id = `0190a0b0-0000-7000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, "0")}`): RawRecord => ({
  id,
  tenant,
  receivedAt,
  transport: "http",
  remote: "127.0.0.1",
  collector: "c1",
  tags: [],
  raw: text,
});

describe("UsageTally", () => {
  it("sums per tenant and UTC day, drains once, and takes failed rows back", () => {
    let now = Date.parse("2026-03-01T23:59:59.000Z");
    const tally = new UsageTally(() => now);
    tally.ingested("a", 2, 100);
    tally.ingested("a", 1, 50);
    tally.ingested("b", 1, 7);
    tally.indexed({ tenant: "a", events: 3, bytes: 400, lagsMs: [5, 6, 7] });
    tally.deadLettered("a", 1, 9);
    now += 1000; // the next UTC day
    tally.ingested("a", 4, 40);
    const rows = tally.drain();
    expect(rows.sort((x, y) => (x.day + x.tenant < y.day + y.tenant ? -1 : 1))).toEqual([
      { tenant: "a", day: "2026-03-01", events: 3, bytes: 150, indexed: 3, indexedBytes: 400, deadLettered: 1, deadLetteredBytes: 9 },
      { tenant: "b", day: "2026-03-01", events: 1, bytes: 7, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 },
      { tenant: "a", day: "2026-03-02", events: 4, bytes: 40, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 },
    ]);
    expect(tally.drain()).toEqual([]);
    tally.ingested("a", 1, 1);
    tally.restore(rows.filter((r) => r.day === "2026-03-02"));
    expect(tally.drain()).toEqual([{ tenant: "a", day: "2026-03-02", events: 5, bytes: 41, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 }]);
  });

  it("lists the last N UTC days oldest first, and reads a dead letter's size as received", () => {
    expect(lastDays(Date.parse("2026-03-02T10:00:00Z"), 3)).toEqual(["2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(utcDay(Date.parse("2026-03-02T23:59:59.999Z"))).toBe("2026-03-02");
    for (const n of [0, 1, 2, 3, 4, 5, 100]) expect(deadLetterBytes({ bytes: Buffer.alloc(n, 7).toString("base64") })).toBe(n);
    expect(deadLetterBytes({ bytes: Buffer.alloc(10).toString("base64"), bytesLength: 5000 })).toBe(5000);
  });

  it("puts today against the plan: bytes of the day and the day's average rate", () => {
    const now = Date.parse("2026-03-02T06:00:00Z"); // 21,600 s into the day
    expect(percentOfPlan(undefined, { events: 1, bytes: 1 }, now)).toBeNull();
    expect(percentOfPlan({ bytesPerDay: 1000, eventsPerSecond: 1 }, { events: 10_800, bytes: 250 }, now)).toEqual({ bytes: 25, events: 50 });
    expect(percentOfPlan({ bytesPerDay: 1000, eventsPerSecond: 1 }, { events: null, bytes: null }, now)).toEqual({ bytes: null, events: null });
  });
});

describe("the index stage's per-tenant usage", () => {
  it("reads receivedAt from a stored document, not from the event's own fields", () => {
    const doc = JSON.stringify(toEvent(raw("t1", '{"receivedAt": 5, "a": {"receivedAt": 6}}', 1_700_000_000_123)));
    expect(doc.indexOf('"receivedAt":')).toBeLessThan(doc.indexOf('"json"'));
    expect(receivedAtOf(doc)).toBe(1_700_000_000_123);
    expect(receivedAtOf('{"id":"x"}')).toBeNaN();
  });

  it("reports per tenant the events stored for the first time, their bytes and lag; repeats count nothing", async () => {
    const index = new EmbeddedIndex({ dir: tempDir(), writer: "inline" });
    try {
      const stage = createIndexStage({ index });
      const received = Date.now() - 1500;
      const docs = (tenant: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify(toEvent(raw(tenant, `event ${i} of ${tenant}`, received))));
      const a = docs("a", 3);
      const b = docs("b", 2);
      const record = (tenant: string, d: string[], offset: number): QueueRecord => ({ topic: "processed.default", partition: 0, offset, key: tenant, value: encodeProcessedDocs(tenant, d), timestamp: Date.now() }) as QueueRecord;
      const first = await stage([record("a", a, 0), record("b", b, 1)]);
      const byTenant = new Map((first.indexed ?? []).map((u: IndexedUsage) => [u.tenant, u]));
      expect(byTenant.get("a")).toMatchObject({ events: 3, bytes: a.reduce((s, d) => s + Buffer.byteLength(d), 0) });
      expect(byTenant.get("b")).toMatchObject({ events: 2, bytes: b.reduce((s, d) => s + Buffer.byteLength(d), 0) });
      for (const u of byTenant.values()) {
        expect(u.lagsMs).toHaveLength(u.events);
        for (const lag of u.lagsMs) expect(lag).toBeGreaterThanOrEqual(1500);
      }
      // The same records again (a redelivery): stored already, so no usage.
      const again = await stage([record("a", a, 0), record("b", b, 1)]);
      expect(again.eventsOut).toBe(5);
      expect(again.indexed).toEqual([]);
    } finally {
      await index.close();
    }
  });
});

describe("UsageLedger (one machine's daily table)", () => {
  it("keeps sums per tenant and day in usage.db across a restart, answers zeros for quiet days, and drops days past 32", async () => {
    const dir = tempDir();
    let now = Date.parse("2026-03-10T12:00:00Z");
    const ledger = new UsageLedger(dir, { now: () => now, flushMs: 3_600_000 });
    ledger.ingested("a", 10, 1000);
    ledger.indexed({ tenant: "a", events: 9, bytes: 2000, lagsMs: [] });
    ledger.deadLettered("a", 1, 100);
    ledger.ingested("b", 1, 1);
    ledger.flush();
    ledger.ingested("a", 5, 500); // still in memory: read() includes it
    const days = await ledger.days("a", lastDays(now, 3));
    expect(days).toEqual([
      { day: "2026-03-08", events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 },
      { day: "2026-03-09", events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 },
      { day: "2026-03-10", events: 15, bytes: 1500, indexed: 9, indexedBytes: 2000, deadLettered: 1, deadLetteredBytes: 100 },
    ]);
    ledger.ingested("a", 1, 1); // written by close
    ledger.close();

    now += 40 * DAY;
    const reopened = new UsageLedger(dir, { now: () => now, flushMs: 3_600_000 });
    try {
      expect((await reopened.days("a", ["2026-03-10"]))[0]).toMatchObject({ events: 16, bytes: 1501 });
      reopened.ingested("a", 1, 1);
      reopened.flush(); // a write on a new day prunes what is older than 32 days
      expect((await reopened.days("a", ["2026-03-10"]))[0]).toMatchObject({ events: 0, bytes: 0 });
      expect((await reopened.days("a", [utcDay(now)]))[0]).toMatchObject({ events: 1, bytes: 1 });
    } finally {
      reopened.close();
    }
  });
});

describe("TenantMetrics (Prometheus, bounded labels)", () => {
  const series = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const value = (text: string, name: string, tenant: string) => Number(series(text, name).find((l) => l.includes(`tenant="${tenant}"`))?.split(" ").pop());

  it("labels the N largest tenants, sums the rest as _other, whatever the number of tenants", async () => {
    const registry = new client.Registry();
    const m = new TenantMetrics(registry, { maxTenants: 5 });
    let total = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = i < 5 ? 1_000_000 + i : 10 + (i % 7);
      m.ingested(`t${i}`, 1, bytes);
      total += bytes;
    }
    m.indexed({ tenant: "t0", events: 2, bytes: 10, lagsMs: [50, 1500] });
    m.deadLettered("t2999", 1, 3);
    const text = await registry.metrics();
    const bytesSeries = series(text, "unmeltable_tenant_ingested_bytes_total");
    expect(bytesSeries).toHaveLength(6);
    expect(bytesSeries.map((l) => /tenant="([^"]+)"/.exec(l)![1]).sort()).toEqual([OTHER_TENANT, "t0", "t1", "t2", "t3", "t4"].sort());
    expect(bytesSeries.reduce((s, l) => s + Number(l.split(" ").pop()), 0)).toBe(total);
    expect(value(text, "unmeltable_tenant_ingested_events_total", OTHER_TENANT)).toBe(2995);
    expect(value(text, "unmeltable_tenant_dead_letters_total", OTHER_TENANT)).toBe(1);
    // The histogram: one series per bucket per labelled tenant, cumulative.
    expect(series(text, "unmeltable_tenant_searchable_lag_seconds_bucket")).toHaveLength(6 * (LAG_BUCKETS_S.length + 1));
    expect(text).toContain('unmeltable_tenant_searchable_lag_seconds_bucket{tenant="t0",le="0.1"} 1');
    expect(text).toContain('unmeltable_tenant_searchable_lag_seconds_bucket{tenant="t0",le="1"} 1');
    expect(text).toContain('unmeltable_tenant_searchable_lag_seconds_bucket{tenant="t0",le="2"} 2');
    expect(text).toContain('unmeltable_tenant_searchable_lag_seconds_count{tenant="t0"} 2');
    expect(text).toContain("unmeltable_tenants_seen 3000");
    // Every line of the exposition is bounded: 8 metrics, at most 6 series each (14 per tenant for the histogram).
    expect(text.split("\n").filter((l) => l.startsWith("unmeltable_tenant")).length).toBeLessThanOrEqual(6 * 6 + 6 * (LAG_BUCKETS_S.length + 3) + 1);
  });

  it("keeps a labelled tenant until an outsider is clearly larger, then swaps them", async () => {
    const registry = new client.Registry();
    const m = new TenantMetrics(registry, { maxTenants: 2 });
    m.ingested("a", 1, 1000);
    m.ingested("b", 1, 900);
    m.ingested("c", 1, 800);
    expect(m.labelledTenants().sort()).toEqual(["a", "b"]);
    m.ingested("c", 1, 200); // c = 1000: larger than b, within the margin
    expect(m.labelledTenants().sort()).toEqual(["a", "b"]);
    m.ingested("c", 1, 500); // c = 1500 > 1.25 × 900
    expect(m.labelledTenants().sort()).toEqual(["a", "c"]);
    const text = await registry.metrics();
    expect(value(text, "unmeltable_tenant_ingested_bytes_total", "c")).toBe(1500);
    expect(value(text, "unmeltable_tenant_ingested_bytes_total", OTHER_TENANT)).toBe(900);
  });
});

describe("GET /apiv2/usage", () => {
  const tenant: Tenant = { name: "acme", ingestToken: "ingest-acme", apiToken: "api-acme", tier: "default", slice: "day", retentionDays: 30, partitionSpread: 1, plan: { bytesPerDay: 10_000, eventsPerSecond: 1 } } as Tenant;
  const other: Tenant = { ...tenant, name: "other-co", ingestToken: "ingest-o", apiToken: "api-o", plan: undefined } as Tenant;
  const tenants: TenantDirectory = {
    byIngestToken: (t) => [tenant, other].find((x) => x.ingestToken === t),
    byApiToken: (t) => [tenant, other].find((x) => x.apiToken === t),
    byName: (n) => [tenant, other].find((x) => x.name === n),
    list: () => [tenant, other],
  };
  const now = Date.parse("2026-03-10T12:00:00Z");
  const get = (query: string, token = "api-acme", usage?: UsageLedger | null) =>
    handleApi(
      { method: "GET", path: "/apiv2/usage", query: new URLSearchParams(query), headers: { authorization: `bearer ${token}` }, origin: "http://localhost" },
      { index: undefined as never, tenants, usage: usage === null ? undefined : usage, now: () => now },
    );

  it("answers the token's tenant's days, its plan and today's percent of it; other tenants' counts stay out", async () => {
    const ledger = new UsageLedger(tempDir(), { now: () => now, flushMs: 3_600_000 });
    try {
      ledger.ingested("acme", 21_600, 2_500);
      ledger.indexed({ tenant: "acme", events: 21_600, bytes: 9_000, lagsMs: [] });
      ledger.ingested("other-co", 99, 99);
      const answer = await get("days=2", "api-acme", ledger);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        tenant: "acme",
        plan: { bytesPerDay: 10_000, eventsPerSecond: 1 },
        days: [
          { day: "2026-03-09", events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 },
          { day: "2026-03-10", events: 21_600, bytes: 2_500, indexed: 21_600, indexedBytes: 9_000, deadLettered: 0, deadLetteredBytes: 0 },
        ],
        // 2,500 of 10,000 bytes (25 %); 21,600 events in 43,200 s = 0.5/s of 1/s (50 %).
        today: { day: "2026-03-10", percentOfPlan: 50, bytesPercent: 25, eventsPerSecondPercent: 50 },
      });
      const defaults = await get("", "api-o", ledger);
      const body = defaults.body as { days: { day: string; events: number }[]; plan: unknown; today: { percentOfPlan: unknown } };
      expect(body.days).toHaveLength(30);
      expect(body.days[29]).toMatchObject({ day: "2026-03-10", events: 99 });
      expect(body.plan).toBeNull();
      expect(body.today.percentOfPlan).toBeNull();
    } finally {
      ledger.close();
    }
  });

  it("refuses bad parameters with a 400, no token with a 401, and says so when the deployment keeps no usage", async () => {
    const ledger = new UsageLedger(tempDir(), { now: () => now, flushMs: 3_600_000 });
    try {
      for (const days of ["0", "31", "1.5", "abc", "-1", "1e3"]) {
        const answer = await get(`days=${days}`, "api-acme", ledger);
        expect(answer.status, days).toBe(400);
        expect((answer.body as { message: string }).message).toMatch(/days must be an integer from 1 to 30/);
      }
      expect((await get("", "nope", ledger)).status).toBe(401);
      const none = await get("", "api-acme", null);
      expect(none.status).toBe(404);
      expect((none.body as { message: string }).message).toMatch(/keeps no usage/);
    } finally {
      ledger.close();
    }
  });
});
