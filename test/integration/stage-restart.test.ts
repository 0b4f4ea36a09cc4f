import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger, type QueueRecord, type StageResult } from "@unmeltable/core";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { StageRunner } from "@unmeltable/runner";
import { PrometheusMetrics } from "../../packages/runtime/src/prometheus";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { waitFor } from "../helpers/program";

/**
 * A stage outlives its Kafka consumer: when the consumer fails (here: it cannot join its group while
 * every broker is down), the runner starts a new one, and the records waiting in the topic are handled
 * once the brokers are back. Real broker (librdkafka's mock cluster), real client, real runner.
 */
describe("a stage whose consumer fails", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  beforeAll(async () => {
    cluster = await startMockCluster(3);
    await cluster.createTopics([{ name: "work", partitions: 2 }, { name: "deadletter", partitions: 1 }]);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000, createTopics: (t) => cluster.createTopics(t) });
  });
  afterAll(async () => {
    await queue.close();
    await cluster.stop();
  });

  it("is started again and handles every record once the brokers are back", async () => {
    const producer = queue.producer();
    const seen: string[] = [];
    const logger = new MemoryLogger();
    const metrics = new PrometheusMetrics();
    const runner = new StageRunner({
      name: "test",
      queue,
      producer,
      group: "restart-test",
      topics: ["work"],
      stage: async (records: QueueRecord[]): Promise<StageResult> => {
        for (const r of records) seen.push(r.value.toString());
        return { outcomes: records.map(() => ({ status: "ok" })), output: [], deadLetters: [], eventsIn: records.length, eventsOut: records.length };
      },
      metrics,
      logger,
    });
    for (const id of cluster.brokerIds) await cluster.command(`down ${id}`);
    runner.start();
    try {
      await waitFor("the stage's consumer to fail and be started again", async () => logger.lines.some((l) => l.message.includes("starting it again")), 60_000);
      // A warning, with the stage bound to the line.
      expect(logger.lines.find((l) => l.message.includes("starting it again"))).toMatchObject({ level: "warn", fields: { stage: "test" } });
      for (const id of cluster.brokerIds) await cluster.command(`up ${id}`);
      const sent = Array.from({ length: 50 }, (_, i) => `record ${i}`);
      await producer.send("work", sent.map((v, i) => ({ key: String(i), value: Buffer.from(v) })));
      await waitFor("every record handled", async () => sent.every((v) => seen.includes(v)), 90_000);
      expect(new Set(seen)).toEqual(new Set(sent));
      expect(await metrics.text()).toMatch(/unmeltable_stage_restarts_total\{stage="test"\} [1-9]/);
    } finally {
      await runner.stop();
      await producer.close();
    }
  }, 180_000);
});
