/**
 * Stage-metrics compliance on one machine: the real stage runner over the embedded queue, with the real
 * Prometheus registry, emits core's STAGE_METRICS for every stage under the same names as the MSK driver
 * on Lambda (test/lambda/stage-compliance.test.ts runs the same input there). And the failures the
 * embedded queue handles itself — a consumer whose handler fails — are logged, with their partition.
 */
import { describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, MemoryLogger, processedTopic, RAW_TOPIC, STAGE_METRICS, type QueueProducer } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { StageRunner } from "@unmeltable/runner";
import { PrometheusMetrics } from "../../packages/runtime/src/prometheus";
import { waitFor } from "../helpers/program";
import { complianceInput, compliancePlans, EXPECTED, INPUT_EVENTS, OVER_PLAN } from "../helpers/stage-compliance";
import { openStageQueue } from "../helpers/stage-queue";
import { tempDirs } from "../helpers/temp-dirs";

const tmp = tempDirs("compliance");

/** The values of a metric's series (Prometheus text) whose labels include `labels`, summed. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

describe("stage metrics on one machine (the stage runner)", () => {
  it("every stage emits the standard set, and the metrics of what its input made happen, under core's names", async () => {
    const { queue, index, producer } = await openStageQueue(tmp);
    const metrics = new PrometheusMetrics();
    const common = { queue, producer, metrics, batchWindowMs: 20 };
    const runners = [
      new StageRunner({ ...common, name: "process", group: "process", topics: [RAW_TOPIC], stage: createProcessStage({ tierOf: () => "default", plans: compliancePlans() }) }),
      new StageRunner({ ...common, name: "index", group: "index", topics: [processedTopic("default")], stage: createIndexStage({ index }) }),
    ];
    try {
      await producer.send(RAW_TOPIC, complianceInput());
      for (const r of runners) r.start();
      const M = STAGE_METRICS;
      let text = "";
      await waitFor(
        "the process stage's input read and the index stage's output indexed",
        async () => {
          text = await metrics.text();
          const processed = value(text, M.eventsOut.name, { stage: "process" }) ?? 0;
          const deferred = value(text, M.deferred.name, {}) ?? 0;
          return value(text, M.eventsIn.name, { stage: "process" }) === INPUT_EVENTS && processed > 0 && value(text, M.eventsOut.name, { stage: "index" }) === processed - deferred;
        },
        60_000,
      );
      for (const [stage, keys] of Object.entries(EXPECTED)) {
        for (const key of keys) {
          const m = STAGE_METRICS[key];
          // Histograms: observed at least once (their _count); counters: counted.
          const series = m.kind === "histogram" ? `${m.name}_count` : m.name;
          const labels: Record<string, string> = key === "deferred" ? { tenant: OVER_PLAN } : { stage };
          expect(value(text, series, labels), `${stage}: ${series}`).toBeGreaterThan(0);
        }
      }
      // The dead letter by its reason, the deferred events by their tenant.
      expect(text).toMatch(new RegExp(`${STAGE_METRICS.deadLetters.name}\\{reason="[a-z_]+",stage="process"\\} 1`));
      expect(value(text, STAGE_METRICS.deferred.name, { tenant: "acme" })).toBeUndefined();
      // No latency as a counter any more: batch time and lag are histograms with buckets.
      expect(text).not.toMatch(/unmeltable_stage_batch_ms_total/);
      expect(text).toMatch(/unmeltable_stage_batch_seconds_bucket\{le="0\.1",stage="index"\}/);
    } finally {
      for (const r of runners) await r.stop();
      await producer.close();
      await queue.close();
      await index.close();
    }
  });

  it("a consumer's failing handler is logged by the embedded queue, with its group and partition, and the batch comes again", async () => {
    const logger = new MemoryLogger();
    const queue = await EmbeddedQueue.open({ dir: tmp(), logger });
    const producer = queue.producer();
    await queue.admin.ensureTopics([{ name: "work", partitions: 1 }, { name: "out", partitions: 1 }]);
    // The stage's output cannot be written the first two times (a full disk, say): the runner hands the batch back.
    let failures = 2;
    const flaky: QueueProducer = {
      send: async (topic, records, options) => {
        if (failures-- > 0) throw new Error("no space left on device");
        return producer.send(topic, records, options);
      },
      close: async () => undefined,
    };
    const runner = new StageRunner({
      name: "copy",
      queue,
      producer: flaky,
      group: "copy",
      topics: ["work"],
      metrics: new PrometheusMetrics(),
      logger,
      stage: async (records) => ({ outcomes: records.map(() => ({ status: "ok" as const })), output: [{ topic: "out", records: records.map((r) => ({ key: r.key ?? "k", value: r.value })) }], deadLetters: [], eventsIn: records.length, eventsOut: records.length }),
      batchWindowMs: 0,
    });
    try {
      await producer.send("work", [{ key: "k", value: Buffer.from("one") }]);
      runner.start();
      await waitFor("the record copied after the failures", async () => (await queue.admin.offsets("out"))[0]!.end === 1, 60_000);
      const line = logger.lines.find((l) => l.message.startsWith("consumer's handler failed"));
      expect(line).toMatchObject({ level: "warn", fields: { group: "copy", topic: "work", partition: 0, offset: 0, attempt: 1, error: "no space left on device" } });
      // The runner's own line says what the stage could not do, bound to its stage.
      expect(logger.lines.find((l) => l.fields.stage === "copy" && l.level === "warn")?.message).toMatch(/could not write the stage's output: no space left on device/);
    } finally {
      await runner.stop();
      await producer.close();
      await queue.close();
    }
  });
});
