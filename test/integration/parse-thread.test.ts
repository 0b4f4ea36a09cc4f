import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessStage, decodeProcessedDocs, encodeRawBatch, MemoryLogger, processedTopic, startWorker, toEvent, type QueueRecord, type RawRecord, type StageResult } from "@unmeltable/core";
import { ParseThread } from "@unmeltable/runner";

/**
 * In `start` the process stage parses on a worker thread of its own (runner's ParseThread, issue 16). Its
 * answers must be exactly those of the inline parsing that Lambda runs — the same documents, dead letters,
 * counts and per-tenant ingest — and a thread that dies must fail only the batches it held (the runner
 * delivers them again) and come back. Real worker threads, real raw batches.
 */

function raw(tenant: string, n: number, text: string, extra: Partial<RawRecord> = {}): RawRecord {
  return {
    id: `0190f0c2-0000-7000-8000-${String(n).padStart(12, "0")}`,
    tenant,
    receivedAt: 1_733_000_000_000 + n,
    transport: "tcp",
    remote: "10.0.0.9",
    collector: "c1",
    tags: ["web"],
    raw: text,
    ...extra,
  };
}

/** Queue records as the runner hands them: values are views into one larger buffer, as a segment read gives. */
function queueRecords(values: Buffer[]): QueueRecord[] {
  const whole = Buffer.concat([Buffer.from("padding before"), ...values]);
  let at = "padding before".length;
  return values.map((v, offset) => {
    const value = whole.subarray(at, at + v.length);
    at += v.length;
    return { topic: "raw", partition: 0, offset, key: null, value, timestamp: 0, headers: {} };
  });
}

const acme = [
  raw("acme", 1, "<165>1 2024-12-01T10:00:00.000Z web1 nginx 12 - - GET /index.html 200 0.004"),
  raw("acme", 2, '{"level":"error","message":"disk full","ms":12}', { transport: "https", contentType: "application/json" }),
  raw("acme", 3, "Dec  1 10:00:01 host sshd[77]: Accepted publickey for deploy"),
];
const other = [
  raw("other", 4, "plain text with ünïcödé"),
  // Bytes that are not UTF-8: the record carries them exactly (rawBytes) and flags the event.
  raw("other", 5, "caf\uFFFD", { rawBytes: Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString("base64"), flags: ["invalid_utf8"] }),
];
const values = [
  encodeRawBatch("acme", "c1", acme),
  Buffer.from("this is not a raw batch"),
  encodeRawBatch("other", "c1", other),
];

function docsByTopic(result: StageResult): Record<string, { tenant: string; docs: unknown[] }[]> {
  const out: Record<string, { tenant: string; docs: unknown[] }[]> = {};
  for (const o of result.output) {
    out[o.topic] = o.records.map((r) => {
      const d = decodeProcessedDocs(r.value);
      return { tenant: d.tenant, docs: d.docs.map((s) => JSON.parse(s) as unknown) };
    });
  }
  return out;
}

/** What a result says, without the times at which dead letters were written. */
function comparable(result: StageResult) {
  return {
    outcomes: result.outcomes,
    docs: docsByTopic(result),
    deadLetters: result.deadLetters.map(({ at: _at, ...rest }) => rest),
    eventsIn: result.eventsIn,
    eventsOut: result.eventsOut,
    received: result.received,
    deferred: result.deferred,
  };
}

const threads: ParseThread[] = [];
afterEach(async () => {
  await Promise.all(threads.splice(0).map((t) => t.close()));
});

describe("the process stage parsing on its own thread", () => {
  it("answers exactly as the inline parsing does: documents, dead letters, counts, ingest per tenant", async () => {
    const thread = new ParseThread();
    threads.push(thread);
    const options = { tierOf: () => "default", maxRecordBytes: 400 };
    const inline = await createProcessStage(options)(queueRecords(values));
    const threaded = await createProcessStage({ ...options, parse: thread.parse })(queueRecords(values));
    expect(comparable(threaded)).toEqual(comparable(inline));

    // And what both say is right: the undecodable record is dead, the others ok; every event's document is
    // toEvent's, grouped per tenant, cut into records of at most maxRecordBytes of documents.
    expect(threaded.outcomes.map((o) => o.status)).toEqual(["ok", "dead", "ok"]);
    expect(threaded.deadLetters).toHaveLength(1);
    expect(threaded.deadLetters[0]).toMatchObject({ stage: "process", reason: "unparseable_record", source: "raw-0@1" });
    expect(threaded.eventsIn).toBe(5);
    expect(threaded.eventsOut).toBe(5);
    const records = docsByTopic(threaded)[processedTopic("default")]!;
    expect(records.length).toBeGreaterThan(2);
    const byTenant = (t: string) => records.filter((r) => r.tenant === t).flatMap((r) => r.docs);
    expect(byTenant("acme")).toEqual(acme.map((r) => JSON.parse(JSON.stringify(toEvent(r))) as unknown));
    expect(byTenant("other")).toEqual(other.map((r) => JSON.parse(JSON.stringify(toEvent(r))) as unknown));
    expect(byTenant("other")[1]).toMatchObject({ raw: "caf\uFFFD" });
    expect(threaded.received).toEqual([
      { tenant: "acme", events: 3, bytes: expect.any(Number) as unknown },
      { tenant: "other", events: 2, bytes: expect.any(Number) as unknown },
    ]);
  });

  it("samples the same events as the inline parsing", async () => {
    const thread = new ParseThread();
    threads.push(thread);
    const many = Array.from({ length: 400 }, (_, i) => raw("acme", 100 + i, `event number ${i}`));
    const batch = [encodeRawBatch("acme", "c1", many)];
    const options = { tierOf: () => "default", sampleRate: 0.25 };
    const inline = await createProcessStage(options)(queueRecords(batch));
    const threaded = await createProcessStage({ ...options, parse: thread.parse })(queueRecords(batch));
    expect(comparable(threaded)).toEqual(comparable(inline));
    expect(threaded.eventsIn).toBe(400);
    expect(threaded.eventsOut).toBeGreaterThan(0);
    expect(threaded.eventsOut).toBeLessThan(400);
  });

  it("fails the batches a dying thread held, says so, and parses again once it is started again", async () => {
    const logger = new MemoryLogger();
    let spawned = 0;
    const thread = new ParseThread({
      logger,
      spawn: () => {
        spawned++;
        // The first thread dies on its first batch; the next is the real one.
        if (spawned === 1) return new Worker("require('node:worker_threads').parentPort.on('message', () => process.exit(3));", { eval: true });
        return startWorker(new URL("../../packages/runner/src/parse-thread.ts", import.meta.url).href, "none.mjs", "parse-worker.ts", undefined);
      },
    });
    threads.push(thread);
    const stage = createProcessStage({ tierOf: () => "default", parse: thread.parse });

    await expect(stage(queueRecords(values))).rejects.toThrow(/parse thread exited with code 3; the batch is delivered again/);
    expect(logger.lines.some((l) => l.level === "error" && /parse thread exited with code 3/.test(l.message))).toBe(true);

    // Until the backoff has passed, a batch fails at once (the runner backs off and delivers it again).
    let result: StageResult | undefined;
    while (!result) {
      try {
        result = await stage(queueRecords(values));
      } catch (err) {
        expect((err as Error).message).toMatch(/starts again in \d+ ms/);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(spawned).toBe(2);
    expect(result.eventsOut).toBe(5);
    expect(comparable(result)).toEqual(comparable(await createProcessStage({ tierOf: () => "default" })(queueRecords(values))));
  });

  it("refuses work once closed", async () => {
    const thread = new ParseThread();
    await thread.close();
    await expect(createProcessStage({ tierOf: () => "default", parse: thread.parse })(queueRecords(values))).rejects.toThrow(/parse thread is closed/);
  });
});
