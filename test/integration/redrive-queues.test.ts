import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_TOPIC,
  decodeProcessedDocs,
  decodeRawBatch,
  encodeDeadLetter,
  encodeProcessedDocs,
  encodeRawBatch,
  processedTopic,
  RAW_TOPIC,
  REDRIVEN_TOPIC,
  type DeadLetter,
  type Queue,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { redriveDeadLetters, scanDeadLetters } from "../../packages/runtime/src/dead-letters";
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
      return { queue: new PlatformaticKafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000, createTopics: (t) => cluster.createTopics(t) }), cleanup: () => cluster.stop() };
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
      { stage: "collector", reason: "unknown_token", error: "unknown token", at, bytes: Buffer.from(frame.replace(acme.ingestToken!, "99999999-2222-4333-8444-555555555555")).toString("base64"), source: "tcp 10.1.2.3" },
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

  it("reads Lambda's on-failure records beside the app's own letters: by tenant and time, redriven once to where they were read", async () => {
    const producer = queue.producer();
    const before = await redriveDeadLetters({ queue, producer, tenants: directory, filter: {} });
    const t0 = Date.UTC(2026, 1, 3, 8);
    const rawValue = encodeRawBatch("acme", "c1", [{ id: "0f0e0d0c-0b0a-4908-8706-050403020100", tenant: "acme", receivedAt: t0, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: [], raw: "from lambda" }]);
    const processedValue = encodeProcessedDocs("acme", [JSON.stringify({ id: "lambda-doc-1", timestamp: t0, raw: "doc", tags: [] })]);
    const record = (topic: string, partition: number, offset: number, value: Buffer) => ({ topic, partition, offset, timestamp: t0, timestampType: "CREATE_TIME", key: Buffer.from("acme").toString("base64"), value: value.toString("base64"), headers: [] });
    // Lambda's on-failure destination record, as documented (kafka-on-failure-destination.html).
    const lambdaRecord = (records: Record<string, unknown[]>, at: number) =>
      Buffer.from(
        JSON.stringify({
          requestContext: { requestId: "r-1", functionArn: "arn:aws:lambda:eu-west-1:123456789012:function:index", condition: "RetriesExhausted", approximateInvokeCount: 10_001 },
          responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
          version: "1.0",
          timestamp: new Date(at).toISOString(),
          KafkaBatchInfo: { batchSize: 2, eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/c/u", bootstrapServers: "b-1:9098", payloadSize: 1, recordInfo: { offset: "7", timestamp: new Date(at).toISOString() } },
          payload: { eventSource: "aws:kafka", records },
        }),
      );
    await producer.send(DEAD_LETTER_TOPIC, [
      // An app letter of the same tenant, earlier: outside the time range asked for.
      { key: "acme", value: encodeDeadLetter({ stage: "index", reason: "index_rejected", error: "400", at: t0 - 86_400_000, tenant: "acme", bytes: Buffer.from(JSON.stringify({ id: "old", timestamp: t0, raw: "r", tags: [] })).toString("base64") }) },
      { key: "acme", value: lambdaRecord({ "raw-1": [record("raw", 1, 7, rawValue)], "processed.gold-0": [record("processed.gold", 0, 9, processedValue)] }, t0 + 60_000) },
    ]);
    const filter = { tenant: "acme", from: t0, until: t0 + 3_600_000 };
    const found = [];
    for await (const page of scanDeadLetters(queue, directory, filter)) found.push(...page);
    expect(found.map((f) => [f.letter.stage, f.letter.reason, f.letter.tenant, f.letter.source, "topic" in f.plan ? f.plan.topic : f.plan.skip])).toEqual([
      ["process", "retries_exhausted", "acme", "raw-1@7", "raw"],
      ["index", "retries_exhausted", "acme", "processed.gold-0@9", "processed.gold"],
    ]);
    const first = await redriveDeadLetters({ queue, producer, tenants: directory, filter });
    expect(first).toMatchObject({ matched: 2, redriven: 2, topics: { raw: 1, "processed.gold": 1 } });
    expect((await redriveDeadLetters({ queue, producer, tenants: directory, filter })).redriven).toBe(0);
    // The old app letter is still there, untouched.
    expect((await redriveDeadLetters({ queue, producer, tenants: directory, filter: { tenant: "acme", until: t0 } })).redriven).toBe(1);
    const raw = (await readAll(queue, RAW_TOPIC)).map((r) => decodeRawBatch(r.value)).flatMap((b) => b.events.map((e) => e.id));
    expect(raw).toContain("0f0e0d0c-0b0a-4908-8706-050403020100");
    const docs = (await readAll(queue, processedTopic("gold"))).flatMap((r) => decodeProcessedDocs(r.value).docs);
    expect(docs.filter((d) => d.includes("lambda-doc-1"))).toHaveLength(1);
    expect(before.redriven).toBe(0);
    await producer.close();
  });
});
