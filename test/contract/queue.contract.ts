import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantPartition, type PartitionBatch, type Queue } from "@unmeltable/core";

/**
 * The queue port's contract. Every adapter (the embedded log, Kafka) runs this same suite; see
 * packages/core/src/ports/queue.ts for the guarantees it checks. Topic and group names are unique per
 * test, so the suite also runs against a long-lived cluster.
 */
export interface QueueHarness {
  /** Opens a queue over the harness's storage; calling it again after close() reopens the same data. */
  open(): Promise<Queue>;
  cleanup(): Promise<void>;
}

export function queueContract(name: string, makeHarness: () => Promise<QueueHarness>): void {
  describe(`queue contract: ${name}`, () => {
    let harness: QueueHarness;
    let queue: Queue;

    beforeAll(async () => {
      harness = await makeHarness();
      queue = await harness.open();
    });
    afterAll(async () => {
      await queue.close();
      await harness.cleanup();
    });

    const topicName = () => `t-${randomUUID().slice(0, 8)}`;
    const value = (s: string) => Buffer.from(s);

    it("creates topics with the requested partitions and only ever adds partitions", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 3 }]);
      expect(await queue.admin.partitions(t)).toBe(3);
      await queue.admin.ensureTopics([{ name: t, partitions: 2 }]);
      expect(await queue.admin.partitions(t)).toBe(3);
    });

    it("acknowledges records with their positions, in order, with consecutive offsets per partition", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 2 }]);
      const producer = queue.producer();
      const positions = await producer.send(t, [
        { key: "a", value: value("a0"), partition: 0 },
        { key: "b", value: value("b0"), partition: 1 },
        { key: "a", value: value("a1"), partition: 0 },
      ]);
      expect(positions.map((p) => [p.topic, p.partition])).toEqual([[t, 0], [t, 1], [t, 0]]);
      expect(positions[2]!.offset).toBe(positions[0]!.offset + 1);
      const offsets = await queue.admin.offsets(t);
      expect(offsets.find((o) => o.partition === 0)!.end).toBe(positions[2]!.offset + 1);
      await producer.close();
    });

    it("keeps every record of one key on one partition", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 4 }]);
      const producer = queue.producer();
      const positions = await producer.send(t, Array.from({ length: 20 }, (_, i) => ({ key: "tenant-x", value: value(String(i)) })));
      expect(new Set(positions.map((p) => p.partition)).size).toBe(1);
      await producer.close();
    });

    it("spreads a key's records over `spread` consecutive partitions when asked (a big tenant's load)", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 8 }]);
      const producer = queue.producer();
      const positions = await producer.send(t, Array.from({ length: 24 }, (_, i) => ({ key: "tenant-big", spread: 4, value: value(String(i)) })));
      const used = new Set(positions.map((p) => p.partition));
      expect(used.size).toBe(4);
      // The same partitions as the collectors use for that tenant on raw (core's tenantPartition).
      expect(used).toEqual(new Set([0, 1, 2, 3].map((turn) => tenantPartition("tenant-big", 8, 4, turn))));
      await producer.close();
    });

    it("reads back exactly what was written: key, value bytes, headers and timestamp", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
      const [pos] = await producer.send(t, [{ key: "k", value: binary, partition: 0, timestamp: 1_700_000_000_123, headers: { h: "v" } }]);
      const [rec] = await queue.reader.read(t, 0, pos!.offset, 10);
      expect(rec).toMatchObject({ topic: t, partition: 0, offset: pos!.offset, key: "k", timestamp: 1_700_000_000_123, headers: { h: "v" } });
      expect(Buffer.compare(rec!.value, binary)).toBe(0);
      await producer.close();
    });

    it("finds the first offset at or after a timestamp", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      const base = 1_700_000_000_000;
      const pos = await producer.send(t, [0, 1, 2, 3].map((i) => ({ key: "k", value: value(String(i)), partition: 0, timestamp: base + i * 1000 })));
      const found = await queue.admin.offsetsForTime(t, base + 1500);
      expect(found.get(0)).toBe(pos[2]!.offset);
      await producer.close();
    });

    it("delivers every record once per group, in partition order, and commits after the handler", async () => {
      const t = topicName();
      const group = `g-${randomUUID().slice(0, 8)}`;
      await queue.admin.ensureTopics([{ name: t, partitions: 3 }]);
      const producer = queue.producer();
      const sent = Array.from({ length: 90 }, (_, i) => ({ key: `k${i % 3}`, value: value(`m${i}`), partition: i % 3 }));
      await producer.send(t, sent);
      const seen = new Map<number, number[]>();
      const consumer = queue.consumer({ group, topics: [t], fromBeginning: true, maxBatchRecords: 7, maxWaitMs: 0 });
      const done = consumer.run(async (batch) => {
        expect(batch.records.length).toBeLessThanOrEqual(7);
        const list = seen.get(batch.partition) ?? [];
        for (const r of batch.records) list.push(Number(r.value.toString().slice(1)));
        seen.set(batch.partition, list);
      });
      await waitUntil(() => [...seen.values()].reduce((n, l) => n + l.length, 0) >= 90);
      await consumer.stop();
      await done;
      for (let p = 0; p < 3; p++) {
        expect(seen.get(p)).toEqual(sent.map((_, i) => i).filter((i) => i % 3 === p));
      }
      await waitUntil(async () => {
        const committed = await queue.admin.committed(group, t);
        return [0, 1, 2].every((p) => committed.get(p) === 30);
      });
      await producer.close();
    });

    it("redelivers a batch whose handler failed, then moves on without losing or skipping anything", async () => {
      const t = topicName();
      const group = `g-${randomUUID().slice(0, 8)}`;
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      await producer.send(t, Array.from({ length: 10 }, (_, i) => ({ key: "k", value: value(String(i)), partition: 0 })));
      const deliveries: number[][] = [];
      let failed = false;
      const consumer = queue.consumer({ group, topics: [t], fromBeginning: true, maxBatchRecords: 5, maxWaitMs: 0 });
      const done = consumer.run(async (batch: PartitionBatch) => {
        deliveries.push(batch.records.map((r) => Number(r.value.toString())));
        if (!failed) {
          failed = true;
          throw new Error("transient failure");
        }
      });
      await waitUntil(() => deliveries.flat().includes(9));
      await consumer.stop();
      await done;
      expect(deliveries[0]).toEqual(deliveries[1]);
      const afterRetry = deliveries.slice(1).flat();
      expect(afterRetry).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await producer.close();
    });

    it("commits only up to the offset a handler returns and redelivers the rest", async () => {
      const t = topicName();
      const group = `g-${randomUUID().slice(0, 8)}`;
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      const pos = await producer.send(t, Array.from({ length: 6 }, (_, i) => ({ key: "k", value: value(String(i)), partition: 0 })));
      const base = pos[0]!.offset;
      const delivered: number[] = [];
      let refused = false;
      const consumer = queue.consumer({ group, topics: [t], fromBeginning: true, maxBatchRecords: 6, maxWaitMs: 0 });
      const done = consumer.run(async (batch) => {
        delivered.push(...batch.records.map((r) => Number(r.value.toString())));
        // The first time record 3 shows up: everything before it is done, 3 and after must come again.
        const at = batch.records.findIndex((r) => r.offset === base + 3);
        if (at >= 0 && !refused) {
          refused = true;
          return base + 3;
        }
      });
      await waitUntil(async () => (await queue.admin.committed(group, t)).get(0) === base + 6);
      await consumer.stop();
      await done;
      const times = (n: number) => delivered.filter((d) => d === n).length;
      expect([0, 1, 2].map(times)).toEqual([1, 1, 1]);
      expect(times(3)).toBe(2);
      expect(new Set(delivered)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
      await producer.close();
    });

    it("resumes a group at its committed offset after the consumer restarts", async () => {
      const t = topicName();
      const group = `g-${randomUUID().slice(0, 8)}`;
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      await producer.send(t, Array.from({ length: 5 }, (_, i) => ({ key: "k", value: value(`a${i}`), partition: 0 })));
      const first: string[] = [];
      const c1 = queue.consumer({ group, topics: [t], fromBeginning: true, maxWaitMs: 0 });
      const d1 = c1.run(async (b) => void first.push(...b.records.map((r) => r.value.toString())));
      await waitUntil(() => first.length === 5);
      await waitUntil(async () => (await queue.admin.committed(group, t)).get(0) === 5);
      await c1.stop();
      await d1;
      await producer.send(t, Array.from({ length: 3 }, (_, i) => ({ key: "k", value: value(`b${i}`), partition: 0 })));
      const second: string[] = [];
      const c2 = queue.consumer({ group, topics: [t], fromBeginning: true, maxWaitMs: 0 });
      const d2 = c2.run(async (b) => void second.push(...b.records.map((r) => r.value.toString())));
      await waitUntil(() => second.length >= 3);
      await c2.stop();
      await d2;
      expect(first).toEqual(["a0", "a1", "a2", "a3", "a4"]);
      expect(second).toEqual(["b0", "b1", "b2"]);
      await producer.close();
    });

    it("starts a new group at the end unless told to start from the beginning", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 1 }]);
      const producer = queue.producer();
      await producer.send(t, [{ key: "k", value: value("old"), partition: 0 }]);
      const got: string[] = [];
      const c = queue.consumer({ group: `g-${randomUUID().slice(0, 8)}`, topics: [t], fromBeginning: false, maxWaitMs: 0 });
      const d = c.run(async (b) => void got.push(...b.records.map((r) => r.value.toString())));
      // When the consumer takes its position is up to the broker: keep writing until something arrives.
      for (let i = 0; got.length === 0 && i < 100; i++) {
        await producer.send(t, [{ key: "k", value: value(`new-${i}`), partition: 0 }]);
        await new Promise((r) => setTimeout(r, 300));
      }
      await c.stop();
      await d;
      expect(got.length).toBeGreaterThan(0);
      expect(got.every((v) => v.startsWith("new-"))).toBe(true);
      await producer.close();
    });

    it("keeps acknowledged records across a close and reopen", async () => {
      const t = topicName();
      await queue.admin.ensureTopics([{ name: t, partitions: 2 }]);
      const producer = queue.producer();
      const positions = await producer.send(t, Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: value(`v${i}`) })));
      await producer.close();
      await queue.close();
      queue = await harness.open();
      for (let i = 0; i < positions.length; i++) {
        const p = positions[i]!;
        const [rec] = await queue.reader.read(t, p.partition, p.offset, 1);
        expect(rec?.value.toString()).toBe(`v${i}`);
      }
    });
  });
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
