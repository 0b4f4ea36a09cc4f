import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { newEventId, noMetrics, RawBatchBuilder, rawBatchEventCount, type OutgoingRecord } from "@unmeltable/core";
import { SpoolFullError, SpoolingSink } from "@unmeltable/collector";

/** A queue that can be switched off: it refuses writes while `up` is false. */
function switchableQueue() {
  const written: OutgoingRecord[] = [];
  const q = {
    up: true,
    written,
    send: async (records: OutgoingRecord[]) => {
      if (!q.up) throw new Error("brokers unreachable");
      written.push(...records);
    },
  };
  return q;
}

function batch(n: number, label: string): OutgoingRecord {
  const b = new RawBatchBuilder("acme", "c1");
  for (let i = 0; i < n; i++) b.add({ id: newEventId(), receivedAt: Date.now(), transport: "tcp", remote: "10.0.0.1", tags: [], bytes: `${label}-${i}` });
  return { key: "acme", value: b.finish(), partition: 2 };
}

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});
async function dir() {
  const d = await mkdtemp(path.join(os.tmpdir(), "unmeltable-spool-"));
  dirs.push(d);
  return d;
}
const waitFor = async (f: () => boolean) => {
  for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(f()).toBe(true);
};

describe("the collector's disk spool", () => {
  it("writes straight to the queue while it is up", async () => {
    const q = switchableQueue();
    const spool = await SpoolingSink.open({ dir: await dir(), primary: q, metrics: noMetrics });
    await spool.send([batch(3, "a")]);
    expect(q.written).toHaveLength(1);
    expect(spool.spooling).toBe(false);
    await spool.close();
  });

  it("spools while the queue is down, keeps later batches behind the spooled ones, and drains in order", async () => {
    const q = switchableQueue();
    const spool = await SpoolingSink.open({ dir: await dir(), primary: q, metrics: noMetrics });
    q.up = false;
    await spool.send([batch(2, "first")]);
    await spool.send([batch(2, "second")]);
    expect(spool.spooling).toBe(true);
    expect(q.written).toHaveLength(0);
    q.up = true;
    // Even with the queue back, new batches queue up behind the spooled ones.
    await spool.send([batch(2, "third")]);
    await waitFor(() => q.written.length === 3 && !spool.spooling);
    expect(q.written.map((r) => r.value.toString("latin1").match(/(first|second|third)-0/)![1])).toEqual(["first", "second", "third"]);
    expect(q.written.every((r) => r.partition === 2 && r.key === "acme")).toBe(true);
    await spool.close();
  });

  it("survives a restart: what was spooled is drained by the next run", async () => {
    const d = await dir();
    const q = switchableQueue();
    q.up = false;
    let spool = await SpoolingSink.open({ dir: d, primary: q, metrics: noMetrics });
    await spool.send([batch(5, "kept")]);
    await spool.close();
    q.up = true;
    spool = await SpoolingSink.open({ dir: d, primary: q, metrics: noMetrics });
    await waitFor(() => q.written.length === 1);
    expect(rawBatchEventCount(q.written[0]!.value)).toBe(5);
    await spool.close();
    // And nothing is drained twice after another restart.
    spool = await SpoolingSink.open({ dir: d, primary: q, metrics: noMetrics });
    await new Promise((r) => setTimeout(r, 200));
    expect(q.written).toHaveLength(1);
    await spool.close();
  });

  it("refuses batches once full, so that back-pressure reaches the senders instead of losing data", async () => {
    const q = switchableQueue();
    q.up = false;
    const spool = await SpoolingSink.open({ dir: await dir(), primary: q, metrics: noMetrics, maxBytes: 4096 });
    await spool.send([batch(40, "x".repeat(100))]);
    await expect(spool.send([batch(1, "more")])).rejects.toThrow(SpoolFullError);
    await spool.close();
  });
});
