/**
 * Usage through the real stage runner over the embedded queue: the process and index stages report each
 * tenant's indexed events and dead letters once their output is durable; the process stage's raw events
 * count as ingest only where no collector in the process does (`unmeltable stages`).
 */
import { describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, encodeRawBatch, newEventId, noMetrics, processedTopic, RAW_TOPIC, UsageTally, type RawRecord } from "@unmeltable/core";
import { StageRunner } from "@unmeltable/runner";
import { waitFor } from "../helpers/program";
import { openStageQueue } from "../helpers/stage-queue";
import { tempDirs } from "../helpers/temp-dirs";

const tmp = tempDirs("usage-stages");

const raw = (tenant: string, text: string): RawRecord => ({ id: newEventId(), tenant, receivedAt: Date.now(), transport: "http", remote: "127.0.0.1", collector: "c1", tags: [], raw: text });

describe("the stage runner's usage reports", () => {
  for (const fromStage of [true, false]) {
    it(`counts indexed events and dead letters per tenant; ingest from the process stage: ${fromStage}`, async () => {
      const { queue, index, producer } = await openStageQueue(tmp);
      const tally = new UsageTally();
      const common = { queue, producer, metrics: noMetrics, usage: tally, batchWindowMs: 20 };
      const runners = [
        new StageRunner({ ...common, name: "process", group: "process", topics: [RAW_TOPIC], stage: createProcessStage({ tierOf: () => "default" }), usageIngestFromStage: fromStage }),
        new StageRunner({ ...common, name: "index.default", group: "index.default", topics: [processedTopic("default")], stage: createIndexStage({ index }) }),
      ];
      try {
        await producer.send(RAW_TOPIC, [
          { key: "acme", value: encodeRawBatch("acme", "c1", Array.from({ length: 20 }, (_, i) => raw("acme", `acme ${i}`))) },
          { key: "globex", value: encodeRawBatch("globex", "c1", [raw("globex", "hello")]) },
          { key: "globex", value: Buffer.from("garbage") },
        ]);
        for (const r of runners) r.start();
        const rows = new Map<string, ReturnType<UsageTally["drain"]>[number]>();
        await waitFor(
          "every event indexed and the dead letter counted",
          async () => {
            for (const r of tally.drain()) {
              const had = rows.get(r.tenant);
              if (!had) rows.set(r.tenant, r);
              else for (const k of ["events", "bytes", "indexed", "indexedBytes", "deadLettered", "deadLetteredBytes"] as const) had[k] += r[k];
            }
            return rows.get("acme")?.indexed === 20 && rows.get("globex")?.indexed === 1 && rows.get("globex")?.deadLettered === 1;
          },
          60_000,
        );
        const acmeBytes = Array.from({ length: 20 }, (_, i) => `acme ${i}`.length).reduce((a, b) => a + b, 0);
        expect(rows.get("acme")).toMatchObject({ indexed: 20, deadLettered: 0, events: fromStage ? 20 : 0, bytes: fromStage ? acmeBytes : 0 });
        expect(rows.get("globex")).toMatchObject({ indexed: 1, deadLettered: 1, deadLetteredBytes: "garbage".length, events: fromStage ? 1 : 0 });
      } finally {
        for (const r of runners) await r.stop();
        await producer.close();
        await queue.close();
        await index.close();
      }
    });
  }
});
