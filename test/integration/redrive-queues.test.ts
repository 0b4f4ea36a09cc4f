import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_TOPIC,
  decodeProcessedDocs,
  decodeRawBatch,
  encodeDeadLetter,
  processedTopic,
  RAW_TOPIC,
  REDRIVEN_TOPIC,
  type DeadLetter,
  type Queue,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { KafkaQueue } from "@unmeltable/queue-kafka";
import { redriveDeadLetters } from "../../packages/runtime/src/dead-letters";
import { startMockCluster } from "../helpers/kafka";

const tenant = (name: string, ingestToken: string, tier = "default"): Tenant => ({ name, ingestToken, apiToken: `api-${name}`, tier, partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 });
const acme = tenant("acme", "11111111-2222-4333-8444-555555555555", "gold");
const directory: TenantDirectory = {
  byIngestToken: (t) => (t === acme.ingestToken ? acme : undefined),
  byApiToken: () => undefined,
  byName: (n) => (n === "acme" ? acme : undefined),
  list: () => [acme],
};

async function readAll(queue: Queue, topic: string) {
  const out = [];
  for (const { partition, start, end } of await queue.admin.offsets(topic)) {
    if (end > start) out.push(...(await queue.reader.read(topic, partition, start, end - start)));
  }
  return out;
}

/** The redrive runs on the queue port: the same exactly-once outcome on the embedded queue and on Kafka. */
describe.each([
  {
    name: "embedded queue",
    open: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-redrive-"));
      return { queue: await EmbeddedQueue.open({ dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "Kafka (librdkafka mock cluster)",
    open: async () => {
      const cluster = await startMockCluster(1);
      return { queue: new KafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000, createTopics: (t) => cluster.createTopics(t) }), cleanup: () => cluster.stop() };
    },
  },
])("deadletters redrive on the $name", ({ open }) => {
  let queue: Queue;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ queue, cleanup } = await open());
    await queue.admin.ensureTopics([
      { name: DEAD_LETTER_TOPIC, partitions: 1 },
      { name: RAW_TOPIC, partitions: 2 },
      { name: processedTopic("gold"), partitions: 2 },
    ]);
  });
  afterAll(async () => {
    await queue.close();
    await cleanup();
  });

  it("sends each redrivable letter to its topic once, however often it runs", async () => {
    const at = Date.UTC(2026, 0, 7, 10);
    const frame = `<14>1 - web-1 app - - [${acme.ingestToken}@41058 tag="a"] hello`;
    const letters: DeadLetter[] = [
      { stage: "collector", reason: "unknown_token", error: "unknown token", at, bytes: Buffer.from(frame).toString("base64"), source: "udp 10.1.2.3" },
      { stage: "collector", reason: "unknown_token", error: "unknown token", at, bytes: Buffer.from(frame.replace(acme.ingestToken, "99999999-2222-4333-8444-555555555555")).toString("base64"), source: "tcp 10.1.2.3" },
      { stage: "index", reason: "index_rejected", error: "400", at, tenant: "acme", bytes: Buffer.from(JSON.stringify({ id: "e1", timestamp: at, raw: "r", tags: [] })).toString("base64") },
      { stage: "collector", reason: "event_too_large", error: "too large", at, bytes: "eA==" },
    ];
    const producer = queue.producer();
    await producer.send(DEAD_LETTER_TOPIC, letters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) })));

    const first = await redriveDeadLetters({ queue, producer, tenants: directory, filter: {} });
    expect(first).toMatchObject({ matched: 4, redriven: 2, alreadyRedriven: 0, topics: { raw: 1, "processed.gold": 1 } });
    expect(first.skipped).toEqual({ "its token still belongs to no tenant": 1, "event_too_large cannot be processed as it is": 1 });
    const second = await redriveDeadLetters({ queue, producer, tenants: directory, filter: {} });
    expect(second).toMatchObject({ matched: 4, redriven: 0, alreadyRedriven: 2 });

    const raw = (await readAll(queue, RAW_TOPIC)).map((r) => decodeRawBatch(r.value));
    expect(raw).toHaveLength(1);
    expect(raw[0]!.events).toEqual([expect.objectContaining({ tenant: "acme", receivedAt: at, transport: "udp", remote: "10.1.2.3", tags: ["a"], raw: frame })]);
    const processed = (await readAll(queue, processedTopic("gold"))).map((r) => decodeProcessedDocs(r.value));
    expect(processed).toEqual([{ tenant: "acme", docs: [JSON.stringify({ id: "e1", timestamp: at, raw: "r", tags: [] })] }]);
    expect((await readAll(queue, REDRIVEN_TOPIC)).map((r) => r.key).sort()).toEqual(["0@0", "0@2"]);
    await producer.close();
  });
});
