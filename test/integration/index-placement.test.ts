import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseQuery, type LogEvent } from "@unmeltable/core";
import { EmbeddedIndex, sliceFor } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

const DAY = 86_400_000;

/** An event received at `receivedAt` that states the time `stated`. */
function stating(tenant: string, stated: number, receivedAt: number, logmsg: string): LogEvent {
  return { ...makeEvent(tenant, stated, { logmsg, raw: `backfill ${logmsg}` }), receivedAt };
}

describe("retention-aware placement in the embedded index", () => {
  let dir: string;
  let index: EmbeddedIndex;
  const received = Date.UTC(2026, 11, 5, 9, 30, 0);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-placement-"));
    index = new EmbeddedIndex({ dir, writer: "inline", retentionDays: { acme: 30 } });
  });
  afterEach(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sliceFiles = (tenant: string) => readdirSync(path.join(dir, tenant)).filter((f) => f.endsWith(".db")).sort();

  it("indexes an event stating a time past its tenant's retention at its receive time: no old slice, searchable, its stated time kept", async () => {
    const stated = Date.UTC(2015, 2, 1, 8, 0, 0);
    const ev = stating("acme", stated, received, "ancient-one");
    expect(await index.write("acme", [JSON.stringify(ev)])).toEqual([{ status: "created" }]);
    expect(sliceFiles("acme")).toEqual([`${sliceFor(received, "day").name}.db`]);

    const around = { tenant: "acme", from: received - 60_000, until: received + 60_000 };
    const page = await index.search({ ...around, query: parseQuery("ancient-one") }, { size: 10, order: "desc" });
    expect(page.events).toHaveLength(1);
    const found = page.events[0]!;
    expect(found.id).toBe(ev.id);
    expect(found.timestamp).toBe(received);
    expect(found.event.unmeltable).toEqual({ statedTimestamp: stated });
    expect(found.raw).toBe(ev.raw);
    // The stated time is a field like any other.
    expect(await index.count({ ...around, query: parseQuery("unmeltable.statedTimestamp:[* TO *]") })).toBe(1);
    expect(await index.count({ ...around, query: parseQuery(`unmeltable.statedTimestamp:${stated}`) })).toBe(1);
    // Nothing at the stated time.
    expect(await index.count({ tenant: "acme", from: stated - DAY, until: stated + DAY, query: parseQuery("*") })).toBe(0);

    // Written again (a replay, a redelivery): the same slice, stored once.
    expect(await index.write("acme", [JSON.stringify(ev)])).toEqual([{ status: "exists" }]);
    expect(sliceFiles("acme")).toHaveLength(1);
  });

  it("keeps the stated time of an event within retention (a backfill of last week gets last week's slice)", async () => {
    const stated = received - 6 * DAY;
    const ev = stating("acme", stated, received, "last-week");
    expect(await index.write("acme", [JSON.stringify(ev)])).toEqual([{ status: "created" }]);
    expect(sliceFiles("acme")).toEqual([`${sliceFor(stated, "day").name}.db`]);
    const page = await index.search({ tenant: "acme", from: stated - 1000, until: stated + 1000, query: parseQuery("last-week") }, { size: 10, order: "desc" });
    expect(page.events.map((e) => [e.timestamp, e.event.unmeltable])).toEqual([[stated, undefined]]);
  });

  it("indexes an event stating a time over a day after its receipt at its receive time", async () => {
    const stated = received + 40 * DAY;
    const ev = stating("acme", stated, received, "from-the-future");
    expect(await index.write("acme", [JSON.stringify(ev)])).toEqual([{ status: "created" }]);
    expect(sliceFiles("acme")).toEqual([`${sliceFor(received, "day").name}.db`]);
    const page = await index.search({ tenant: "acme", from: received - 1000, until: received + 1000, query: parseQuery("from-the-future") }, { size: 10, order: "desc" });
    expect(page.events.map((e) => e.event.unmeltable)).toEqual([{ statedTimestamp: stated }]);
  });

  it("follows a tenant's retention as it changes, and a backfill of many old days makes no slice for them", async () => {
    index.setRetentionDays("acme", 7);
    const docs = Array.from({ length: 100 }, (_, d) => JSON.stringify(stating("acme", received - (8 + d) * DAY, received + d, `old-${d}`)));
    const results = await index.write("acme", docs);
    expect(results.every((r) => r.status === "created")).toBe(true);
    expect(sliceFiles("acme")).toEqual([`${sliceFor(received, "day").name}.db`]);
    expect(await index.count({ tenant: "acme", from: received - 1000, until: received + 1000, query: parseQuery("unmeltable.statedTimestamp:[* TO *]") })).toBe(100);
  });

  it("leaves the events of a tenant without a known retention at their stated time", async () => {
    const stated = Date.UTC(2015, 2, 1, 8, 0, 0);
    expect(await index.write("other", [JSON.stringify(stating("other", stated, received, "no-retention"))])).toEqual([{ status: "created" }]);
    expect(sliceFiles("other")).toEqual([`${sliceFor(stated, "day").name}.db`]);
  });
});

describe("retention-aware placement with the writer thread and live tail", () => {
  it("hands live tail the event as stored (at its receive time)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-placement-thread-"));
    const index = new EmbeddedIndex({ dir, retentionDays: { acme: 30 } });
    try {
      const received = Date.UTC(2026, 11, 5, 9, 30, 0);
      const tailed: LogEvent[] = [];
      index.onIndexed((_tenant: string, events: LogEvent[]) => tailed.push(...events));
      const stated = Date.UTC(2001, 0, 1);
      await index.write("acme", [JSON.stringify(stating("acme", stated, received, "tailed-old"))]);
      expect(tailed.map((e) => [e.timestamp, e.event.unmeltable])).toEqual([[received, { statedTimestamp: stated }]]);
      expect(readdirSync(path.join(dir, "acme")).filter((f) => f.endsWith(".db"))).toEqual([`${sliceFor(received, "day").name}.db`]);
    } finally {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
