import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createProcessStage,
  decodeProcessedDocs,
  deferredTopic,
  encodeRawBatch,
  PlanMeter,
  processedTopic,
  type PlanChange,
  type QueueRecord,
  type RawRecord,
} from "@unmeltable/core";
import { TenantStore } from "../../packages/runtime/src/tenant-store";
import { planFromFlags, PlanFlagError } from "../../packages/runtime/src/plan-flags";

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

describe("the plan meter", () => {
  it("admits a minute of the sustained rate at once, then the rate, and reports over/under once each", () => {
    const changes: PlanChange[] = [];
    const meter = new PlanMeter({ planOf: (t) => (t === "a" ? { bytesPerDay: 1e12, eventsPerSecond: 10 } : undefined), onChange: (c) => changes.push(c) });
    // 600 events (a minute at 10/s) at one instant are in plan; the 601st is not.
    let admitted = 0;
    for (let i = 0; i < 700; i++) if (meter.admit("a", 100, T0)) admitted++;
    expect(admitted).toBe(600);
    expect(changes).toMatchObject([{ tenant: "a", over: true, reason: "rate" }]);
    // A tenant without a plan is never metered.
    for (let i = 0; i < 10_000; i++) expect(meter.admit("b", 100, T0)).toBe(true);
    // Ten seconds later: 100 more in plan, still over (the bucket is far from half full).
    admitted = 0;
    for (let i = 0; i < 200; i++) if (meter.admit("a", 100, T0 + 10_000)) admitted++;
    expect(admitted).toBe(100);
    expect(meter.overPlan()).toEqual(["a"]);
    // Quiet for a minute: back within its plan, without sending (the tick), reported once.
    meter.tick(T0 + 70_000);
    expect(meter.overPlan()).toEqual([]);
    expect(changes.map((c) => c.over)).toEqual([true, false]);
  });

  it("defers the rest of the UTC day past the daily volume, and starts over the next day", () => {
    const meter = new PlanMeter({ planOf: () => ({ bytesPerDay: 1000, eventsPerSecond: 1e6 }) });
    const results = Array.from({ length: 15 }, (_, i) => meter.admit("a", 100, T0 + i));
    expect(results.filter(Boolean).length).toBe(10);
    expect(results.slice(10).every((r) => !r)).toBe(true);
    // An event of a past day counts against nothing daily.
    expect(meter.admit("a", 100, T0 - 86_400_000)).toBe(true);
    expect(meter.admit("a", 100, T0 + 86_400_000)).toBe(true);
  });

  it("meters each process's share of the plan", () => {
    const meter = new PlanMeter({ planOf: () => ({ bytesPerDay: 1e12, eventsPerSecond: 10 }), shareOf: () => 0.5 });
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (meter.admit("a", 1, T0)) admitted++;
    expect(admitted).toBe(300);
  });
});

describe("the process stage with plans", () => {
  const raw = (tenant: string, i: number, receivedAt = T0): RawRecord => ({ id: `0190${String(i).padStart(4, "0")}-0000-7000-8000-${String(i).padStart(12, "0")}`, tenant, receivedAt, transport: "http", remote: "127.0.0.1", collector: "c", tags: [], raw: `event ${i}` });
  const record = (events: RawRecord[], offset: number): QueueRecord => ({ topic: "raw", partition: 0, offset, key: events[0]!.tenant, value: encodeRawBatch(events[0]!.tenant, "c", events), timestamp: T0, headers: {} });

  it("sends an over-plan tenant's excess to the deferred topic and everyone else's to the processed topic", async () => {
    const plans = new PlanMeter({ planOf: (t) => (t === "burst" ? { bytesPerDay: 1e12, eventsPerSecond: 1 } : undefined) });
    const stage = createProcessStage({ tierOf: () => "default", plans });
    const burst = Array.from({ length: 100 }, (_, i) => raw("burst", i));
    const calm = Array.from({ length: 20 }, (_, i) => raw("calm", 1000 + i));
    const result = await stage([record(burst, 0), record(calm, 1)]);
    expect(result.outcomes.every((o) => o.status === "ok")).toBe(true);
    const docs = (topic: string) =>
      (result.output.find((o) => o.topic === topic)?.records ?? []).flatMap((r) => {
        const d = decodeProcessedDocs(r.value);
        return d.docs.map((doc) => `${d.tenant}:${(JSON.parse(doc) as { id: string }).id}`);
      });
    const regular = docs(processedTopic("default"));
    const deferred = docs(deferredTopic("default"));
    // A minute at 1/s in plan; the other 40 deferred; every event exactly once, none lost.
    expect(regular.filter((d) => d.startsWith("burst:")).length).toBe(60);
    expect(regular.filter((d) => d.startsWith("calm:")).length).toBe(20);
    expect(deferred.length).toBe(40);
    expect(deferred.every((d) => d.startsWith("burst:"))).toBe(true);
    expect(new Set([...regular, ...deferred]).size).toBe(120);
    expect(result.deferred).toEqual({ burst: 40 });
    expect(result.eventsOut).toBe(120);
  });
});

describe("plans in the tenant table and the CLI flags", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-plans-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps, changes and removes a tenant's plan; older tables gain the columns", () => {
    // A table from before plans (every column but the plan's).
    const db = new Database(path.join(dir, "tenants.db"));
    db.exec("CREATE TABLE tenants (name TEXT PRIMARY KEY, ingest_token TEXT NOT NULL UNIQUE, tier TEXT NOT NULL DEFAULT 'default', partition_spread INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, slice TEXT NOT NULL DEFAULT 'day', retention_days INTEGER NOT NULL DEFAULT 30)");
    db.prepare("INSERT INTO tenants (name, ingest_token, created_at) VALUES ('old', 'old-token-0123456789', 1)").run();
    db.close();
    const store = new TenantStore(dir);
    try {
      expect(store.get("old")!.plan).toBeUndefined();
      const t = store.add("paying", { plan: { bytesPerDay: 2e9, eventsPerSecond: 500 } });
      expect(t.plan).toEqual({ bytesPerDay: 2e9, eventsPerSecond: 500 });
      expect(store.get("paying")!.plan).toEqual({ bytesPerDay: 2e9, eventsPerSecond: 500 });
      // A change of one setting leaves the others, the plan included.
      expect(store.update("paying", { retentionDays: 7 }).plan).toEqual({ bytesPerDay: 2e9, eventsPerSecond: 500 });
      expect(store.get("paying")!.retentionDays).toBe(7);
      const changed = planFromFlags(store.get("paying")!.plan, { planEventsPerSecond: 50 });
      store.update("paying", { plan: changed });
      expect(store.get("paying")!.plan).toEqual({ bytesPerDay: 2e9, eventsPerSecond: 50 });
      store.update("paying", { plan: planFromFlags(store.get("paying")!.plan, { plan: false }) });
      expect(store.get("paying")!.plan).toBeUndefined();
      expect(() => store.update("paying", { plan: { bytesPerDay: 0, eventsPerSecond: 1 } })).toThrow(/daily volume/);
    } finally {
      store.close();
    }
  });

  it("reads the flags: GB are 10^9 bytes, a new plan needs both numbers, --no-plan alone", () => {
    expect(planFromFlags(undefined, { planGbPerDay: 1.5, planEventsPerSecond: 20 })).toEqual({ bytesPerDay: 1.5e9, eventsPerSecond: 20 });
    expect(planFromFlags(undefined, {})).toBeUndefined();
    expect(() => planFromFlags(undefined, { planGbPerDay: 1 })).toThrow(PlanFlagError);
    expect(() => planFromFlags(undefined, { planGbPerDay: -1, planEventsPerSecond: 1 })).toThrow(/above 0/);
    expect(() => planFromFlags({ bytesPerDay: 1, eventsPerSecond: 1 }, { plan: false, planGbPerDay: 1 })).toThrow(/--no-plan/);
  });
});
