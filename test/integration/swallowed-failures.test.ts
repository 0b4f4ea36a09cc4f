/**
 * Failures a part handles itself (it retries, or keeps its last good state) are said in the log, with
 * what they concern: the dead-letter writer's retries until its letters are durable, the tenants
 * table's re-reads, the embedded queue's retention runs. Real parts: the embedded queue, the SQLite
 * tenants table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEAD_LETTER_TOPIC, MemoryLogger, noMetrics, type QueueProducer } from "@unmeltable/core";
import { DeadLetterWriter } from "@unmeltable/collector";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { TenantStore } from "@unmeltable/runtime";
import { waitFor } from "../helpers/program";
import { tempDirs } from "../helpers/temp-dirs";

const tmp = tempDirs("swallowed");

describe("failures handled in place are logged", () => {
  it("the dead-letter writer says it retries, and that the letters went through", async () => {
    const queue = await EmbeddedQueue.open({ dir: tmp() });
    await queue.admin.ensureTopics([{ name: DEAD_LETTER_TOPIC, partitions: 1 }]);
    const producer = queue.producer();
    let failures = 3;
    const flaky: QueueProducer = {
      send: async (topic, records, options) => {
        if (failures-- > 0) throw new Error("queue unavailable");
        return producer.send(topic, records, options);
      },
      close: async () => undefined,
    };
    const logger = new MemoryLogger();
    const writer = new DeadLetterWriter(flaky, noMetrics.counter("d", "d"), { logger: logger.child({ component: "collector" }) });
    try {
      writer.refuse({ stage: "collector", reason: "unknown_token", error: "no tenant has this token", at: Date.now() }, Buffer.from("hello"));
      await writer.flush();
      expect((await queue.admin.offsets(DEAD_LETTER_TOPIC))[0]!.end).toBe(1);
      expect(logger.lines[0]).toMatchObject({ level: "warn", message: "could not write dead letters; retrying", fields: { component: "collector", letters: 1, attempt: 1, error: "queue unavailable" } });
      expect(logger.lines.at(-1)).toMatchObject({ level: "info", message: "dead letters written after retries", fields: { attempts: 4 } });
    } finally {
      await producer.close();
      await queue.close();
    }
  });

  it("a tenants table that cannot be re-read keeps the last good tenants, and says so", async () => {
    const store = new TenantStore(tmp());
    store.add("acme");
    const logger = new MemoryLogger();
    const live = store.liveDirectory(20, logger);
    try {
      expect(live.byName("acme")).toBeDefined();
      // The table goes away under the poller (here: closed).
      store.close();
      await waitFor("the failed re-read logged", async () => logger.lines.some((l) => l.level === "warn"), 30_000);
      expect(logger.lines.find((l) => l.level === "warn")).toMatchObject({ message: "could not re-read the tenants table; the last good tenants stay in use", fields: { failedPolls: 1 } });
      expect(live.byName("acme")).toBeDefined();
    } finally {
      live.stop();
    }
  });

  it("a retention run that fails is logged, and retention keeps running", async () => {
    const dir = tmp();
    const logger = new MemoryLogger();
    const queue = await EmbeddedQueue.open({ dir, logger, retentionCheckMs: 50 });
    try {
      await queue.admin.ensureTopics([{ name: "work", partitions: 1 }]);
      // A consumer group's offsets file that cannot be read (cut short by a crash of another tool, say).
      mkdirSync(path.join(dir, "groups", "reader"), { recursive: true });
      writeFileSync(path.join(dir, "groups", "reader", "work.json"), '{"0": 1');
      await waitFor("two failed retention runs logged", async () => logger.lines.filter((l) => l.message.startsWith("queue retention failed")).length >= 2, 30_000);
      expect(logger.lines.find((l) => l.message.startsWith("queue retention failed"))).toMatchObject({ level: "warn", fields: { queue: dir, everyMs: 50 } });
      expect(String(logger.lines[0]!.fields.error)).toMatch(/JSON/);
    } finally {
      await queue.close();
    }
  });
});
