import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster, type MockCluster } from "../helpers/kafka";

/** Kafka API keys, as the test broker counts requests. */
const API = { OffsetFetch: 9, FindCoordinator: 10, JoinGroup: 11, Heartbeat: 12, LeaveGroup: 13, SyncGroup: 14, ApiVersions: 18 } as const;

/**
 * What the default (pure-JS) Kafka adapter does beyond the queue contract, on the wire: the deploy's
 * topics step raises partitions; the archive's reads and offset lookups join no group and open no new
 * connections per call (the archive role allows only its own group; a function reading a day must not
 * open thousands of TLS+IAM connections).
 */
describe("Kafka adapter (@platformatic/kafka) on the wire", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  const name = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    cluster = await startMockCluster(3);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000 });
  });
  afterAll(async () => {
    await queue?.close();
    await cluster?.stop();
  });

  it("raises an existing topic's partitions with CreatePartitions, and the new ones take records", async () => {
    const t = name("grow");
    await cluster.createTopics([{ name: t, partitions: 2 }]);
    await queue.admin.ensureTopics([{ name: t, partitions: 2 }]);
    expect(await queue.admin.partitions(t)).toBe(2);

    await queue.admin.ensureTopics([{ name: t, partitions: 6 }]);
    // A fresh client sees it too (no cached count).
    const other = new PlatformaticKafkaQueue({ brokers: cluster.brokers });
    try {
      expect(await other.admin.partitions(t)).toBe(6);
      expect((await other.admin.offsets(t)).map((o) => o.partition)).toEqual([0, 1, 2, 3, 4, 5]);
      const producer = other.producer();
      const [pos] = await producer.send(t, [{ key: "k", value: Buffer.from("in a new partition"), partition: 5 }]);
      expect(pos).toMatchObject({ partition: 5, offset: 0 });
      const [rec] = await other.reader.read(t, 5, 0, 10);
      expect(rec?.value.toString()).toBe("in a new partition");
      await producer.close();
    } finally {
      await other.close();
    }
    // Asking for fewer leaves it as it is.
    await queue.admin.ensureTopics([{ name: t, partitions: 3 }]);
    expect(await queue.admin.partitions(t)).toBe(6);
  });

  it("creates missing topics with CreateTopics", async () => {
    const t = name("created");
    await queue.admin.ensureTopics([{ name: t, partitions: 5, config: { "retention.ms": "3600000" } }]);
    const other = new PlatformaticKafkaQueue({ brokers: cluster.brokers });
    try {
      expect(await other.admin.partitions(t)).toBe(5);
    } finally {
      await other.close();
    }
  });

  it("reads with plain Fetch requests: no consumer group, no new connection per read", async () => {
    const t = name("read");
    await queue.admin.ensureTopics([{ name: t, partitions: 2 }]);
    const producer = queue.producer();
    await producer.send(t, Array.from({ length: 30 }, (_, i) => ({ key: "k", value: Buffer.from(`r${i}`), partition: i % 2 })));
    await producer.close();
    // The first read connects to the partition leaders.
    await queue.reader.read(t, 0, 0, 1);
    await queue.reader.read(t, 1, 0, 1);

    await cluster.trackRequests();
    const got: string[] = [];
    for (let offset = 0; offset < 15; offset += 3) got.push(...(await queue.reader.read(t, 0, offset, 3)).map((r) => r.value.toString()));
    got.push(...(await queue.reader.read(t, 1, 0, 100)).map((r) => r.value.toString()));
    expect(got).toEqual([...Array.from({ length: 15 }, (_, i) => `r${2 * i}`), ...Array.from({ length: 15 }, (_, i) => `r${2 * i + 1}`)]);
    // Past the end: nothing, at once.
    expect(await queue.reader.read(t, 0, 15, 10)).toEqual([]);

    const requests = await cluster.requests();
    for (const api of [API.FindCoordinator, API.JoinGroup, API.SyncGroup, API.Heartbeat, API.LeaveGroup, API.OffsetFetch]) expect(requests.get(api) ?? 0).toBe(0);
    // Every new connection starts with ApiVersions: the reads above opened none.
    expect(requests.get(API.ApiVersions) ?? 0).toBe(0);
  });

  it("shares a topic between two members of a group, and hands a leaving member's partitions over", async () => {
    const t = name("shared");
    const group = name("group");
    await queue.admin.ensureTopics([{ name: t, partitions: 4 }]);
    const producer = queue.producer();
    const seen = new Set<string>();
    const handler = async (batch: { records: { value: Buffer }[] }) => {
      for (const r of batch.records) seen.add(r.value.toString());
    };
    const waitSeen = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while (seen.size < n) {
        if (Date.now() > deadline) throw new Error(`handled ${seen.size} of ${n}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const send = (from: number, to: number) => producer.send(t, Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: Buffer.from(`m${from + i}`) })));
    const a = queue.consumer({ group, topics: [t], fromBeginning: true, maxWaitMs: 100 });
    const runA = a.run(handler);
    await send(0, 100);
    await waitSeen(100);
    // A second member joins: the group rebalances over both.
    const b = queue.consumer({ group, topics: [t], fromBeginning: true, maxWaitMs: 100 });
    const runB = b.run(handler);
    await send(100, 200);
    await waitSeen(200);
    // The first leaves: the second takes its partitions over from their committed offsets.
    await a.stop();
    await runA;
    await send(200, 300);
    await waitSeen(300);
    const ends = await queue.admin.offsets(t);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const committed = await queue.admin.committed(group, t);
      if (ends.every((e) => committed.get(e.partition) === e.end)) break;
      if (Date.now() > deadline) throw new Error(`committed ${JSON.stringify([...committed])}, ends ${JSON.stringify(ends)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await b.stop();
    await runB;
    await producer.close();
    expect(seen).toEqual(new Set(Array.from({ length: 300 }, (_, i) => `m${i}`)));
  });

  it("reads a group's committed offsets without joining the group, on the same connections each time", async () => {
    const t = name("committed");
    const group = name("group");
    await queue.admin.ensureTopics([{ name: t, partitions: 3 }]);
    const producer = queue.producer();
    await producer.send(t, Array.from({ length: 9 }, (_, i) => ({ key: "k", value: Buffer.from(String(i)), partition: i % 3 })));
    await producer.close();

    // A member of the group handles everything and stays in the group.
    const consumer = queue.consumer({ group, topics: [t], fromBeginning: true, maxWaitMs: 100 });
    let handled = 0;
    const running = consumer.run(async (batch) => {
      handled += batch.records.length;
    });
    try {
      const deadline = Date.now() + 30_000;
      while ([...(await queue.admin.committed(group, t)).values()].reduce((a, b) => a + b, 0) < 9) {
        if (Date.now() > deadline) throw new Error(`the group did not commit: handled ${handled}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      await cluster.trackRequests();
      for (let i = 0; i < 5; i++) expect(await queue.admin.committed(group, t)).toEqual(new Map([[0, 3], [1, 3], [2, 3]]));
      const requests = await cluster.requests();
      // Looked up with OffsetFetch; no JoinGroup/SyncGroup (the running member would be rebalanced) and
      // no LeaveGroup.
      expect(requests.get(API.OffsetFetch) ?? 0).toBeGreaterThanOrEqual(5);
      for (const api of [API.JoinGroup, API.SyncGroup, API.LeaveGroup]) expect(requests.get(api) ?? 0).toBe(0);
      expect(requests.get(API.ApiVersions) ?? 0).toBe(0);
    } finally {
      await consumer.stop();
      await running;
    }
    // A group that never committed has no offsets, and asking creates nothing.
    expect(await queue.admin.committed(name("nobody"), t)).toEqual(new Map());
  });
});
