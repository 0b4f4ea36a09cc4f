import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessStage, decodeProcessedBatch, encodeRawBatch, newEventId, observedBytesPerDay, parseQuery, planSliceLength, runLifecycle, toEvent, type RawRecord, type Tenant } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";

const GB = 1e9;
const DAY = 86_400_000;
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), "unmeltable-lifecycle-"));
  dirs.push(d);
  return d;
}

describe("time-slice planning", () => {
  const perDay = (eventsPerSec: number, bytesPerEvent = 500) => eventsPerSec * bytesPerEvent * 86_400;
  it("gives a 100,000 events/s tenant hourly slices and a 10 events/s tenant weekly ones, aiming at the target size", () => {
    const target = 40 * GB;
    expect(planSliceLength({ bytesPerDay: perDay(100_000), targetBytes: target })).toBe("hour");
    expect(planSliceLength({ bytesPerDay: perDay(1_000), targetBytes: target })).toBe("hour"); // 43 GB a day
    expect(planSliceLength({ bytesPerDay: perDay(500), targetBytes: target })).toBe("day"); // 21.6 GB a day, 151 GB a week
    expect(planSliceLength({ bytesPerDay: perDay(10), targetBytes: target })).toBe("week");
    expect(planSliceLength({ bytesPerDay: 0, targetBytes: target })).toBe("week");
  });

  it("measures a tenant's volume from the slices that overlap the last day", () => {
    const now = Date.UTC(2026, 0, 10, 12);
    // Two full day slices before today and today's, half grown: 10 GB, 10 GB, 6 GB so far.
    const slices = [
      { name: "d8", start: Date.UTC(2026, 0, 8), end: Date.UTC(2026, 0, 9), bytes: 10 * GB },
      { name: "d9", start: Date.UTC(2026, 0, 9), end: Date.UTC(2026, 0, 10), bytes: 10 * GB },
      { name: "d10", start: Date.UTC(2026, 0, 10), end: Date.UTC(2026, 0, 11), bytes: 6 * GB },
    ];
    // Last 24 h = the second half of d9 (5 GB) + all of d10 so far (6 GB).
    expect(observedBytesPerDay(slices, now)).toBeCloseTo(11 * GB, -6);
    expect(observedBytesPerDay([], now)).toBeUndefined();
  });
});

describe("the index lifecycle on the embedded index", () => {
  const event = (tenant: string, at: number) => JSON.stringify(toEvent({ id: newEventId(at), tenant, receivedAt: at, transport: "http", remote: "10.0.0.1", collector: "c", tags: [], raw: `event at ${new Date(at).toISOString()}` }));

  it("deletes exactly the slices past retention, creates the next slice ahead, and refits the slice length", async () => {
    const dir = tmp();
    const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "day" });
    const now = Date.UTC(2026, 0, 20, 10);
    const tenant: Tenant = { name: "acme", ingestToken: "i", apiToken: "a", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 7, createdAt: 0 };
    const other: Tenant = { ...tenant, name: "other", retentionDays: 30 };
    // Day slices from 10 days ago to today; the other tenant has the same days with a longer retention.
    for (let d = 10; d >= 0; d--) {
      await index.write("acme", [event("acme", now - d * DAY)]);
      await index.write("other", [event("other", now - d * DAY)]);
    }
    expect(await index.slices("acme")).toHaveLength(11);
    const lengths: Record<string, string> = {};
    const report = await runLifecycle({ admin: index, tenants: [tenant, other], setSliceLength: (t, l) => void (lengths[t] = l), targetBytes: 1 * GB, now });
    // Retention 7 days: the slices that ended before now - 7 days are gone (days -10 .. -8), no others.
    const dropped = report.dropped.filter((d) => d.tenant === "acme").map((d) => d.slice).sort();
    expect(dropped).toEqual(["day-20260110", "day-20260111", "day-20260112"]);
    expect(report.dropped.filter((d) => d.tenant === "other")).toEqual([]);
    const remaining = (await index.slices("acme")).map((s) => s.name);
    expect(remaining).not.toContain("day-20260112");
    expect(remaining).toContain("day-20260113");
    for (const name of dropped) expect(existsSync(path.join(dir, "acme", `${name}.db`))).toBe(false);
    // Searches no longer see the dropped days and still see the rest.
    expect(await index.count({ tenant: "acme", query: parseQuery("*"), from: now - 11 * DAY, until: now })).toBe(8);
    // A few KB a day against a 1 GB target: weekly slices from now on, and the next one is ready.
    expect(lengths).toEqual({ acme: "week", other: "week" });
    expect(report.prepared.find((p) => p.tenant === "acme")).toMatchObject({ length: "week", at: Date.UTC(2026, 0, 26) });
    expect(existsSync(path.join(dir, "acme", "week-20260126.db"))).toBe(true);
    await index.close();
  });

  it("searches read exactly the slices that overlap the query's range", async () => {
    const dir = tmp();
    const index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "hour" });
    const base = Date.UTC(2026, 0, 5, 0);
    for (let h = 0; h < 6; h++) await index.write("t", [event("t", base + h * 3_600_000 + 60_000)]);
    const names = index.reader.slices("t", base + 2 * 3_600_000, base + 3 * 3_600_000 + 59_999).map((s) => s.name);
    expect(names).toEqual(["hour-2026010503", "hour-2026010502"]);
    await index.close();
  });
});

describe("the staging sampler", () => {
  const raw = (n: number): RawRecord[] => Array.from({ length: n }, (_, i) => ({ id: newEventId(), tenant: "acme", receivedAt: Date.now(), transport: "tcp", remote: "10.0.0.1", collector: "c", tags: [], raw: `event ${i}` }));

  it("processes a deterministic fraction of events, the same ones on every run", async () => {
    const events = raw(20_000);
    const records = Array.from({ length: 20 }, (_, i) => ({ topic: "raw", partition: 0, offset: i, key: "acme", value: encodeRawBatch("acme", "c", events.slice(i * 1000, (i + 1) * 1000)), timestamp: Date.now(), headers: {} }));
    const run = async () => {
      const stage = createProcessStage({ tierOf: () => "default", sampleRate: 0.05, topicPrefix: "staging-" });
      const result = await stage(records);
      expect(result.output.every((o) => o.topic === "staging-processed.default")).toBe(true);
      return result.output.flatMap((o) => o.records.flatMap((r) => decodeProcessedBatch(r.value).events.map((e) => e.id)));
    };
    const first = await run();
    const second = await run();
    expect(first.length / events.length).toBeGreaterThan(0.04);
    expect(first.length / events.length).toBeLessThan(0.06);
    expect(second).toEqual(first);
  });
});
