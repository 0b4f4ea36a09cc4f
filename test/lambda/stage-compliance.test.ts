/**
 * Stage-metrics compliance on Lambda: the MSK driver, with the real Powertools EMF output, emits core's
 * STAGE_METRICS for every stage (as CloudWatch names them) on the same input as the stage runner on one
 * machine (test/integration/stage-compliance.test.ts), and writes them once per invocation: one EMF
 * document per dimension set, however many batches and increments. The stages' output goes to a real
 * queue (the embedded one), from which the index stage's invocation is fed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, DEAD_LETTER_TOPIC, deferredTopic, MemoryLogger, processedTopic, RAW_TOPIC, STAGE_METRICS, type QueueRecord } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { complianceInput, compliancePlans, EXPECTED, INPUT_EVENTS, OVER_PLAN } from "../helpers/stage-compliance";

const FUNCTION = "unmeltable-prod-ProcessFunction-compliance";
const lines: string[] = [];
let restore: () => void;
let lambda: typeof import("@unmeltable/lambda");
const dirs: string[] = [];

beforeAll(async () => {
  process.env.AWS_LAMBDA_FUNCTION_NAME = FUNCTION;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) lines.push(...text.split("\n").filter((l) => l.includes('"_aws"')));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  restore = () => (process.stdout.write = write);
  lambda = await import("@unmeltable/lambda");
});
afterAll(() => {
  restore();
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "unmeltable-compliance-lambda-"));
  dirs.push(d);
  return d;
};

type Doc = { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;

/** The records of a topic as an MSK event (base64 keys and values, grouped by "topic-partition"). */
async function mskEvent(queue: EmbeddedQueue, topic: string) {
  const records: Record<string, unknown[]> = {};
  for (const { partition, start, end } of await queue.admin.offsets(topic)) {
    if (end === start) continue;
    const read: QueueRecord[] = await queue.reader.read(topic, partition, start, end - start);
    records[`${topic}-${partition}`] = read.map((r) => ({ topic, partition, offset: r.offset, timestamp: r.timestamp, timestampType: "CREATE_TIME", key: Buffer.from(r.key ?? "").toString("base64"), value: r.value.toString("base64"), headers: [] }));
  }
  return { records } as never;
}

describe("stage metrics on Lambda (the MSK driver)", () => {
  it("every stage emits the standard set under CloudWatch's names of core's metrics, one EMF document per dimension set per invocation", async () => {
    const queue = await EmbeddedQueue.open({ dir: tmp() });
    const index = new EmbeddedIndex({ dir: tmp(), writer: "inline" });
    const producer = queue.producer();
    await queue.admin.ensureTopics([
      { name: RAW_TOPIC, partitions: 2 },
      { name: processedTopic("default"), partitions: 2 },
      { name: deferredTopic("default"), partitions: 2 },
      { name: DEAD_LETTER_TOPIC, partitions: 1 },
    ]);
    await producer.send(RAW_TOPIC, complianceInput());
    const logger = new MemoryLogger();
    const base = { producer: async () => producer, errorHandling: "provisioned" as const, logger };
    const invoke = async (stageName: "process" | "index", handler: ReturnType<typeof lambda.createMskHandler>, topic: string) => {
      const before = lines.length;
      expect((await handler(await mskEvent(queue, topic))).batchItemFailures).toEqual([]);
      // The per-tenant usage lines (EmfUsage) are not the stage metrics.
      return lines.slice(before).map((l) => JSON.parse(l) as Doc).filter((d) => d.tenant === undefined);
    };
    try {
      const docs = {
        process: await invoke("process", lambda.createMskHandler({ ...base, stage: createProcessStage({ tierOf: () => "default", plans: compliancePlans() }), stageName: "process", metrics: new lambda.EmfMetrics(), usage: new lambda.EmfUsage() }), RAW_TOPIC),
        index: await invoke("index", lambda.createMskHandler({ ...base, stage: createIndexStage({ index }), stageName: "index", metrics: new lambda.EmfMetrics(), usage: new lambda.EmfUsage() }), processedTopic("default")),
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
});
