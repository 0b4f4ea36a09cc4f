import { copyFileSync, existsSync, mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuery } from "@unmeltable/core";
import { EmbeddedIndex, FDS_PER_SLICE, HandleCache, IndexReader, IndexWriter, sliceFor } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 9, 1, 12, 0, 0);
const TENANTS = 1_000;
// 10,000 slices against a cap of 24: every write and every search opens a slice the cache had to make room for.
const DAYS = 10;

/**
 * 10,000 slice files: on tmpfs when there is one (creating a slice file costs several fsyncs, ~50 ms on a
 * busy disk here; open file descriptors do not depend on the disk).
 */
async function scratchDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), prefix));
}

/** This process's open file descriptors (Linux): all of them, and those of files under `dir`. */
function openFds(dir: string): { all: number; slices: number } {
  let slices = 0;
  const fds = readdirSync("/proc/self/fd");
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) slices++;
    } catch {
      // closed since the listing
    }
  }
  return { all: fds.length, slices };
}

/**
 * Every tenant's 10 slice files, made ahead as the lifecycle job's prepareSlice does — copied from one
 * made by the writer, because making 10,000 schemas one by one takes minutes on a busy machine here.
 */
function prepareSlices(dir: string): void {
  const template = path.join(dir, "..", `${path.basename(dir)}-template`);
  const writer = new IndexWriter(template, () => "day");
  writer.prepare("tpl", BASE, "day");
  writer.close();
  const file = path.join(template, "tpl", `${sliceFor(BASE, "day").name}.db`);
  for (let t = 0; t < TENANTS; t++) {
    mkdirSync(path.join(dir, `t${t}`), { recursive: true });
    for (let d = 0; d < DAYS; d++) copyFileSync(file, path.join(dir, `t${t}`, `${sliceFor(BASE + d * DAY, "day").name}.db`));
  }
}

function tenantDocs(t: number): string[] {
  const tenant = `t${t}`;
  return Array.from({ length: DAYS }, (_, d) => JSON.stringify(makeEvent(tenant, BASE + d * DAY, { logmsg: `tenant${t} day${d}`, raw: `hello tenant${t} day${d}` })));
}

const linux = existsSync("/proc/self/fd");

describe.runIf(linux)("the embedded index with 1,000 tenants × 10 day slices", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir("unmeltable-open-slices-");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}-template`, { recursive: true, force: true });
  });

  it("keeps its open files within --index-open-slices, and every tenant's events stay searchable", { timeout: 600_000 }, async () => {
    const cap = 24;
    prepareSlices(dir);
    const before = openFds(dir).all;
    const index = new EmbeddedIndex({ dir, openSlices: cap, readerThreads: 2 });
    // The writer's and the readers' shares, plus the one connection this thread's reader may hold.
    const sliceBound = FDS_PER_SLICE * (cap + 1);
    // Each thread (the writer, two readers) also has descriptors of its own (its event loop, ~10).
    const bound = before + sliceBound + 3 * 16;
    let most = { all: 0, slices: 0 };
    const sample = () => {
      const now = openFds(dir);
      most = { all: Math.max(most.all, now.all), slices: Math.max(most.slices, now.slices) };
    };
    try {
      for (let t = 0; t < TENANTS; t++) {
        const results = await index.write(`t${t}`, tenantDocs(t));
        expect(results.every((r) => r.status === "created")).toBe(true);
        if (t % 10 === 0) sample();
      }
      expect(readdirSync(path.join(dir, "t999")).filter((f) => f.endsWith(".db"))).toHaveLength(DAYS);
      // Searches of every 10th tenant over all 10 days, two at a time (both reader threads open slices).
      const range = { from: BASE - DAY, until: BASE + DAYS * DAY };
      for (let t = 0; t < TENANTS; t += 20) {
        const [a, b] = await Promise.all(
          [t, t + 10].map((k) => index.search({ tenant: `t${k}`, query: parseQuery(`tenant${k}`), ...range }, { size: 100, order: "desc" })),
        );
        sample();
        for (const [k, page] of [[t, a!], [t + 10, b!]] as const) {
          expect(page.events.map((e) => e.logmsg).sort()).toEqual(Array.from({ length: DAYS }, (_, d) => `tenant${k} day${d}`).sort());
        }
      }
      // A count over all 10 slices of each of another 50 tenants.
      for (let t = 5; t < TENANTS; t += 20) {
        expect(await index.count({ tenant: `t${t}`, query: parseQuery("*"), ...range })).toBe(DAYS);
        sample();
      }
      const stats = index.openSliceStats();
      expect(stats.limit).toBe(cap);
      expect(stats.open).toBeLessThanOrEqual(cap + 1);
      expect(stats.evictions).toBeGreaterThan(TENANTS * DAYS - cap);
      expect(most.slices).toBeGreaterThan(0);
      expect(most.slices).toBeLessThanOrEqual(sliceBound);
      expect(most.all).toBeLessThanOrEqual(bound);
    } finally {
      await index.close();
    }
    expect(index.openSliceStats().open).toBe(0);
  });
});

describe("the slice connection cache", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir("unmeltable-handles-");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("never closes a connection a read is using: a search paused in one slice survives 70 other slices opened meanwhile", () => {
    const writer = new IndexWriter(dir, () => "day");
    for (const d of [0, 1, 2]) writer.write("paused", Array.from({ length: 600 }, (_, k) => JSON.stringify(makeEvent("paused", BASE + d * DAY + k * 1000, { logmsg: `p${d}-${k}` }))));
    for (let d = 0; d < 70; d++) writer.write("busy", [JSON.stringify(makeEvent("busy", BASE + d * DAY))]);
    writer.close();

    const reader = new IndexReader(dir, { openSlices: 4 });
    try {
      const walk = reader.matches({ tenant: "paused", query: parseQuery("*"), from: BASE - DAY, until: BASE + 3 * DAY }, "desc");
      const first = walk.next();
      expect(first.done).toBe(false);
      // Meanwhile (a generator stays paused, as a read does between chunks): 70 slices of another tenant.
      const busy = reader.count({ tenant: "busy", query: parseQuery("*"), from: BASE - DAY, until: BASE + 70 * DAY });
      expect(busy).toBe(70);
      let n = 1;
      for (let c = walk.next(); !c.done; c = walk.next()) n++;
      expect(n).toBe(3 * 600);
      expect(reader.openSlices).toBeLessThanOrEqual(4);
    } finally {
      reader.close();
    }
  });

  it("keeps at most its capacity of idle connections, closes a dropped one only when its last lease ends, and rests idle ones", () => {
    const closed: string[] = [];
    const rested: string[] = [];
    let now = 0;
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const cache = new HandleCache<string>({ capacity: 2, close: (h) => closed.push(h), idle: (h) => rested.push(h), idleMs: 1000, counters, now: () => now });
    const a = cache.acquire("a", () => "A");
    const b = cache.acquire("b", () => "B");
    const c = cache.acquire("c", () => "C");
    // All three in use: none may be closed, whatever the capacity.
    expect(cache.size).toBe(3);
    expect(closed).toEqual([]);
    a.release();
    expect(closed).toEqual(["A"]);
    expect(Array.from(counters)).toEqual([2, 1]);
    cache.delete("b");
    expect(closed).toEqual(["A"]);
    // Opened again while the old lease holds it: a connection of its own.
    const b2 = cache.acquire("b", () => "B2");
    b.release();
    expect(closed).toEqual(["A", "B"]);
    b2.release();
    c.release();
    now = 5_000;
    const d = cache.acquire("d", () => "D");
    // Over capacity again: the least recently used idle one (C) is closed; B2, idle for 5 s, is rested
    // (resting looks at most once a second).
    expect(closed).toEqual(["A", "B", "C"]);
    expect(rested).toEqual(["B2"]);
    d.release();
    // Unused for the close-idle time (10 minutes): closed, whatever the capacity.
    now = 5_000 + 600_000;
    cache.acquire("e", () => "E").release();
    expect(closed).toEqual(["A", "B", "C", "B2", "D"]);
    expect(cache.size).toBe(1);
    cache.closeAll();
    expect(Array.from(counters)[0]).toBe(0);
  });
});
