/**
 * Stage-metrics compliance on Lambda: the MSK driver, with the real Powertools EMF output, emits core's
 * STAGE_METRICS for every stage (as CloudWatch names them) on the same input as the stage runner on one
 * machine (test/integration/stage-compliance.test.ts), and writes them once per invocation: one EMF
 * document per dimension set, however many batches and increments. First with one invocation per stage
 * of two partitions each (the stages' output to a real queue, the embedded one); then as deployed: the
 * Kafka test broker, the event-source mappings the production stage makes (test/helpers/esm.ts) and
 * the modelled OpenSearch cluster behind the index stage.
 */
import { describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, MemoryLogger, processedTopic, RAW_TOPIC, STAGE_METRICS, type QueueRecord } from "@unmeltable/core";
import type { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { OpenSearchIndex } from "@unmeltable/index-opensearch";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { processFor, resolveStage, tiersFor, type EsmSettings, type StageConfig } from "../../stacks/config";
import { EsmEmulator, toMskRecord, type MappingSettings } from "../helpers/esm";
import { startMockCluster } from "../helpers/kafka";
import { startModelCluster } from "../opensearch/model-cluster";
import { complianceInput, compliancePlans, EXPECTED, INPUT_EVENTS, OVER_PLAN } from "../helpers/stage-compliance";
import { openStageQueue, STAGE_TOPICS } from "../helpers/stage-queue";
import { tempDirs } from "../helpers/temp-dirs";
import { captureEmfLines } from "../helpers/emf-lines";

// stacks/pipeline.ts is type-checked with SST's types (tsconfig.infra.json): loaded by URL, as test/lambda/outage.test.ts does.
type MappingArgsFn = (cfg: StageConfig, app: string, o: { clusterArn: string; functionArn: string; topic: string; consumer: string; esm: EsmSettings }) => MappingSettings;
const { mappingArgs } = (await import(new URL("../../stacks/pipeline.ts", import.meta.url).href)) as { mappingArgs: MappingArgsFn };

const FUNCTION = "unmeltable-prod-ProcessFunction-compliance";
const { lines, lambda: loaded } = captureEmfLines(FUNCTION);
const tmp = tempDirs("compliance-lambda", "all");

type Doc = { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;

/** The records of a topic as an MSK event (base64 keys and values, grouped by "topic-partition"). */
async function mskEvent(queue: EmbeddedQueue, topic: string) {
  const records: Record<string, unknown[]> = {};
  for (const { partition, start, end } of await queue.admin.offsets(topic)) {
    if (end === start) continue;
    const read: QueueRecord[] = await queue.reader.read(topic, partition, start, end - start);
    records[`${topic}-${partition}`] = read.map(toMskRecord);
  }
  return { records } as never;
}

describe("stage metrics on Lambda (the MSK driver)", () => {
  it("every stage emits the standard set under CloudWatch's names of core's metrics, one EMF document per dimension set per invocation", async () => {
    const { queue, index, producer } = await openStageQueue(tmp);
    await producer.send(RAW_TOPIC, complianceInput());
    const logger = new MemoryLogger();
    const base = { producer: async () => producer, errorHandling: "provisioned" as const, logger };
    const invoke = async (stageName: "process" | "index", handler: ReturnType<typeof import("@unmeltable/lambda").createMskHandler>, topic: string) => {
      const before = lines.length;
      expect((await handler(await mskEvent(queue, topic))).batchItemFailures).toEqual([]);
      // The per-tenant usage lines (EmfUsage) are not the stage metrics.
      return lines.slice(before).map((l) => JSON.parse(l) as Doc).filter((d) => d.tenant === undefined);
    };
    try {
      const docs = {
        process: await invoke("process", loaded().createMskHandler({ ...base, stage: createProcessStage({ tierOf: () => "default", plans: compliancePlans() }), stageName: "process", metrics: new (loaded().EmfMetrics)(), usage: new (loaded().EmfUsage)() }), RAW_TOPIC),
        index: await invoke("index", loaded().createMskHandler({ ...base, stage: createIndexStage({ index }), stageName: "index", metrics: new (loaded().EmfMetrics)(), usage: new (loaded().EmfUsage)() }), processedTopic("default")),
      };
      for (const [stage, keys] of Object.entries(EXPECTED) as [keyof typeof EXPECTED, (typeof EXPECTED)["process"]][]) {
        const names = docs[stage].flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name));
        for (const key of keys) expect(names, `${stage}: ${STAGE_METRICS[key].cloudwatch}`).toContain(STAGE_METRICS[key].cloudwatch);
        // Once per invocation: each dimension set in one document (the two partitions' batches summed).
        const sets = docs[stage].map((d) => JSON.stringify([...d._aws.CloudWatchMetrics[0]!.Dimensions[0]!].sort()));
        expect(new Set(sets).size, stage).toBe(sets.length);
        // Never a stage or tenant dimension (FunctionName says the stage; a tenant dimension is a metric per tenant).
        for (const set of sets) expect(set).not.toMatch(/"stage"|"tenant"/);
      }
      const plain = (stage: "process" | "index") => docs[stage].find((d) => d._aws.CloudWatchMetrics[0]!.Dimensions[0]!.length === 2)!;
      // One batch per partition of the event, summed into the invocation's one document.
      const rawPartitions = (await queue.admin.offsets(RAW_TOPIC)).filter((p) => p.end > p.start).length;
      expect(rawPartitions).toBe(2);
      expect(plain("process")).toMatchObject({ EventsIn: INPUT_EVENTS, Batches: rawPartitions, FunctionName: FUNCTION });
      expect(plain("process").DeferredEvents).toBeGreaterThan(0);
      // Histograms: their values in seconds, from which CloudWatch computes percentiles.
      const units = Object.fromEntries(plain("index")._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
      expect(units).toMatchObject({ BatchSeconds: "Seconds", IngestLagSeconds: "Seconds", EventsOut: "Count" });
      const processedOut = (plain("process").EventsOut as number) - (plain("process").DeferredEvents as number);
      expect(plain("index").EventsOut).toBe(processedOut);
      expect(docs.process.find((d) => typeof d.reason === "string")).toMatchObject({ DeadLetters: 1 });
      // The per-tenant deferred counts are in the driver's log line, bound to the stage and partition.
      const deferredLine = logger.lines.find((l) => l.message.startsWith("events deferred"));
      expect(deferredLine?.fields).toMatchObject({ stage: "process", topic: RAW_TOPIC, deferred: { [OVER_PLAN]: plain("process").DeferredEvents } });
    } finally {
      await producer.close();
      await queue.close();
      await index.close();
    }
  });

  it("as deployed (Kafka, the production mappings, OpenSearch): every invocation writes each dimension set once, and the stages add up", async () => {
    const cluster = await startMockCluster(1);
    const opensearch = await startModelCluster();
    await cluster.createTopics(STAGE_TOPICS);
    const queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    const producer = queue.producer();
    const index = new OpenSearchIndex({ node: opensearch.url, tier: "default", retryBaseMs: 1, requestTimeoutMs: 10_000 });
    try {
      await producer.send(RAW_TOPIC, complianceInput());
      const prod = resolveStage("prod", {});
      const tier = tiersFor(prod).find((t) => t.name === "default")!;
      const mapping = (topic: string, consumer: string, esm: EsmSettings) => mappingArgs(prod, "unmeltable", { clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/unmeltable-prod/uuid", functionArn: "fn", topic, consumer, esm });
      /** Each invocation's stage-metric documents (not the per-tenant usage lines). */
      const invocations: Doc[][] = [];
      const recorded = (handler: ReturnType<typeof import("@unmeltable/lambda").createMskHandler>): typeof handler => async (event, context) => {
        const before = lines.length;
        try {
          return await handler(event, context);
        } finally {
          invocations.push(lines.slice(before).map((l) => JSON.parse(l) as Doc).filter((d) => d.tenant === undefined));
        }
      };
      const base = { producer: async () => producer, errorHandling: prod.errorHandling, logger: new MemoryLogger() };
      const run = async (stage: Parameters<typeof import("@unmeltable/lambda").createMskHandler>[0]["stage"], stageName: string, topic: string, consumer: string, esm: EsmSettings) => {
        invocations.length = 0;
        const handler = recorded(loaded().createMskHandler({ ...base, stage, stageName, metrics: new (loaded().EmfMetrics)(), usage: new (loaded().EmfUsage)() }));
        await new EsmEmulator({ queue, producer, mapping: mapping(topic, consumer, esm), handler, functionTimeoutMs: 60_000 }).drain();
        return invocations.splice(0);
      };
      const sum = (docs: Doc[][], metric: string) => docs.flat().reduce((n, d) => n + (typeof d[metric] === "number" ? (d[metric] as number) : 0), 0);
      const processDocs = await run(createProcessStage({ tierOf: () => "default", plans: compliancePlans() }), "process", RAW_TOPIC, "process", processFor(prod).esm);
      const indexDocs = await run(createIndexStage({ index }), "index", processedTopic("default"), "index-default", tier.esm);
      for (const [stage, docs] of [["process", processDocs], ["index", indexDocs]] as const) {
        expect(docs.length, stage).toBeGreaterThan(0);
        for (const invocation of docs) {
          const sets = invocation.map((d) => JSON.stringify([...d._aws.CloudWatchMetrics[0]!.Dimensions[0]!].sort()));
          expect(new Set(sets).size, `${stage}: one document per dimension set`).toBe(sets.length);
          // Every invocation emits the standard set.
          const names = invocation.flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name));
          for (const key of EXPECTED[stage].filter((k) => STAGE_METRICS[k].standard)) expect(names, `${stage}: ${STAGE_METRICS[key].cloudwatch}`).toContain(STAGE_METRICS[key].cloudwatch);
        }
        const names = new Set(docs.flat().flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)));
        for (const key of EXPECTED[stage]) expect([...names], `${stage}: ${STAGE_METRICS[key].cloudwatch}`).toContain(STAGE_METRICS[key].cloudwatch);
      }
      expect(sum(processDocs, "EventsIn")).toBe(INPUT_EVENTS);
      expect(sum(processDocs, "DeadLetters")).toBe(1);
      expect(sum(indexDocs, "EventsOut")).toBe(sum(processDocs, "EventsOut") - sum(processDocs, "DeferredEvents"));
      expect(sum(indexDocs, "Batches")).toBe(indexDocs.length);
    } finally {
      await producer.close();
      await queue.close();
      await index.close();
      await cluster.stop();
      await opensearch.close();
    }
  }, 120_000);
});
