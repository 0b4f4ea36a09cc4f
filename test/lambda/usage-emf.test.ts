/**
 * Per-tenant usage on AWS: the real Powertools EMF output of EmfUsage carries the tenant as a property of
 * the line (Logs Insights groups by it) and never as a dimension (no CloudWatch metric per tenant), one
 * line per tenant per invocation, with the function's usual dimensions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createIndexStage, createProcessStage, encodeRawBatch, newEventId, noLogger, noMetrics, type QueueRecord, type RawRecord } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { captureEmfLines } from "../helpers/emf-lines";

const FUNCTION = "unmeltable-prod-IndexFunctionDefault-abc123";
const { lines, lambda: loaded } = captureEmfLines(FUNCTION);


type Doc = { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;

describe("EmfUsage", () => {
  it("writes one line per tenant at the end of the invocation: tenant a property, not a dimension", () => {
    const usage = new (loaded().EmfUsage)();
    usage.ingested("acme", 3, 300);
    usage.ingested("acme", 2, 200);
    usage.indexed({ tenant: "acme", events: 5, bytes: 2000, lagsMs: Array.from({ length: 100 }, (_, i) => i + 1) });
    usage.deadLettered("acme", 1, 40);
    usage.indexed({ tenant: "globex", events: 1, bytes: 10, lagsMs: [7] });
    const before = lines.length;
    expect(lines.length).toBe(before); // nothing before the flush
    usage.flush();
    const docs = lines.slice(before).map((l) => JSON.parse(l) as Doc);
    expect(docs).toHaveLength(2);
    const acme = docs.find((d) => d.tenant === "acme")!;
    expect(acme).toMatchObject({
      tenant: "acme",
      FunctionName: FUNCTION,
      service: "unmeltable",
      TenantEventsIn: 5,
      TenantBytesIn: 500,
      TenantIndexed: 5,
      TenantIndexedBytes: 2000,
      TenantDeadLetters: 1,
      TenantDeadLetterBytes: 40,
      TenantLagMaxMs: 100,
      TenantLagP99Ms: 100,
    });
    for (const d of docs) {
      const cw = d._aws.CloudWatchMetrics[0]!;
      expect(cw.Namespace).toBe("unmeltable");
      for (const set of cw.Dimensions) expect(set).not.toContain("tenant");
      expect([...cw.Dimensions[0]!].sort()).toEqual(["FunctionName", "service"]);
    }
    const globex = docs.find((d) => d.tenant === "globex")!;
    expect(globex.TenantIndexed).toBe(1);
    expect(globex.TenantEventsIn).toBeUndefined();
    expect(globex._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).sort()).toEqual(["TenantIndexed", "TenantIndexedBytes", "TenantLagMaxMs", "TenantLagP99Ms"]);
    // A second flush without new counts writes nothing.
    usage.flush();
    expect(lines.length).toBe(before + 2);
  });
});

describe("the MSK driver reports usage per invocation", () => {
  const raw = (tenant: string, text: string): RawRecord => ({ id: newEventId(), tenant, receivedAt: Date.now() - 2000, transport: "http", remote: "127.0.0.1", collector: "c1", tags: [], raw: text });
  /** The stages' output as the driver produces it: kept here to feed the next stage. */
  const produced: { topic: string; records: { key: string | null; value: Buffer }[] }[] = [];
  const producer = async () => ({
    send: async (topic: string, records: { key: string | null; value: Buffer }[]) => {
      produced.push({ topic, records });
      return [];
    },
    close: async () => undefined,
  });
  const fields = (MSK: QueueRecord[]) => {
    const records: Record<string, { topic: string; partition: number; offset: number; timestamp: number; timestampType: string; key: string; value: string; headers: [] }[]> = {};
    for (const r of MSK) (records[`${r.topic}-${r.partition}`] ??= []).push({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, timestampType: "CREATE_TIME", key: Buffer.from(r.key ?? "").toString("base64"), value: r.value.toString("base64"), headers: [] });
    return { records } as never;
  };

  it("process: each tenant's raw events in; index: each tenant's first writes with their lag, and the dead letters", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-emf-"));
    const index = new EmbeddedIndex({ dir, writer: "inline" });
    try {
      const acmeEvents = [raw("acme", "one"), raw("acme", "twoo"), raw("acme", "three")];
      const rawRecords: QueueRecord[] = [
        { topic: "raw", partition: 0, offset: 1, key: "acme", value: encodeRawBatch("acme", "c1", acmeEvents), timestamp: Date.now(), headers: {} } as QueueRecord,
        { topic: "raw", partition: 1, offset: 7, key: "globex", value: encodeRawBatch("globex", "c1", [raw("globex", "g")]), timestamp: Date.now(), headers: {} } as QueueRecord,
        { topic: "raw", partition: 1, offset: 8, key: "globex", value: Buffer.from("not a raw batch"), timestamp: Date.now(), headers: {} } as QueueRecord,
      ];
      const base = { producer, errorHandling: "provisioned" as const, metrics: noMetrics, logger: noLogger };
      const processHandler = loaded().createMskHandler({ ...base, stage: createProcessStage({ tierOf: () => "default" }), stageName: "process", usage: new (loaded().EmfUsage)() });
      let before = lines.length;
      await processHandler(fields(rawRecords));
      const processDocs = lines.slice(before).map((l) => JSON.parse(l) as Doc);
      const acme = processDocs.find((d) => d.tenant === "acme")!;
      expect(acme).toMatchObject({ TenantEventsIn: 3, TenantBytesIn: "one".length + "twoo".length + "three".length });
      // The undecodable record is globex's (its key) and goes to the dead letters, counted as globex's.
      expect(processDocs.find((d) => d.tenant === "globex")).toMatchObject({ TenantEventsIn: 1, TenantBytesIn: 1, TenantDeadLetters: 1, TenantDeadLetterBytes: "not a raw batch".length });
      expect(processDocs).toHaveLength(2);

      const processed = produced.filter((p) => p.topic === "processed.default").flatMap((p) => p.records);
      const indexRecords = processed.map((r, i) => ({ topic: "processed.default", partition: 0, offset: i, key: r.key, value: r.value, timestamp: Date.now(), headers: {} }) as QueueRecord);
      const indexHandler = loaded().createMskHandler({ ...base, stage: createIndexStage({ index }), stageName: "index", usage: new (loaded().EmfUsage)() });
      before = lines.length;
      await indexHandler(fields(indexRecords));
      const indexDocs = lines.slice(before).map((l) => JSON.parse(l) as Doc);
      expect(indexDocs.map((d) => d.tenant).sort()).toEqual(["acme", "globex"]);
      const indexed = indexDocs.find((d) => d.tenant === "acme")!;
      expect(indexed.TenantIndexed).toBe(3);
      expect(indexed.TenantIndexedBytes as number).toBeGreaterThan(3 * 100);
      expect(indexed.TenantLagMaxMs as number).toBeGreaterThanOrEqual(2000);
      for (const d of indexDocs) for (const set of d._aws.CloudWatchMetrics[0]!.Dimensions) expect(set).not.toContain("tenant");
      // Delivered again: every event exists already, so no usage line at all.
      before = lines.length;
      await indexHandler(fields(indexRecords));
      expect(lines.length).toBe(before);
    } finally {
      await index.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
