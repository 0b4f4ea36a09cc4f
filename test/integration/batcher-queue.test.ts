import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeRawBatch, newEventId, RAW_TOPIC, type RawEventInput } from "@unmeltable/core";
import { DeadLetterWriter, Ingestor, NotStoredError, RawBatcher } from "@unmeltable/collector";
import { PrometheusMetrics } from "@unmeltable/runtime";
import { ReloadingTenantDirectory } from "@unmeltable/tenants-config";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { fillUp, mountTmpfs } from "../helpers/full-disk";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The collector's batcher writing to a real embedded queue on a small filesystem that can fill up. */
async function setup(options: { maxBytes?: number } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-batcher-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const fs = await mountTmpfs(dir, 4 * 1024 * 1024);
  cleanups.push(() => fs.unmount());
  const queue = await EmbeddedQueue.open({ dir: path.join(dir, "q") });
  cleanups.push(() => queue.close());
  await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 2 }]);
  const producer = queue.producer();
  const batcher = new RawBatcher({
    sink: { send: async (records, signal) => void (await producer.send(RAW_TOPIC, records, { signal })) },
    collector: "c1",
    rawPartitions: 2,
    maxBytes: options.maxBytes,
  });
  cleanups.push(() => batcher.close());
  const partitionsOf = async () => {
    const where = new Map<string, number>();
    for (const p of await queue.admin.offsets(RAW_TOPIC)) {
      for (const r of await queue.reader.read(RAW_TOPIC, p.partition, p.start, 100_000)) for (const e of decodeRawBatch(r.value).events) where.set(e.raw, p.partition);
    }
    return where;
  };
  const stored = async () => [...(await partitionsOf()).keys()].sort();
  return { dir, batcher, stored, partitionsOf, producer };
}

const event = (text: string, transport: RawEventInput["transport"] = "http"): RawEventInput => ({ id: newEventId(), receivedAt: Date.now(), transport, remote: "10.0.0.1", tags: [], bytes: Buffer.from(text) });
// Random text: the queue deflates the raw topic's large records, and a run of one letter would shrink to
// a few bytes and fit on the full disk after all.
const big = (label: string) => event(`${label} ${randomBytes(12 * 1024).toString("base64")}`);

describe("the collector's batcher on a real queue", () => {
  it("fails a request's write at once on a full disk, never stores it later, keeps a stream's events until stored, and counts every byte back to 0", async () => {
    const { dir, batcher, stored } = await setup();
    await batcher.addRequest("acme", 1, [event("ok-1"), event("ok-2")]);
    expect(batcher.inflightBytes).toBe(0);

    const disk = await fillUp(dir);
    const failed = batcher.addRequest("acme", 1, [big("failed-1"), big("failed-2")]);
    await expect(failed).rejects.toBeInstanceOf(NotStoredError);
    await expect(failed).rejects.toThrow(/ENOSPC/);
    expect(batcher.writeFailure?.message).toMatch(/ENOSPC/);
    expect(batcher.overloaded).toBe(true); // streams are not read while writes fail
    expect(batcher.inflightBytes).toBe(0);

    const recovered = new Promise((r) => batcher.once("writeRecovered", r));
    batcher.add("acme", 1, big("streamed"));
    expect(batcher.inflightBytes).toBeGreaterThan(0);
    await disk.free();
    await recovered;
    await batcher.flush();
    expect(batcher.writeFailure).toBeUndefined();
    expect(batcher.overloaded).toBe(false);
    expect(batcher.inflightBytes).toBe(0);
    expect((await stored()).map((t) => t.split(" ")[0])).toEqual(["ok-1", "ok-2", "streamed"]);
  });

  it("finds out by itself when writes work again, with nothing else writing", async () => {
    const { dir, batcher } = await setup();
    const disk = await fillUp(dir);
    await expect(batcher.addRequest("acme", 1, [big("failed")])).rejects.toBeInstanceOf(NotStoredError);
    expect(batcher.writeFailure).toBeDefined();
    const recovered = new Promise((r) => batcher.once("writeRecovered", r));
    await disk.free();
    await recovered;
    expect(batcher.writeFailure).toBeUndefined();
  });

  it("withdraws a request whose caller stopped waiting before its write began, and keeps one request's events together", async () => {
    const { batcher, stored, partitionsOf } = await setup({ maxBytes: 4096 });
    const stopped = new AbortController();
    // Larger than one batch: its batches go in one write to one partition (even with a spread of 2), all or nothing.
    const kept = batcher.addRequest("acme", 2, [big("kept-1"), big("kept-2"), big("kept-3")]);
    const withdrawn = batcher.addRequest("acme", 1, [big("withdrawn-1"), big("withdrawn-2")], stopped.signal);
    stopped.abort();
    await expect(kept).resolves.toBeUndefined();
    await expect(withdrawn).rejects.toThrow(/withdrawn before they were written/);
    expect(batcher.writeFailure).toBeUndefined(); // a withdrawal is not a failed write
    expect(batcher.inflightBytes).toBe(0);
    expect((await stored()).map((t) => t.split(" ")[0])).toEqual(["kept-1", "kept-2", "kept-3"]);
    expect(new Set((await partitionsOf()).values()).size).toBe(1);
  });

  it("bounds what UDP may hold while writes fail: datagrams past the budget are counted as udp_overflow, not kept", async () => {
    const { dir, batcher, producer, stored } = await setup();
    const metrics = new PrometheusMetrics();
    const dropped = metrics.counter("unmeltable_dropped_events_total", "drops", ["reason", "stage"]);
    const tenants = new ReloadingTenantDirectory([{ name: "acme", ingestToken: "11111111-2222-4333-8444-555555555555", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 }]);
    const holdBytes = 256 * 1024;
    const ingestor = new Ingestor({ tenants, collector: "c1", maxEventBytes: 65_536, batcher, deadLetters: new DeadLetterWriter(producer, dropped), metrics, udpHoldBytes: holdBytes });
    const disk = await fillUp(dir);
    const datagram = (i: number) => Buffer.from(`<13>1 - h app - - [11111111-2222-4333-8444-555555555555@41058] udp-${i} ${"u".repeat(4000)}`);
    for (let i = 0; i < 1000; i++) ingestor.syslog(datagram(i), "udp", "10.0.0.9");
    // About 4 MB arrived; what is held stays within the budget plus one datagram.
    expect(batcher.inflightBytes).toBeLessThanOrEqual(holdBytes + 8 * 1024);
    const text = await metrics.text();
    const overflow = Number(/unmeltable_dropped_events_total\{reason="udp_overflow",stage="collector"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(overflow).toBeGreaterThan(900);
    // What was held is stored once the disk takes writes again; nothing else appears.
    const recovered = new Promise((r) => batcher.once("writeRecovered", r));
    await disk.free();
    await recovered;
    await batcher.flush();
    const kept = (await stored()).length;
    expect(kept + overflow).toBe(1000);
    expect(batcher.inflightBytes).toBe(0);
  });
});
