import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuery, type LogEvent } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { indexContract, makeEvent } from "./index.contract";

for (const [writer, slice] of [
  ["inline", "hour"],
  ["thread", "day"],
] as const) {
  indexContract(`embedded SQLite (${writer} writer, ${slice} slices)`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-index-"));
    return {
      index: new EmbeddedIndex({ dir, writer, defaultSlice: slice }),
      refresh: async () => undefined,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}

describe("embedded SQLite roll-up: answers equal counting event by event", () => {
  // Whole minutes come from the roll-up table and the ragged ends from the events, slice by slice:
  // any range, aligned or not, across slice boundaries, must give what counting the events gives.
  const BASE = Date.UTC(2026, 0, 5, 12, 0, 0);
  const SPAN = 5 * 3_600_000;
  const HOSTS = ["web-01", "web-02", "db-01", "cache-01"];
  let dir: string;
  let index: EmbeddedIndex;
  const events: LogEvent[] = [];
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-rollup-"));
    index = new EmbeddedIndex({ dir, writer: "inline", defaultSlice: "hour" });
    for (let i = 0; i < 4000; i++) {
      // Bunched on some minutes, sparse on others, a few exactly on minute and hour edges.
      const at = i % 97 === 0 ? BASE + Math.floor(random() * 5) * 3_600_000 : BASE + Math.floor(random() ** 2 * SPAN);
      events.push(makeEvent("rollup", at, { host: HOSTS[Math.floor(random() * HOSTS.length)] }));
    }
    for (let i = 0; i < events.length; i += 500) await index.write("rollup", events.slice(i, i + 500).map((e) => JSON.stringify(e)));
  });
  afterAll(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ranges = () => {
    const out: [number, number][] = [
      [BASE, BASE + SPAN],
      [BASE + 3_600_000, BASE + 7_199_999],
      [BASE + 59_999, BASE + 60_000],
    ];
    for (let k = 0; k < 40; k++) {
      const a = BASE - 600_000 + Math.floor(random() * (SPAN + 1_200_000));
      const b = a + Math.floor(random() * random() * SPAN);
      out.push([a, b]);
    }
    return out;
  };
  const within = (from: number, until: number) => events.filter((e) => e.timestamp >= from && e.timestamp <= until);

  it("counts", async () => {
    for (const [from, until] of ranges()) {
      expect(await index.count({ tenant: "rollup", query: parseQuery("*"), from, until }), `${from}..${until}`).toBe(within(from, until).length);
    }
  });

  it("histograms by the minute and by five minutes", async () => {
    for (const [from, until] of ranges()) {
      for (const interval of [60_000, 300_000]) {
        const buckets = await index.histogram({ tenant: "rollup", query: parseQuery("*"), from, until }, interval);
        const expected = new Map<number, number>();
        for (const e of within(from, until)) {
          const t = Math.floor(e.timestamp / interval) * interval;
          expected.set(t, (expected.get(t) ?? 0) + 1);
        }
        expect(buckets.filter((b) => b.count > 0).map((b) => [b.time, b.count]), `${from}..${until} / ${interval}`).toEqual([...expected].sort((x, y) => x[0] - y[0]));
        expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(within(from, until).length);
      }
    }
  });

  it("facets", async () => {
    for (const [from, until] of ranges()) {
      const expected = new Map<string, number>();
      for (const e of within(from, until)) {
        const host = (e.event as { syslog: { host: string } }).syslog.host;
        expected.set(host, (expected.get(host) ?? 0) + 1);
      }
      const { terms } = await index.facet({ tenant: "rollup", query: parseQuery("*"), from, until }, "syslog.host", 10);
      expect(Object.fromEntries(terms.map((t) => [t.term, t.count])), `${from}..${until}`).toEqual(Object.fromEntries(expected));
    }
  });
});

describe("embedded SQLite: one batch across slices", () => {
  it("lists in each slice only the fields of its own events", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-fields-"));
    const index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "hour" });
    try {
      const at = Date.UTC(2026, 0, 5, 12, 30, 0);
      const early = makeEvent("f", at, { json: { onlyEarly: 1 } });
      const late = makeEvent("f", at + 3_600_000, { json: { onlyLate: 2 } });
      expect((await index.write("f", [late, early].map((e) => JSON.stringify(e)))).map((r) => r.status)).toEqual(["created", "created"]);
      const fields = (from: number, until: number) => index.fields({ tenant: "f", query: parseQuery("*"), from, until });
      const first = await fields(at - 60_000, at + 60_000);
      expect(first).toContain("json.onlyEarly");
      expect(first).not.toContain("json.onlyLate");
      expect(await fields(at + 3_540_000, at + 3_660_000)).toEqual(expect.arrayContaining(["json.onlyLate"]));
      expect(await fields(at + 3_540_000, at + 3_660_000)).not.toContain("json.onlyEarly");
    } finally {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
