import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuery, QueryBudgetError } from "@unmeltable/core";
import { EmbeddedIndex, ReaderPool } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

const BASE = Date.UTC(2026, 0, 5, 12, 0, 0);

describe("the embedded index's reader threads", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-readers-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serve waiting reads tenant by tenant: one tenant's queue delays another's read by the reads already running only", async () => {
    const writer = new EmbeddedIndex({ dir, writer: "inline" });
    await writer.write("a", [JSON.stringify(makeEvent("a", BASE))]);
    await writer.write("b", [JSON.stringify(makeEvent("b", BASE))]);
    await writer.close();
    const pool = new ReaderPool({ root: dir, threads: 1 });
    try {
      const done: string[] = [];
      const read = (tenant: string, k: number) => pool.run(tenant, { op: "count", q: { tenant, query: parseQuery("*"), from: BASE - 1000, until: BASE + 1000 } }).then((n) => done.push(`${tenant}${k}:${String(n)}`));
      // a1 starts at once; a2..a5 wait; then b1 arrives: it goes before a2, as tenant b has not been served yet.
      await Promise.all([read("a", 1), read("a", 2), read("a", 3), read("a", 4), read("a", 5), read("b", 1)]);
      expect(done).toEqual(["a1:1", "b1:1", "a2:1", "a3:1", "a4:1", "a5:1"]);
    } finally {
      await pool.close();
    }
  });

  it("stop a read that needs more memory than a reader thread has, alone: QueryBudgetError, and the next read is answered", async () => {
    const writer = new EmbeddedIndex({ dir, writer: "inline" });
    const big = "x".repeat(200_000);
    for (let b = 0; b < 6; b++) {
      await writer.write("m", Array.from({ length: 50 }, (_, i) => JSON.stringify(makeEvent("m", BASE + b * 1000 + i, { logmsg: `${b} ${i} ${big}` }))));
    }
    await writer.close();
    const pool = new ReaderPool({ root: dir, threads: 1, heapMb: 48 });
    try {
      const q = { tenant: "m", query: parseQuery("*"), from: BASE - 1000, until: BASE + 10_000 };
      // 300 events of ~400,000 characters each in one page: far more than a 48 MB heap.
      const err = await pool.run("m", { op: "search", q, page: { order: "desc", size: 5000 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryBudgetError);
      expect((err as QueryBudgetError).budget).toBe("memory");
      expect(await pool.run("m", { op: "count", q })).toBe(300);
    } finally {
      await pool.close();
    }
  });

  it("let go of a dropped slice: a slice of the same name written again is read afresh", async () => {
    const index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    try {
      const q = { tenant: "c", query: parseQuery("*"), from: BASE - 3_600_000, until: BASE + 3_600_000 };
      await index.write("c", [makeEvent("c", BASE, { logmsg: "old one" }), makeEvent("c", BASE + 1, { logmsg: "old two" })].map((e) => JSON.stringify(e)));
      // Both reader threads open the slice (two reads at once).
      expect(await Promise.all([index.count(q), index.count(q)])).toEqual([2, 2]);
      const [slice] = await index.slices("c");
      await index.dropSlice("c", slice!.name);
      await index.write("c", [JSON.stringify(makeEvent("c", BASE + 2, { logmsg: "new" }))]);
      expect(await Promise.all([index.count(q), index.count(q)])).toEqual([1, 1]);
      expect((await index.search(q, { order: "desc", size: 10 })).events.map((e) => e.logmsg)).toEqual(["new"]);
    } finally {
      await index.close();
    }
  });
});
