import { spawn } from "node:child_process";
import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processedTopic, RAW_TOPIC } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), "unmeltable-durability-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

/** An index feed and the raw topic, one partition each, with `count` records of `bytes` each in both. */
async function fillFeedAndRaw(queue: EmbeddedQueue, count: number, bytes: number): Promise<string> {
  const feed = processedTopic("default");
  await queue.admin.ensureTopics([
    { name: feed, partitions: 1 },
    { name: RAW_TOPIC, partitions: 1 },
  ]);
  const producer = queue.producer();
  for (let i = 0; i < count; i++) {
    await producer.send(feed, [{ key: "k", partition: 0, value: Buffer.alloc(bytes, 97) }]);
    await producer.send(RAW_TOPIC, [{ key: "k", partition: 0, value: Buffer.alloc(bytes, 97) }]);
  }
  return feed;
}

describe("embedded queue durability", () => {
  it("keeps every acknowledged record when the writer is killed with SIGKILL mid-stream", async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/queue-crash-child.ts", dir], { stdio: ["ignore", "pipe", "inherit"] });
    const acked = new Map<number, { partition: number; offset: number }>();
    let buffered = "";
    let ready = false;
    child.stdout.on("data", (c: Buffer) => {
      buffered += c.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") ready = true;
        else {
          const [i, p, o] = line.split(" ").map(Number);
          acked.set(i!, { partition: p!, offset: o! });
        }
      }
    });
    const exited = new Promise((r) => child.on("exit", r));
    const deadline = Date.now() + 30_000;
    while ((!ready || acked.size < 20_000) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGKILL");
    await exited;
    expect(acked.size).toBeGreaterThan(1000);

    const queue = await EmbeddedQueue.open({ dir, segmentBytes: 256 * 1024 });
    try {
      for (const [i, pos] of acked) {
        const [rec] = await queue.reader.read("crash", pos.partition, pos.offset, 1);
        expect(rec?.offset).toBe(pos.offset);
        expect(rec?.value.toString().startsWith(`record-${i}-`)).toBe(true);
      }
      // And the log is usable: appends continue right after the last durable record.
      const ends = await queue.admin.offsets("crash");
      const [next] = await queue.producer().send("crash", [{ key: "k0", partition: 0, value: Buffer.from("after-restart") }]);
      expect(next!.offset).toBe(ends[0]!.end);
    } finally {
      await queue.close();
    }
  });

  it("cuts a torn record off the end of the last segment on restart", async () => {
    const dir = await tempDir();
    let queue = await EmbeddedQueue.open({ dir });
    await queue.admin.ensureTopics([{ name: "t", partitions: 1 }]);
    await queue.producer().send("t", [1, 2, 3].map((i) => ({ key: "k", partition: 0, value: Buffer.from(`v${i}`) })));
    await queue.close();
    const pdir = path.join(dir, "topics", "t", "0");
    const [segment] = await readdir(pdir);
    const file = path.join(pdir, segment!);
    const goodSize = (await stat(file)).size;
    // Simulate a crash in the middle of a write: half a record's header and some garbage.
    const h = await open(file, "a");
    await h.write(Buffer.from([0, 0, 0, 200, 1, 2, 3]));
    await h.close();

    queue = await EmbeddedQueue.open({ dir });
    try {
      const records = await queue.reader.read("t", 0, 0, 10);
      expect(records.map((r) => r.value.toString())).toEqual(["v1", "v2", "v3"]);
      expect((await stat(file)).size).toBe(goodSize);
      const [pos] = await queue.producer().send("t", [{ key: "k", partition: 0, value: Buffer.from("v4") }]);
      expect(pos!.offset).toBe(3);
    } finally {
      await queue.close();
    }
  });

  it("refuses a second writer on the same directory, and takes over the lock of a dead one", async () => {
    const dir = await tempDir();
    const first = await EmbeddedQueue.open({ dir });
    await expect(
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "-e", `import("@unmeltable/queue-embedded").then(m => m.EmbeddedQueue.open({ dir: ${JSON.stringify(dir)} })).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("exit", (code) => (code === 3 ? reject(new Error(err)) : resolve(code)));
      }),
    ).rejects.toThrow(/in use by process/);
    await first.close();
  });

  it("deletes only segments that every group has consumed and that are past retention", async () => {
    const dir = await tempDir();
    const queue = await EmbeddedQueue.open({ dir, segmentBytes: 1024, retentionMs: 1000 });
    try {
      await queue.admin.ensureTopics([{ name: "t", partitions: 1 }]);
      const producer = queue.producer();
      const old = Date.now() - 10_000;
      for (let i = 0; i < 40; i++) await producer.send("t", [{ key: "k", partition: 0, value: Buffer.alloc(200, 97), timestamp: old }]);
      const consumer = queue.consumer({ group: "g", topics: ["t"], fromBeginning: true, maxBatchRecords: 20, maxWaitMs: 0 });
      let consumed = 0;
      const running = consumer.run(async (b) => {
        if (b.records[0]!.offset >= 20) throw new Error("stop here: leave the rest unconsumed");
        consumed += b.records.length;
      });
      while (consumed < 20) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
      await running;
      const committed = (await queue.admin.committed("g", "t")).get(0)!;
      expect(committed).toBe(20);
      const deleted = await queue.applyRetention();
      expect(deleted).toBeGreaterThan(0);
      const { start } = (await queue.admin.offsets("t"))[0]!;
      // Everything not yet consumed is still there.
      expect(start).toBeLessThanOrEqual(committed);
      expect(start).toBeGreaterThan(0);
      const rest = await queue.reader.read("t", 0, committed, 100);
      expect(rest).toHaveLength(20);
    } finally {
      await queue.close();
    }
  });
  it("drops an index feed's segments as soon as every group has committed past them, and keeps other topics for their retention", async () => {
    const dir = await tempDir();
    // Default retention (48 h): only the index feed may go before it.
    const queue = await EmbeddedQueue.open({ dir, segmentBytes: 1024 });
    try {
      const feed = await fillFeedAndRaw(queue, 40, 200);
      const consumer = queue.consumer({ group: "index", topics: [feed, RAW_TOPIC], fromBeginning: true, maxBatchRecords: 20, maxWaitMs: 0 });
      const consumed = new Map<string, number>();
      const running = consumer.run(async (b) => {
        if (b.records[0]!.offset >= 20) throw new Error("stop here: leave the rest unconsumed");
        consumed.set(b.topic, (consumed.get(b.topic) ?? 0) + b.records.length);
      });
      while ((consumed.get(feed) ?? 0) < 20 || (consumed.get(RAW_TOPIC) ?? 0) < 20) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
      await running;
      expect((await queue.admin.committed("index", feed)).get(0)).toBe(20);
      expect(await queue.applyRetention()).toBeGreaterThan(0);
      const [fed] = await queue.admin.offsets(feed);
      expect(fed!.start).toBeGreaterThan(0);
      expect(fed!.start).toBeLessThanOrEqual(20);
      expect(await queue.reader.read(feed, 0, 20, 100)).toHaveLength(20);
      // The raw topic is the archive's source too (it reads by offset, not as a group): kept.
      expect((await queue.admin.offsets(RAW_TOPIC))[0]!.start).toBe(0);
    } finally {
      await queue.close();
    }
  });
  it("rolls an index feed's segments smaller than the other topics, so that little of it stays on disk once indexed", async () => {
    const dir = await tempDir();
    const queue = await EmbeddedQueue.open({ dir, segmentBytes: 256 * 1024, feedSegmentBytes: 8 * 1024 });
    const onDisk = async (topic: string) => {
      const part = path.join(dir, "topics", topic, "0");
      const names = (await readdir(part)).filter((n) => n.endsWith(".log"));
      return (await Promise.all(names.map((n) => stat(path.join(part, n))))).reduce((n, st) => n + st.size, 0);
    };
    try {
      const feed = await fillFeedAndRaw(queue, 100, 1000);
      const consumer = queue.consumer({ group: "index", topics: [feed], fromBeginning: true, maxBatchRecords: 50, maxWaitMs: 0 });
      let consumed = 0;
      const running = consumer.run(async (b) => {
        consumed += b.records.length;
      });
      while ((await queue.admin.committed("index", feed)).get(0) !== 100) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
      await running;
      expect(consumed).toBe(100);
      const before = await onDisk(feed);
      expect(before).toBeGreaterThan(100_000);
      await queue.applyRetention();
      // All of the feed was consumed: only its active segment stays, under one feed segment's size.
      expect(await onDisk(feed)).toBeLessThanOrEqual(8 * 1024);
      expect((await queue.admin.offsets(feed))[0]!.start).toBeGreaterThan(90);
      // The raw topic rolls at the general size: still one segment, all of it there.
      expect((await queue.admin.offsets(RAW_TOPIC))[0]!.start).toBe(0);
      expect(await onDisk(RAW_TOPIC)).toBeGreaterThan(100_000);
    } finally {
      await queue.close();
    }
  });
  it("stores the raw topic's large values deflated and gives them back as written, also after a restart", async () => {
    const dir = await tempDir();
    const lines = Array.from({ length: 300 }, (_, i) => `<14>1 2026-01-05T12:00:00.000Z web-${i % 7} app - - - request ${i} completed in ${i * 3} ms`).join("\n");
    const big = Buffer.from(lines);
    const small = Buffer.from("one short line");
    let queue = await EmbeddedQueue.open({ dir });
    try {
      await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 1 }]);
      await queue.producer().send(RAW_TOPIC, [
        { key: "a", partition: 0, value: big, headers: { tenant: "t1" } },
        { key: "b", partition: 0, value: small },
      ]);
    } finally {
      await queue.close();
    }
    const segments = path.join(dir, "topics", RAW_TOPIC, "0");
    let onDisk = 0;
    for (const f of await readdir(segments)) if (f.endsWith(".log")) onDisk += (await stat(path.join(segments, f))).size;
    expect(onDisk).toBeLessThan(big.length / 2);
    // Reopened: recovery scans the segment, and reads inflate the values.
    queue = await EmbeddedQueue.open({ dir });
    try {
      const records = await queue.reader.read(RAW_TOPIC, 0, 0, 10);
      expect(records.map((r) => [r.key, r.value.toString(), r.headers])).toEqual([
        ["a", lines, { tenant: "t1" }],
        ["b", "one short line", {}],
      ]);
    } finally {
      await queue.close();
    }
  });

  it("bounds a consumer's batch by the bytes it holds in memory, inflated values counted as such", async () => {
    const dir = await tempDir();
    const lines = Array.from({ length: 300 }, (_, i) => `<14>1 2026-01-05T12:00:00.000Z web-${i % 7} app - - - request ${i} completed in ${i * 3} ms`).join("\n");
    const big = Buffer.from(lines);
    const queue = await EmbeddedQueue.open({ dir });
    try {
      await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 1 }]);
      await queue.producer().send(RAW_TOPIC, Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, partition: 0, value: big })));
      const stored = (await queue.reader.read(RAW_TOPIC, 0, 0, 1))[0]!;
      expect(stored.value.length).toBe(big.length);
      // Three inflated values' worth per batch: counted on disk (deflated, several times smaller) all 12
      // would come at once.
      const consumer = queue.consumer({ group: "g", topics: [RAW_TOPIC], fromBeginning: true, maxBatchRecords: 100, maxBatchBytes: 3 * big.length, maxWaitMs: 0 });
      const sizes: number[] = [];
      let seen = 0;
      const done = consumer.run(async (batch) => {
        sizes.push(batch.records.length);
        seen += batch.records.length;
        if (seen >= 12) void consumer.stop();
      });
      await done;
      expect(seen).toBe(12);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      for (const n of sizes) expect(n).toBeLessThanOrEqual(3);
    } finally {
      await queue.close();
    }
  });
});
