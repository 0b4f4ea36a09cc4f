/**
 * An OpenSearch outage on AWS, end to end through the real Lambda handlers' driver and stages, with the
 * event-source mappings the production stage deploys (stacks/pipeline.ts, modelled by
 * test/helpers/esm.ts), the Kafka test broker, and the modelled OpenSearch cluster: it throttles (429)
 * and then is unreachable for far longer than any fixed retry budget. When it is back, every
 * acknowledged event is in the index exactly once and nothing is in the dead letters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, DEAD_LETTER_TOPIC, encodeRawBatch, newEventId, noLogger, noMetrics, type RawRecord } from "@unmeltable/core";
import { OpenSearchIndex } from "@unmeltable/index-opensearch";
import { createMskHandler } from "@unmeltable/lambda";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { processFor, resolveStage, tiersFor, type EsmSettings, type StageConfig } from "../../stacks/config";
import { EsmEmulator, type MappingSettings } from "../helpers/esm";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { startModelCluster } from "../opensearch/model-cluster";
import type { RecordedServer } from "../opensearch/recorded-server";

// stacks/pipeline.ts is type-checked with SST's types (tsconfig.infra.json), not with the packages': load
// it by URL so that this file's type check does not pull the stacks in.
type MappingArgsFn = (cfg: StageConfig, app: string, o: { clusterArn: string; functionArn: string; topic: string; consumer: string; esm: EsmSettings }) => MappingSettings;
const { mappingArgs } = (await import(new URL("../../stacks/pipeline.ts", import.meta.url).href)) as { mappingArgs: MappingArgsFn };

const prod = resolveStage("prod", {});
const tier = tiersFor(prod).find((t) => t.name === "default")!;
const mapping = (topic: string, consumer: string, esm: EsmSettings) =>
  mappingArgs(prod, "unmeltable", { clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/unmeltable-prod/uuid", functionArn: "fn", topic, consumer, esm });

describe("an OpenSearch outage longer than every retry", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  let opensearch: RecordedServer;

  beforeAll(async () => {
    cluster = await startMockCluster(1);
    await cluster.createTopics([
      { name: "raw", partitions: 2 },
      { name: "processed.default", partitions: 2 },
      { name: DEAD_LETTER_TOPIC, partitions: 1 },
    ]);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    opensearch = await startModelCluster();
  });

  afterAll(async () => {
    await queue.close();
    await cluster.stop();
    await opensearch.close();
  });

  it("indexes every acknowledged event exactly once when OpenSearch is back, and dead-letters nothing", async () => {
    const producer = queue.producer();
    // Acknowledged events: raw batches the queue reported durable.
    const events: RawRecord[] = [];
    for (let b = 0; b < 12; b++) {
      const batch = Array.from({ length: 10 }, (_, i): RawRecord => ({ id: newEventId(), tenant: "acme", receivedAt: Date.now(), transport: "tcp", remote: "10.0.0.9", collector: "c1", tags: [], raw: `<14>1 ${new Date().toISOString()} web api - - - outage ${b}-${i}` }));
      events.push(...batch);
      await producer.send("raw", [{ key: "acme", partition: b % 2, value: encodeRawBatch("acme", "c1", batch) }]);
    }

    // The process stage as deployed: raw → processed.default.
    const processMapping = mapping("raw", "process", processFor(prod).esm);
    const processHandler = createMskHandler({ stage: createProcessStage({ tierOf: () => "default" }), stageName: "process", producer: async () => producer, errorHandling: prod.errorHandling, metrics: noMetrics, logger: noLogger });
    await new EsmEmulator({ queue, producer, mapping: processMapping, handler: processHandler, functionTimeoutMs: 60_000 }).drain();

    // OpenSearch: 429 (rejected execution) for a while, then unreachable (connections dropped), then back.
    let failing = 0;
    const THROTTLED = 40;
    const DOWN = 400;
    opensearch.fault = () => {
      if (failing >= THROTTLED + DOWN) return undefined;
      failing++;
      if (failing <= THROTTLED) return { status: 429, body: { error: { type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" }, status: 429 } };
      return { status: 0, hangUp: true };
    };

    // The index stage as deployed, its invocations shortened so that the test is quick: each blocks for
    // its time and hands the partition back; Lambda (the model) retries per the mapping's settings.
    const index = new OpenSearchIndex({ node: opensearch.url, tier: "default", retryBaseMs: 1, requestTimeoutMs: 10_000 });
    const indexHandler = createMskHandler({ stage: createIndexStage({ index }), stageName: "index", producer: async () => producer, errorHandling: prod.errorHandling, metrics: noMetrics, logger: noLogger, reserveMs: 0, backoff: { firstMs: 1, maxMs: 10 } });
    const indexMapping = mapping("processed.default", "index-default", tier.esm);
    const esm = new EsmEmulator({ queue, producer, mapping: indexMapping, handler: indexHandler, functionTimeoutMs: 250 });
    await esm.drain(20_000);

    // The outage ran its full course: every faulty answer was given, and Lambda had to retry.
    expect(failing).toBe(THROTTLED + DOWN);
    expect(esm.failedInvocations).toBeGreaterThan(0);
    expect(esm.discarded).toBe(0);

    // Nothing in the dead letters, from the app or from Lambda's on-failure destination.
    for (const p of await queue.admin.offsets(DEAD_LETTER_TOPIC)) expect(p.end - p.start).toBe(0);

    // Every acknowledged event, once.
    const res = await fetch(`${opensearch.url}/logs-*/_search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: { match_all: {} }, size: 10_000 }) });
    const hits = ((await res.json()) as { hits: { hits: { _id: string }[] } }).hits.hits.map((h) => h._id);
    expect(hits.length).toBe(events.length);
    expect(new Set(hits)).toEqual(new Set(events.map((e) => e.id)));
    await producer.close();
  });
});
