/**
 * `unmeltable deadletters` against a deployment: Kafka (the test broker standing in for MSK), the
 * deployment's tenants.json instead of a data dir, a tenant and a time range; Lambda's on-failure records
 * and the app's own letters listed alike and redriven once into the topics the stages read.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEAD_LETTER_TOPIC, decodeProcessedDocs, encodeDeadLetter, encodeProcessedDocs, processedTopic, RAW_TOPIC, type QueueRecord } from "@unmeltable/core";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { cli } from "../helpers/program";

describe("deadletters for a deployment", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-dl-deploy-"));
  const tenantsFile = path.join(dir, "tenants.json");
  const t0 = Date.UTC(2026, 2, 1, 12);

  beforeAll(async () => {
    cluster = await startMockCluster(1);
    await cluster.createTopics([
      { name: RAW_TOPIC, partitions: 2 },
      { name: DEAD_LETTER_TOPIC, partitions: 1 },
      { name: "deadletter.redriven", partitions: 1 },
      { name: processedTopic("bulk"), partitions: 2 },
    ]);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    writeFileSync(tenantsFile, JSON.stringify([{ name: "acme", ingestToken: "11111111-2222-4333-8444-555555555555", apiToken: "a", tier: "bulk" }, { name: "other", ingestToken: "21111111-2222-4333-8444-555555555555", apiToken: "b" }]));
    const producer = queue.producer();
    const doc = (id: string) => encodeProcessedDocs("acme", [JSON.stringify({ id, timestamp: t0, raw: id, tags: [] })]);
    const lambda = {
      requestContext: { requestId: "r", functionArn: "arn:aws:lambda:eu-west-1:1:function:index-bulk", condition: "RetriesExhausted", approximateInvokeCount: 10_001 },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: new Date(t0 + 60_000).toISOString(),
      KafkaBatchInfo: { batchSize: 1 },
      payload: { records: { "processed.bulk-1": [{ topic: "processed.bulk", partition: 1, offset: 5, timestamp: t0, key: Buffer.from("acme").toString("base64"), value: doc("from-lambda").toString("base64"), headers: [] }] } },
    };
    await producer.send(DEAD_LETTER_TOPIC, [
      { key: "acme", value: Buffer.from(JSON.stringify(lambda)) },
      { key: "acme", value: encodeDeadLetter({ stage: "index", reason: "index_rejected", error: "mapper_parsing_exception", at: t0 + 120_000, tenant: "acme", bytes: Buffer.from(JSON.stringify({ id: "from-app", timestamp: t0, raw: "x", tags: [] })).toString("base64") }) },
      { key: "acme", value: encodeDeadLetter({ stage: "index", reason: "index_rejected", error: "earlier", at: t0 - 86_400_000, tenant: "acme", bytes: Buffer.from("{}").toString("base64") }) },
      { key: "other", value: encodeDeadLetter({ stage: "index", reason: "index_rejected", error: "other tenant", at: t0 + 60_000, tenant: "other", bytes: Buffer.from("{}").toString("base64") }) },
    ]);
    await producer.close();
  });

  afterAll(async () => {
    await queue.close();
    await cluster.stop();
  });

  const common = () => ["--queue", "kafka", "--brokers", cluster.brokers.join(","), "--tenants", tenantsFile, "--tenant", "acme", "--from", new Date(t0).toISOString(), "--until", new Date(t0 + 3_600_000).toISOString()];

  it("lists a tenant's letters of a time range, Lambda's and the app's, with where each goes back", async () => {
    const lines = (await cli(["deadletters", "list", ...common(), "--json"])).trim().split("\n").map((l) => JSON.parse(l) as { tenant: string; reason: string; source: string | null; redrive: { topic: string } | null });
    expect(lines.map((l) => [l.tenant, l.reason, l.redrive?.topic])).toEqual([
      ["acme", "retries_exhausted", "processed.bulk"],
      ["acme", "index_rejected", "processed.bulk"],
    ]);
    expect(lines[0]!.source).toBe("processed.bulk-1@5");
  });

  it("redrives them into the tenant's tier topic once", async () => {
    expect(JSON.parse((await cli(["deadletters", "redrive", ...common(), "--json"])).trim().split("\n").pop()!)).toMatchObject({ matched: 2, redriven: 2, topics: { "processed.bulk": 2 } });
    expect(JSON.parse((await cli(["deadletters", "redrive", ...common(), "--json"])).trim().split("\n").pop()!)).toMatchObject({ matched: 2, redriven: 0, alreadyRedriven: 2 });
    const records: QueueRecord[] = [];
    for (const p of await queue.admin.offsets(processedTopic("bulk"))) if (p.end > p.start) records.push(...(await queue.reader.read(processedTopic("bulk"), p.partition, p.start, p.end - p.start)));
    const ids = records.flatMap((r) => decodeProcessedDocs(r.value).docs.map((d) => (JSON.parse(d) as { id: string }).id)).sort();
    expect(ids).toEqual(["from-app", "from-lambda"]);
  });
});
