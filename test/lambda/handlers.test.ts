import { readTenants, ReloadingTenantDirectory, tokenSha256 } from "@unmeltable/tenants-config";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { APIGatewayProxyEventV2, MSKEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createIndexStage,
  decodeDeadLetter,
  decodeProcessedBatch,
  encodeRawBatch,
  newEventId,
  noLogger,
  noMetrics,
  parseQuery,
  type IndexPort,
  type LogEvent,
  type QueueRecord,
  type RawRecord,
} from "@unmeltable/core";
import { S3Store, type PieceRequest, type PieceResult } from "@unmeltable/archive";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { createMskHandler, indexPort, partitionBatches, PartitionsBlockedError, resetEnvironment } from "@unmeltable/lambda";
import { makeEvent } from "../contract/index.contract";
import { credentialCases, expectJudged } from "../helpers/credentials";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { toMskRecord } from "../helpers/esm";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { CookieJar, navigate, startTestIdp, type TestIdp } from "../helpers/oidc";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";

/**
 * The Lambda handlers in functions/, invoked with MSK events built to the documented shape
 * (test/fixtures/lambda/msk-event.json), running the real stage code against the Kafka test broker and
 * the embedded index.
 */
const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/lambda");
const template = JSON.parse(readFileSync(path.join(FIXTURES, "msk-event.json"), "utf8")) as MSKEvent;

function mskEvent(records: QueueRecord[]): MSKEvent {
  const grouped: MSKEvent["records"] = {};
  for (const r of records) {
    (grouped[`${r.topic}-${r.partition}`] ??= []).push(toMskRecord(r));
  }
  return { ...template, records: grouped };
}

function rawRecord(tenant: string, raw: string): RawRecord {
  return { id: newEventId(), tenant, receivedAt: Date.now(), transport: "tcp", remote: "10.0.0.9", collector: "c1", tags: ["lambda"], raw };
}

describe("MSK events", () => {
  it("decode to one ordered batch per partition, with key, value and headers", () => {
    const batches = partitionBatches(template);
    expect(batches).toHaveLength(1);
    const [r] = batches[0]!.records;
    expect(r).toMatchObject({ topic: "mytopic", partition: 0, offset: 15, timestamp: 1545084650987, headers: { headerKey: "headerValue" } });
    expect(r!.value.toString()).toBe("Hello, this is a test.");
  });
});

describe("the Lambda handlers", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  let s3: { close(): Promise<void> };
  let dir: string;
  const tenant = { name: "acme", ingestToken: randomUUID(), apiToken: randomUUID(), tier: "default" };
  const big = { name: "big", ingestToken: randomUUID(), apiToken: randomUUID(), tier: "default", partitionSpread: 2 };
  // A plan of 1 event/s (a minute's allowance: 60 events) over two raw partitions: each process container
  // meters half of it (docs/plans.md, "Limits of the metering").
  const metered = { name: "metered", ingestToken: randomUUID(), apiToken: randomUUID(), tier: "default", partitionSpread: 2, plan: { bytesPerDay: 10_000_000_000, eventsPerSecond: 1 } };
  const marker = randomUUID().slice(0, 8);
  type Handler<E, R> = (event: E, context: unknown) => Promise<R>;
  let processHandler: Handler<MSKEvent, { batchItemFailures: unknown[] }>;
  let indexHandler: Handler<MSKEvent, { batchItemFailures: unknown[] }>;
  let searchHandler: Handler<APIGatewayProxyEventV2, { statusCode: number; body: string }>;
  let topicsHandler: Handler<Record<string, unknown>, { topics: { name: string }[] }>;
  let alertsHandler: Handler<Record<string, unknown>, { alerts: number; fired: number }>;
  let archiveHandler: Handler<{ day?: string }, { day: string; pieces: number; events: number; manifests: { day: string; events: number; files: number }[] }>;
  let archiveWorkerHandler: Handler<PieceRequest, PieceResult>;
  let lifecycleHandler: Handler<Record<string, unknown>, { prepared: { tenant: string }[]; resliced: { tenant: string; to: string }[] }>;
  let idp: TestIdp;
  /** How long a warm process container keeps a tenant's derived-field rules (functions/process.ts). */
  let derivedRulesTtlMs: number;
  const context = { functionName: "test", awsRequestId: "r1", getRemainingTimeInMillis: () => 60_000 };

  beforeAll(async () => {
    cluster = await startMockCluster(3);
    await cluster.createTopics([
      { name: "raw", partitions: 2 },
      { name: "deadletter", partitions: 1 },
      { name: "processed.default", partitions: 2 },
      { name: "deferred.default", partitions: 1 },
    ]);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-lambda-"));
    // big's tokens are kept as their SHA-256 only, as `unmeltable aws tenants add` writes them.
    const { ingestToken: bigIngest, apiToken: bigApi, ...bigRest } = big;
    writeFileSync(path.join(dir, "tenants.json"), JSON.stringify([tenant, { ...bigRest, ingestTokenSha256: tokenSha256(bigIngest), apiTokenSha256: tokenSha256(bigApi) }, metered]));
    const port = await startS3(0);
    // Single sign-on's provider (a real one on loopback); its users come back to the UI's address.
    idp = await startTestIdp("https://logs.example.com/auth/sso/callback");
    Object.assign(process.env, { UNMELTABLE_OIDC_ISSUER: idp.issuer, UNMELTABLE_OIDC_CLIENT_ID: idp.clientId, UNMELTABLE_OIDC_CLIENT_SECRET: idp.clientSecret, UNMELTABLE_OIDC_NAME: "Corp SSO" });
    Object.assign(process.env, {
      UNMELTABLE_ARCHIVE_BUCKET: "archive",
      UNMELTABLE_ALERTS: "s3://config/alerts/",
      UNMELTABLE_ACCOUNTS: "s3://config/accounts/",
      // Admins manage ingest tokens from the UI: written into tenants.json (here a file, as updateTenants allows).
      UNMELTABLE_MANAGE_INGEST_TOKENS: "true",
      UNMELTABLE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      UNMELTABLE_PUBLIC_URL: "https://logs.example.com",
      // The alerts test's webhook receiver is on loopback: allowed as an operator would allow their own hooks.
      UNMELTABLE_WEBHOOK_ALLOW: "127.0.0.1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
    });
    Object.assign(process.env, {
      UNMELTABLE_KAFKA_BROKERS: cluster.brokers.join(","),
      UNMELTABLE_TENANTS: path.join(dir, "tenants.json"),
      UNMELTABLE_INDEX: "embedded",
      UNMELTABLE_INDEX_DIR: path.join(dir, "index"),
      UNMELTABLE_TIERS: "default",
      UNMELTABLE_PARTITIONS: "2",
      POWERTOOLS_METRICS_NAMESPACE: "unmeltable-test",
      POWERTOOLS_DEV: "true",
    });
    resetEnvironment();
    const processModule = await import("../../functions/process");
    processHandler = processModule.handler as never;
    derivedRulesTtlMs = processModule.DERIVED_RULES_TTL_MS;
    indexHandler = (await import("../../functions/index")).handler as never;
    searchHandler = (await import("../../functions/search")).handler as never;
    topicsHandler = (await import("../../functions/topics")).handler as never;
    lifecycleHandler = (await import("../../functions/lifecycle")).handler as never;
    archiveHandler = (await import("../../functions/archive")).handler as never;
    archiveWorkerHandler = (await import("../../functions/archive-worker")).handler as never;
    alertsHandler = (await import("../../functions/alerts")).handler as never;
  });

  /** The S3 server (s3rver) on `port` (0: any), over the test's directory: stopped and started again, it keeps its objects. */
  async function startS3(port: number): Promise<number> {
    const server = new S3rver({ port, address: "127.0.0.1", silent: true, directory: path.join(dir, "s3"), configureBuckets: [{ name: "archive" }, { name: "config" }] });
    const address = (await server.run()) as { port: number };
    s3 = server;
    return address.port;
  }

  afterAll(async () => {
    await queue.close();
    await cluster.stop();
    await s3.close();
    await idp?.close();
  });

  async function readAll(topic: string): Promise<QueueRecord[]> {
    const out: QueueRecord[] = [];
    for (const p of await queue.admin.offsets(topic)) if (p.end > p.start) out.push(...(await queue.reader.read(topic, p.partition, p.start, p.end - p.start)));
    return out;
  }

  it("topics: verifies the raw, dead-letter, processed and deferred topics on deploy", async () => {
    const result = await topicsHandler({}, context);
    expect(result.topics.map((t) => t.name).sort()).toEqual(["deadletter", "deferred.default", "processed.default", "raw"]);
  });

  it("process: parses raw batches into the tier's processed topic and dead-letters a poison record", async () => {
    const events = [rawRecord("acme", `<14>1 ${new Date().toISOString()} web-1 api - - - ${marker} hello`), rawRecord("acme", `{"level":"error","message":"${marker} boom"}`)];
    const raw: QueueRecord[] = [
      { topic: "raw", partition: 0, offset: 100, key: "acme", value: encodeRawBatch("acme", "c1", events.slice(0, 1)), timestamp: Date.now(), headers: {} },
      { topic: "raw", partition: 0, offset: 101, key: "acme", value: Buffer.from("not a raw batch"), timestamp: Date.now(), headers: {} },
      { topic: "raw", partition: 1, offset: 7, key: "acme", value: encodeRawBatch("acme", "c1", events.slice(1)), timestamp: Date.now(), headers: {} },
    ];
    const result = await processHandler(mskEvent(raw), context);
    expect(result.batchItemFailures).toEqual([]);
    const processed = (await readAll("processed.default")).flatMap((r) => decodeProcessedBatch(r.value).events);
    expect(processed.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(processed.find((e) => e.logtypes.includes("json"))?.event.json).toMatchObject({ level: "error" });
    const letters = (await readAll("deadletter")).map((r) => decodeDeadLetter(r.value));
    expect(letters).toEqual([expect.objectContaining({ stage: "process", reason: "unparseable_record", source: "raw-0@101" })]);
  });

  it("process: a tenant's processed records spread over its partitionSpread partitions of the tier's topic", async () => {
    const before = new Set((await readAll("processed.default")).map((r) => `${r.partition}@${r.offset}`));
    const raw: QueueRecord[] = Array.from({ length: 6 }, (_, i) => ({ topic: "raw", partition: 1, offset: 200 + i, key: "big", value: encodeRawBatch("big", "c1", [rawRecord("big", `spread ${i}`)]), timestamp: Date.now(), headers: {} }));
    // One processed record per tenant per invocation: six invocations, as six batches would be.
    for (const r of raw) expect((await processHandler(mskEvent([r]), context)).batchItemFailures).toEqual([]);
    const mine = (await readAll("processed.default")).filter((r) => !before.has(`${r.partition}@${r.offset}`) && decodeProcessedBatch(r.value).tenant === "big");
    expect(mine).toHaveLength(6);
    expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([0, 1]));
  });

  it("process: a tenant over its plan has its share of the plan indexed at once and the excess put on deferred.<tier>, nothing dropped", async () => {
    const before = await readAll("processed.default");
    const seen = new Set(before.map((r) => `${r.partition}@${r.offset}`));
    // 100 events received at the same moment: the container's share of a minute's allowance is 60 / 2 = 30.
    const at = Date.now();
    const events = Array.from({ length: 100 }, (_, i) => ({ ...rawRecord("metered", `metered ${marker} event ${i} ${"x".repeat(2_000)}`), receivedAt: at }));
    const raw: QueueRecord = { topic: "raw", partition: 0, offset: 300, key: "metered", value: encodeRawBatch("metered", "c1", events), timestamp: at, headers: {} };
    // What ops see in CloudWatch Logs: the function's log lines (Powertools JSON, on stdout or the console).
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const info = console.info;
    const warn = console.warn;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    console.info = (...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
      info(...args);
    };
    console.warn = (...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
      warn(...args);
    };
    // Warnings go to stderr (Powertools' console).
    const writeErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (writeErr as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      expect((await processHandler(mskEvent([raw]), context)).batchItemFailures).toEqual([]);
    } finally {
      process.stdout.write = write;
      console.info = info;
      console.warn = warn;
      process.stderr.write = writeErr;
    }
    const lines = logged.join("\n");
    expect(lines).toMatch(/tenant over its plan: its excess events go to the deferred path[^\n]*"tenant":\s*"metered"[^\n]*"reason":\s*"rate"/);
    expect(lines).toMatch(/events deferred \(tenants over plan\)[^\n]*"deferred":\s*\{\s*"metered":\s*70\s*\}/);
    const regular = (await readAll("processed.default")).filter((r) => !seen.has(`${r.partition}@${r.offset}`)).map((r) => decodeProcessedBatch(r.value)).filter((b) => b.tenant === "metered");
    const deferred = await readAll("deferred.default");
    const regularIds = regular.flatMap((b) => b.events.map((e) => e.id));
    const deferredIds = deferred.flatMap((r) => decodeProcessedBatch(r.value).events.map((e) => e.id));
    expect(regularIds).toEqual(events.slice(0, 30).map((e) => e.id));
    expect(deferredIds).toEqual(events.slice(30).map((e) => e.id));
    // Deferred records are cut small (128 KiB: the deferred mapping's batches stay short), keyed by tenant.
    expect(deferred.length).toBeGreaterThan(1);
    for (const r of deferred) {
      // Documents cut at 128 KiB, plus the record's framing (a length per document).
      expect(r.value.length).toBeLessThanOrEqual(128 * 1024 + 1024);
      expect(r.key).toBe("metered");
    }
    // Still over plan a moment later: a second batch goes to the deferred path whole.
    const more = [rawRecord("metered", `metered ${marker} late`)];
    expect((await processHandler(mskEvent([{ ...raw, offset: 301, value: encodeRawBatch("metered", "c1", more) }]), context)).batchItemFailures).toEqual([]);
    expect((await readAll("deferred.default")).flatMap((r) => decodeProcessedBatch(r.value).events.map((e) => e.id))).toContain(more[0]!.id);
    // Tenants without a plan (acme and big above) put nothing on it.
    expect(deferred.every((r) => decodeProcessedBatch(r.value).tenant === "metered")).toBe(true);
  });

  it("index: the deferred function (the index handler on deferred.<tier>) stores the over-plan events, idempotently, beside the regular ones", async () => {
    const regular = (await readAll("processed.default")).filter((r) => decodeProcessedBatch(r.value).tenant === "metered");
    const deferred = await readAll("deferred.default");
    expect(deferred[0]!.topic).toBe("deferred.default");
    expect((await indexHandler(mskEvent(regular), context)).batchItemFailures).toEqual([]);
    // The deferred mapping's batches: 20 records at most (stacks/config.ts DEFERRED), delivered twice.
    for (let i = 0; i < deferred.length; i += 20) {
      const batch = mskEvent(deferred.slice(i, i + 20));
      expect((await indexHandler(batch, context)).batchItemFailures).toEqual([]);
      expect((await indexHandler(batch, context)).batchItemFailures).toEqual([]);
    }
    const index = new EmbeddedIndex({ dir: path.join(dir, "index"), writer: "inline" });
    try {
      const found = await index.search({ tenant: "metered", query: parseQuery(marker), from: 0, until: Date.now() + 86_400_000 }, { order: "desc", size: 500 });
      // Every event: the 30 in plan, the 70 deferred and the late one, each once.
      expect(found.events).toHaveLength(101);
      expect(new Set(found.events.map((e) => e.id)).size).toBe(101);
    } finally {
      await index.close();
    }
  });

  it("index: stores the processed events once, however often the batch is delivered", async () => {
    const processed = await readAll("processed.default");
    expect((await indexHandler(mskEvent(processed), context)).batchItemFailures).toEqual([]);
    expect((await indexHandler(mskEvent(processed), context)).batchItemFailures).toEqual([]);
    const index = new EmbeddedIndex({ dir: path.join(dir, "index"), writer: "inline" });
    try {
      const found = await index.search({ tenant: "acme", query: parseQuery(marker), from: 0, until: Date.now() + 86_400_000 }, { order: "desc", size: 10 });
      expect(found.events).toHaveLength(2);
    } finally {
      await index.close();
    }
  });

  it("lifecycle: fits the slice length to the volume, writes it to the tenants config, and prepares the next slice", async () => {
    const report = await lifecycleHandler({}, context);
    // A handful of events a day against a 40 GB target: weekly slices.
    expect(report.resliced).toEqual(expect.arrayContaining([expect.objectContaining({ tenant: "acme", to: "week" })]));
    expect(report.prepared.map((p) => p.tenant)).toEqual(["acme", "big", "metered"]);
    const saved = JSON.parse(readFileSync(path.join(dir, "tenants.json"), "utf8")) as { name: string; slice: string }[];
    expect(saved.find((t) => t.name === "acme")?.slice).toBe("week");
  });

  it("archive worker: one piece of a raw partition to S3, answered with where the next piece starts", async () => {
    const at = Date.UTC(2026, 0, 6, 9);
    const [pos] = await queue.producer().send("raw", [{ key: "acme", partition: 1, value: encodeRawBatch("acme", "c1", [{ ...rawRecord("acme", "worker piece"), receivedAt: at }]), timestamp: at }]);
    const result = await archiveWorkerHandler({ partition: 1, from: pos!.offset, to: pos!.offset + 1 }, context);
    expect(result).toMatchObject({ piece: `1-${pos!.offset}`, first: pos!.offset, next: pos!.offset + 1, records: 1, events: 1, days: ["2026-01-06"] });
  });

  it("archive planner: a re-run of a day writes it to S3 (s3rver, the real S3 client); run again, nothing new is read", async () => {
    const at = Date.UTC(2026, 0, 7, 9);
    await queue.producer().send("raw", [{ key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", [{ ...rawRecord("acme", "archived"), receivedAt: at }]), timestamp: at }]);
    const result = await archiveHandler({ day: "2026-01-07" }, context);
    expect(result.day).toBe("2026-01-07");
    expect(result.manifests).toEqual(expect.arrayContaining([{ day: "2026-01-07", events: 1, files: 1, checksum: expect.any(String) }]));
    const again = await archiveHandler({ day: "2026-01-07" }, context);
    expect(again).toMatchObject({ pieces: 0, events: 0 });
    expect(again.manifests.find((m) => m.day === "2026-01-07")).toEqual(result.manifests.find((m) => m.day === "2026-01-07"));
  });

  it("alerts: an alert created through the search API (kept in S3) fires its webhook from the scheduled check", async () => {
    const received: unknown[] = [];
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    try {
      const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
      const spec = { name: "errors", query: marker, comparison: "above", threshold: 0, windowMinutes: 60, webhookUrl: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, enabled: true };
      const created = await searchHandler({ ...base, rawPath: "/apiv2/alerts", rawQueryString: "", body: JSON.stringify(spec), requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: "POST" } }, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);
      expect(created.statusCode).toBe(201);
      // The cloud metadata service is no webhook: refused when saved, as on one machine.
      const metadata = await searchHandler({ ...base, rawPath: "/apiv2/alerts", rawQueryString: "", body: JSON.stringify({ ...spec, webhookUrl: "http://169.254.169.254/latest/meta-data/iam/" }), requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: "POST" } }, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);
      expect(metadata.statusCode).toBe(400);
      expect(JSON.parse(metadata.body)).toMatchObject({ errors: [{ field: "webhookUrl", message: expect.stringContaining("169.254.169.254, a link-local address") }] });
      const config = await searchHandler({ ...base, rawPath: "/ui/config", rawQueryString: "", headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);
      expect(JSON.parse(config.body)).toMatchObject({ tenant: "acme", ingestToken: tenant.ingestToken });
      // A tenant kept by hashes is found by its API token; its ingest token cannot be shown again.
      const hashed = await searchHandler({ ...base, rawPath: "/ui/config", rawQueryString: "", headers: { ...base.headers, authorization: `bearer ${big.apiToken}` } }, context);
      expect(JSON.parse(hashed.body)).toMatchObject({ tenant: "big", ingestToken: null });
      const customer = await searchHandler({ ...base, rawPath: "/apiv2/customer", rawQueryString: "", headers: { ...base.headers, authorization: `bearer ${big.apiToken}` } }, context);
      expect(JSON.parse(customer.body)).toMatchObject({ tokens: [], subdomain: "big" });
      const wrong = await searchHandler({ ...base, rawPath: "/ui/config", rawQueryString: "", headers: { ...base.headers, authorization: `bearer ${tokenSha256(big.apiToken)}` } }, context);
      expect(wrong.statusCode).toBe(401);
      const result = await alertsHandler({}, context);
      expect(result).toEqual({ alerts: 1, fired: 1 });
      expect(received).toEqual([expect.objectContaining({ query: marker, count: 2, link: expect.stringMatching(/^https:\/\/logs\.example\.com\/#\/search\?/) })]);
    } finally {
      receiver.close();
    }
  });

  it("saved searches: kept in S3 through the search API; an alert built on one counts its current query in the scheduled check", async () => {
    const received: { alert: { name: string }; query: string; count: number }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    try {
      const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
      const call = async (method: string, rawPath: string, body?: unknown) => {
        const res = await searchHandler(
          { ...base, rawPath, rawQueryString: "", body: body === undefined ? undefined : JSON.stringify(body), requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method } }, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } },
          context,
        );
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, checked by the matchers below
        return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
      };
      // Saved first with a query that matches nothing, then changed: the alert must count the change.
      const created = await call("POST", "/apiv2/savedsearches", { name: "Marker", query: `${marker}-nothing`, from: "-520w" });
      expect(created.status).toBe(201);
      const id = created.body.savedsearch.id as string;
      expect((await call("POST", "/apiv2/savedsearches", { name: "marker" })).status).toBe(409);
      const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const alert = await call("POST", "/apiv2/alerts", { name: "on the saved search", savedSearchId: id, threshold: 0, windowMinutes: 60, webhookUrl: hook });
      expect(alert.status).toBe(201);
      expect(alert.body.alert).toMatchObject({ savedSearch: { id, name: "Marker" }, query: `${marker}-nothing` });
      expect((await call("PATCH", `/apiv2/savedsearches/${id}`, { query: marker })).body.savedsearch).toMatchObject({ query: marker, from: "-520w", alerts: [{ name: "on the saved search" }] });
      const listed = await call("GET", "/apiv2/savedsearches");
      expect(listed.body.savedsearches).toEqual([expect.objectContaining({ id, name: "Marker", query: marker })]);
      expect((await call("DELETE", `/apiv2/savedsearches/${id}`)).status).toBe(409);

      const result = await alertsHandler({}, context);
      // The earlier test's alert already fired in this window; this one fires on the saved search's query.
      expect(result).toEqual({ alerts: 2, fired: 1 });
      expect(received).toEqual([expect.objectContaining({ alert: expect.objectContaining({ name: "on the saved search" }), query: marker, count: 2 })]);
    } finally {
      receiver.close();
    }
  });

  it("search: answers Loggly's API through an API Gateway event", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const event = { ...base, rawQueryString: `q=${marker}&from=-520w&until=now`, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } };
    const res = await searchHandler(event, context);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ count: 2 });
    const denied = await searchHandler({ ...base, headers: { ...base.headers, authorization: "bearer nope" } }, context);
    expect(denied.statusCode).toBe(401);
  });

  it("search: exports a search's events as a file in one answer, bounded as API Gateway requires", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const headers = { ...base.headers, authorization: `bearer ${tenant.apiToken}` };
    const res = (await searchHandler({ ...base, rawPath: "/apiv2/events/export", rawQueryString: `q=${marker}&from=-520w&format=csv&fields=json.level`, headers }, context)) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ "Content-Type": "text/csv; charset=utf-8", "X-Unmeltable-Matched": "2" });
    expect(res.headers["X-Unmeltable-Truncated"]).toBeUndefined();
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe("timestamp,json.level");
    expect(lines).toHaveLength(3);
    const bad = await searchHandler({ ...base, rawPath: "/apiv2/events/export", rawQueryString: "format=xml", headers }, context);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: "UNM_BAD_REQUEST", message: expect.stringMatching(/format must be csv or ndjson/) });
  });

  it("search: judges credentials as the local server does (one table, test/helpers/credentials.ts), on the API, the alerts and saved searches APIs and /ui/config", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const headers = base.headers ?? {};
    for (const [surface, rawPath, rawQueryString] of [["retrieval API", "/apiv2/events/count", "q=*&from=-1h"], ["alerts API", "/apiv2/alerts", ""], ["saved searches API", "/apiv2/savedsearches", ""], ["web UI config", "/ui/config", ""]] as const) {
      for (const c of credentialCases(tenant.apiToken)) {
        const res = (await searchHandler({ ...base, rawPath, rawQueryString, headers: c.authorization === undefined ? headers : { ...headers, authorization: c.authorization } }, context)) as { statusCode: number; headers?: Record<string, string>; body: string };
        expectJudged(c, surface, res.statusCode, res.headers ?? {}, JSON.parse(res.body));
      }
    }
    // A wrong method is a 405 before any credentials are asked for, as the local server's route table answers it.
    const post = (await searchHandler({ ...base, requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: "POST" } }, headers }, context)) as { statusCode: number; headers?: Record<string, string>; body: string };
    expect([post.statusCode, post.headers?.Allow, JSON.parse(post.body).code]).toEqual([405, "GET, HEAD", "UNM_METHOD_NOT_ALLOWED"]);
  });

  it("search: a next cursor the index did not make is a coded 400 (not a 500)", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const next = Buffer.from(JSON.stringify({ q: "*", from: 0, until: Date.now(), order: "desc", size: 1, cursor: "not-a-cursor" })).toString("base64url");
    const res = await searchHandler({ ...base, rawPath: "/apiv2/events/iterate", rawQueryString: `next=${next}`, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ response: "error", code: "UNM_INVALID_CURSOR", message: "invalid next: use the value the API returned" });
  });

  it("search: /apiv2/search counts a result set once; its /apiv2/events pages, one invocation each, reuse the total from the rsid", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const call = async (rawPath: string, rawQueryString: string) => {
      const res = await searchHandler({ ...base, rawPath, rawQueryString, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);
      expect(res.statusCode).toBe(200);
      return JSON.parse(res.body) as { rsid: { id: string }; total_events: number; events: { id: string }[] };
    };
    // The index the function serves from (the environment's one instance), its counts counted.
    const index = await indexPort();
    const count = index.count;
    let counts = 0;
    index.count = (q) => {
      counts++;
      return count.call(index, q);
    };
    try {
      const { rsid } = await call("/apiv2/search", `q=${marker}&from=-520w&until=now&size=1`);
      expect(counts).toBe(1);
      const pages = [await call("/apiv2/events", `rsid=${rsid.id}&page=0`), await call("/apiv2/events", `rsid=${rsid.id}&page=1`)];
      expect(pages.map((p) => p.total_events)).toEqual([2, 2]);
      expect(new Set(pages.flatMap((p) => p.events.map((e) => e.id))).size).toBe(2);
      // An event arriving in the range leaves the result set's total as it was counted; a new search counts it.
      await index.write("acme", [JSON.stringify(makeEvent("acme", Date.now() - 60_000, { logmsg: `${marker} late` }))]);
      expect((await call("/apiv2/events", `rsid=${rsid.id}&page=2`)).total_events).toBe(2);
      expect(counts).toBe(1);
      const fresh = await call("/apiv2/search", `q=${marker}&from=-520w&until=now&size=1`);
      expect((await call("/apiv2/events", `rsid=${fresh.rsid.id}&page=2`)).total_events).toBe(3);
      expect(counts).toBe(2);
    } finally {
      index.count = count;
    }
  });

  // Derived fields on AWS: rules saved through the search function (S3, the config bucket's alerts/ prefix),
  // applied by the process function, which reads them again once its cached ones are DERIVED_RULES_TTL_MS old.
  const derivedMark = `d${randomUUID().slice(0, 8)}`;
  const took = { name: "request time", type: "regex", pattern: "took (?<ms>\\d+) ms for user=(?<user>\\w+)" };
  const configBucket = () => new S3Store("config", "alerts/", { endpoint: process.env.UNMELTABLE_S3_ENDPOINT, forcePathStyle: true });
  const api = async (method: string, rawPath: string, body?: unknown, token: string = tenant.apiToken, rawQueryString = "") => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    const res = await searchHandler(
      { ...base, rawPath, rawQueryString, body: body === undefined ? undefined : JSON.stringify(body), requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method } }, headers: { ...base.headers, authorization: `bearer ${token}` } },
      context,
    );
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, checked by the matchers below
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
  };
  /**
   * The process container's clock moved on by whole cache lifetimes (functions/process.ts reads Date.now):
   * what a warm container sees once DERIVED_RULES_TTL_MS has passed, without waiting for it. Only ever
   * moved forward, so that the rules cached in one test are never younger than the clock in the next.
   */
  let clockAhead = 0;
  const rulesGetOld = () => (clockAhead += derivedRulesTtlMs);
  const withClockAhead = async <T>(fn: () => Promise<T>): Promise<T> => {
    const realNow = Date.now;
    const spy = vi.spyOn(Date, "now").mockImplementation(() => realNow.call(Date) + clockAhead);
    try {
      return await fn();
    } finally {
      spy.mockRestore();
    }
  };
  let rawOffset = 500;
  const rawOf = (events: RawRecord[], partition: number): QueueRecord => ({ topic: "raw", partition, offset: rawOffset++, key: events[0]!.tenant, value: encodeRawBatch(events[0]!.tenant, "c1", events), timestamp: Date.now(), headers: {} });
  /** One invocation of the process function; the events it put on processed.default, by id. */
  const processed = async (raw: QueueRecord[]): Promise<Map<string, LogEvent>> => {
    const seen = new Set((await readAll("processed.default")).map((r) => `${r.partition}@${r.offset}`));
    expect((await processHandler(mskEvent(raw), context)).batchItemFailures).toEqual([]);
    const out = new Map<string, LogEvent>();
    for (const r of await readAll("processed.default")) if (!seen.has(`${r.partition}@${r.offset}`)) for (const e of decodeProcessedBatch(r.value).events) out.set(e.id, e);
    return out;
  };
  /** The function's log lines (Powertools JSON: info on stdout, warnings on stderr) while `fn` runs. */
  const logsOf = async (fn: () => Promise<void>): Promise<string> => {
    const logged: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) => {
      const write = stream.write.bind(stream);
      return vi.spyOn(stream, "write").mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logged.push(String(chunk));
        return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write);
    });
    try {
      await fn();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return logged.join("\n");
  };

  it("derived fields: rules kept in S3 through the search API: created, listed per tenant, previewed; an invalid one is a 400 naming each field", async () => {
    const created = await api("POST", "/apiv2/derivedfields", took);
    expect(created.status).toBe(201);
    expect(created.body.derivedfield).toMatchObject({ ...took, scope: {}, enabled: true, id: expect.any(String) });
    const id = created.body.derivedfield.id as string;
    // Where the process functions read them (and the stacks let them read nothing else): <prefix><tenant>/derived/<id>.json.
    expect(await configBucket().list("acme/derived/")).toEqual([`acme/derived/${id}.json`]);
    expect((await api("GET", "/apiv2/derivedfields")).body.derivedfields).toEqual([expect.objectContaining({ ...took, id, scope: {}, enabled: true })]);
    expect((await api("GET", `/apiv2/derivedfields/${id}`)).body.derivedfield).toMatchObject({ id, name: "request time" });
    expect((await api("GET", "/apiv2/derivedfields", undefined, big.apiToken)).body.derivedfields).toEqual([]);
    expect((await api("POST", "/apiv2/derivedfields", { ...took, name: "REQUEST TIME" })).status).toBe(409);

    const noGroups = await api("POST", "/apiv2/derivedfields", { name: "bad", type: "regex", pattern: "took \\d+ ms" });
    expect(noGroups.status).toBe(400);
    expect(noGroups.body).toMatchObject({ code: "UNM_BAD_REQUEST", errors: [{ field: "pattern", message: expect.stringContaining("(?<field>") }] });
    const several = await api("POST", "/apiv2/derivedfields", { name: "", type: "keyvalue", field: "1st", scope: { tag: "two words" } });
    expect(several.status).toBe(400);
    expect(several.body.errors.map((e: { field: string }) => e.field)).toEqual(["name", "key", "field", "scope.tag"]);
    expect((await api("POST", "/apiv2/derivedfields", { name: "x", type: "grok" })).body.errors).toEqual([{ field: "type", message: expect.stringContaining("regex, anchor, keyvalue, tag") }]);
    // Nothing invalid was stored.
    expect(await configBucket().list("acme/derived/")).toEqual([`acme/derived/${id}.json`]);

    // The rule editor's preview, on the tenant's indexed events (the earlier tests': "<marker> hello" and "<marker> boom").
    const preview = await api("POST", "/apiv2/derivedfields/preview", { rule: { type: "regex", pattern: "(?<word>hello|boom)" }, query: marker });
    expect(preview.status).toBe(200);
    expect(preview.body.matched).toBe(2);
    expect(preview.body.events.map((e: { fields: unknown }) => e.fields)).toEqual(expect.arrayContaining([{ word: "hello" }, { word: "boom" }]));
    const badPreview = await api("POST", "/apiv2/derivedfields/preview", { rule: { type: "regex", pattern: "took (\\d+" } });
    expect(badPreview.status).toBe(400);
    expect(badPreview.body.errors).toEqual([{ field: "rule.pattern", message: expect.stringMatching(/RE2/) }]);
  });

  it("users on AWS: an invitation taken up through the search function signs in; sessions and users' tokens authenticate every API with the user's role; kept under accounts/ alone", async () => {
    const PASSWORD = "correct horse battery";
    const invite = await api("POST", "/apiv2/users", { email: "ada@example.com", role: "readonly" });
    expect(invite.status).toBe(201);
    expect((await api("GET", "/auth/invite", undefined, "", `token=${invite.body.token}`)).body).toMatchObject({ account: "acme", email: "ada@example.com", role: "readonly" });
    const joined = await api("POST", "/auth/invite", { token: invite.body.token, name: "Ada", password: PASSWORD }, "");
    expect(joined.status).toBe(201);
    const session = joined.body.token as string;
    // The session reads, and is refused a change, on the retrieval API and the records APIs alike.
    expect((await api("GET", "/apiv2/events/count", undefined, session, "q=*")).status).toBe(200);
    const refused = await api("POST", "/apiv2/savedsearches", { name: "x", query: "*" }, session);
    expect(refused).toMatchObject({ status: 403, body: { code: "UNM_FORBIDDEN" } });
    expect((await api("GET", "/ui/config", undefined, session)).body).toMatchObject({ tenant: "acme", role: "readonly", user: { email: "ada@example.com" }, accounts: true, ingestTokens: true });
    expect((await api("GET", "/apiv2/users", undefined, session)).status).toBe(403);
    // A user's API token acts with the role too.
    const made = await api("POST", "/apiv2/me/tokens", { label: "script" }, session);
    expect(made.status).toBe(201);
    expect((await api("GET", "/apiv2/me", undefined, made.body.token)).body).toMatchObject({ account: "acme", role: "readonly", session: false });
    // Sign-in with the password; a wrong one is the one 401 for every wrong part.
    expect((await api("POST", "/auth/login", { account: "acme", email: "ada@example.com", password: "nope nope nope" }, "")).status).toBe(401);
    const again = await api("POST", "/auth/login", { account: "acme", email: "ADA@example.com", password: PASSWORD }, "");
    expect(again.status).toBe(200);
    // Loggly's HTTP basic with the email and password, as on one machine: the user's role applies.
    const basic = (user: string, password = PASSWORD) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    const withHeaders = async (method: string, rawPath: string, headers: Record<string, string>, body?: unknown) => {
      const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
      const res = await searchHandler({ ...base, rawPath, rawQueryString: "q=*", body: body === undefined ? undefined : JSON.stringify(body), requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method } }, headers: { ...base.headers, ...headers } }, context);
      return res.statusCode;
    };
    expect(await withHeaders("GET", "/apiv2/events/count", basic("ada@example.com"))).toBe(200);
    expect(await withHeaders("GET", "/apiv2/events/count", basic("acme/ada@example.com"))).toBe(200);
    expect(await withHeaders("GET", "/apiv2/events/count", basic("ada@example.com", "wrong password"))).toBe(401);
    expect(await withHeaders("POST", "/apiv2/savedsearches", basic("ada@example.com"), { name: "x", query: "*" })).toBe(403);
    // Signing out ends the session in this instance at once.
    expect((await api("POST", "/auth/logout", undefined, again.body.token)).body).toEqual({ signedOut: true });
    expect((await api("GET", "/apiv2/me", undefined, again.body.token)).status).toBe(401);
    // Ingest tokens are an admin's: a read-only session is refused them.
    expect((await api("POST", "/apiv2/ingesttokens", { label: "x" }, session)).status).toBe(403);

    // Everything is under accounts/ (which only the search function may touch): no password hash, no
    // token hash in the alerts store that the alert checks read.
    const accountsStore = new S3Store("config", "accounts/", { endpoint: process.env.UNMELTABLE_S3_ENDPOINT, forcePathStyle: true });
    const keys = await accountsStore.list("");
    expect(keys.some((k) => k.startsWith("acme/users/"))).toBe(true);
    const userKey = keys.find((k) => k.startsWith("acme/users/"))!;
    const chunks: Buffer[] = [];
    for await (const c of await accountsStore.get(userKey)) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString("utf8")).passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(keys)).not.toContain(session);
    for (const k of await configBucket().list("")) expect(k).not.toMatch(/users|credentials|_tokens/);
  });

  it("ingest tokens on AWS: an admin adds one through the search function, shown once and written to tenants.json as its hash, which collectors then accept; removes it again", async () => {
    const listed = await api("GET", "/apiv2/ingesttokens", undefined, big.apiToken);
    expect(listed.body.tokens).toEqual([{ id: tokenSha256(big.ingestToken).slice(0, 16), label: "first token", createdAt: expect.any(String), primary: true }]);
    const added = await api("POST", "/apiv2/ingesttokens", { label: "web servers" }, big.apiToken);
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ label: "web servers", primary: false, token: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const file = readFileSync(path.join(dir, "tenants.json"), "utf8");
    expect(file).not.toContain(added.body.token);
    expect(JSON.parse(file).find((t: { name: string }) => t.name === "big").extraIngestTokens).toEqual([{ sha256: tokenSha256(added.body.token), label: "web servers", createdAt: expect.any(Number) }]);
    // What a collector loads from the file on its next read (every 30 s) takes the new token.
    const collectorView = new ReloadingTenantDirectory(await readTenants(path.join(dir, "tenants.json"), undefined));
    expect(collectorView.byIngestToken(added.body.token)?.name).toBe("big");
    expect((await api("GET", "/apiv2/ingesttokens", undefined, big.apiToken)).body.tokens.map((t: { label: string; token?: string }) => [t.label, t.token])).toEqual([
      ["first token", undefined],
      ["web servers", undefined],
    ]);
    expect((await api("DELETE", `/apiv2/ingesttokens/${added.body.id}`, undefined, big.apiToken)).body).toEqual({ removed: true });
    expect(new ReloadingTenantDirectory(await readTenants(path.join(dir, "tenants.json"), undefined)).byIngestToken(added.body.token)).toBeUndefined();
    expect((await api("DELETE", `/apiv2/ingesttokens/${tokenSha256(big.ingestToken).slice(0, 16)}`, undefined, big.apiToken)).status).toBe(409);
  });

  it("single sign-on on AWS: the search function sends the browser to the provider and turns its answer into a session of the invited user", async () => {
    const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
    // A browser's navigation as API Gateway (payload 2.0) delivers it: its cookies in `cookies`, not the headers.
    const get = async (rawPath: string, rawQueryString: string, cookie?: string) => {
      const headers: Record<string, string | undefined> = { ...base.headers, authorization: undefined };
      const res = await searchHandler({ ...base, rawPath, rawQueryString, body: undefined, cookies: cookie ? [cookie] : undefined, requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: "GET" } }, headers }, context);
      const out = res as { headers?: Record<string, string>; cookies?: string[] };
      return { status: res.statusCode, headers: out.headers ?? {}, cookies: out.cookies ?? [] };
    };
    expect((await api("GET", "/auth/methods", undefined, "")).body).toEqual({ password: true, sso: { name: "Corp SSO" } });
    expect((await api("POST", "/apiv2/users", { email: "grace@example.com", role: "member" })).status).toBe(201);
    idp.nextUser = { email: "grace@example.com", email_verified: true, name: "Grace" };

    const start = await get("/auth/sso", "account=acme&back=%23%2Fdashboards");
    expect(start.status).toBe(302);
    expect(start.headers.Location!.startsWith(`${idp.issuer}/`)).toBe(true);
    // Secure: the UI's address is https.
    expect(start.cookies).toEqual([expect.stringMatching(/^unmeltable_sso=[\w-]+; Path=\/auth\/sso; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/)]);
    expect(start.headers["Set-Cookie"]).toBeUndefined();
    const flowCookie = start.cookies[0]!.split(";")[0]!;
    // Through the provider (a browser's redirects), until it sends the browser back to the UI's address.
    const { location } = await navigate(start.headers.Location!, new CookieJar(), (u) => u.origin === "https://logs.example.com");
    const back = new URL(location);
    expect(back.pathname).toBe("/auth/sso/callback");
    const done = await get(back.pathname, back.search.slice(1), flowCookie);
    expect(done.status).toBe(302);
    const ui = new URL(done.headers.Location!);
    expect(`${ui.origin}${ui.pathname}`).toBe("https://logs.example.com/");
    const params = new URLSearchParams(ui.hash.slice("#/sso?".length));
    expect(params.get("error")).toBeNull();
    expect(params.get("account")).toBe("acme");
    expect(params.get("back")).toBe("#/dashboards");
    const me = await api("GET", "/apiv2/me", undefined, params.get("token")!);
    expect(me).toMatchObject({ status: 200, body: { account: "acme", role: "member", session: true, user: { email: "grace@example.com", name: "Grace" } } });
    // The flow's cookie is spent: the same answer again is refused.
    const replay = await get(back.pathname, back.search.slice(1));
    expect(new URLSearchParams(new URL(replay.headers.Location!).hash.slice("#/sso?".length)).get("error")).toMatch(/took too long or was started in another browser/);
  });

  it("process: applies a tenant's derived-field rules (read from S3) to its events in the batch, and not to another tenant's; the fields are searchable", async () => {
    const acme = [rawRecord("acme", `${derivedMark} GET /b took 231 ms for user=alice`), rawRecord("acme", `${derivedMark} GET /c no timing`)];
    const other = [rawRecord("big", `${derivedMark} GET /d took 999 ms for user=mallory`)];
    // One MSK event with a raw batch of each tenant (a raw batch is one tenant's by its format: its header names it).
    const out = await withClockAhead(async () => {
      // Whatever this container cached of acme's rules before the rule was saved is now out of date.
      rulesGetOld();
      return processed([rawOf(acme, 0), rawOf(other, 1)]);
    });
    expect([...out.keys()].sort()).toEqual([...acme, ...other].map((e) => e.id).sort());
    expect(out.get(acme[0]!.id)!.event.derived).toEqual({ ms: 231, user: "alice" });
    expect(out.get(acme[1]!.id)!.event.derived).toBeUndefined();
    expect(out.get(other[0]!.id)!.tenant).toBe("big");
    expect(out.get(other[0]!.id)!.event.derived).toBeUndefined();
    expect(out.get(other[0]!.id)!.logmsg).toContain("took 999 ms for user=mallory");

    // Indexed by the index function and searched through the search function like any parsed field.
    const fresh = (await readAll("processed.default")).filter((r) => decodeProcessedBatch(r.value).events.some((e) => out.has(e.id)));
    expect((await indexHandler(mskEvent(fresh), context)).batchItemFailures).toEqual([]);
    const count = async (q: string, token = tenant.apiToken) => (await api("GET", "/apiv2/events/count", undefined, token, new URLSearchParams({ q, from: "-1h", until: "now" }).toString())).body.count as number;
    expect(await count(derivedMark)).toBe(2);
    expect(await count(`${derivedMark} AND derived.user:alice`)).toBe(1);
    expect(await count(`${derivedMark} AND derived.ms:>200`)).toBe(1);
    expect(await count(derivedMark, big.apiToken)).toBe(1);
    expect(await count(`${derivedMark} AND derived.ms:*`, big.apiToken)).toBe(0);
  });

  it("process: a rule saved while the container is warm applies once its cached rules are older than DERIVED_RULES_TTL_MS", async () => {
    const line = `${derivedMark} GET /e took 5 ms for user=carol status_code=504`;
    const derivedOf = async () => {
      const e = rawRecord("acme", line);
      return (await processed([rawOf([e], 0)])).get(e.id)!.event.derived;
    };
    await withClockAhead(async () => {
      rulesGetOld();
      // Warm: acme's rules (the regex rule only) read and cached.
      expect(await derivedOf()).toEqual({ ms: 5, user: "carol" });
      const saved = await api("POST", "/apiv2/derivedfields", { name: "status", type: "keyvalue", key: "status_code" });
      expect(saved.status).toBe(201);
      // The same container, within the cache's lifetime: the rules it read, not yet the new one.
      expect(await derivedOf()).toEqual({ ms: 5, user: "carol" });
      rulesGetOld();
      expect(await derivedOf()).toEqual({ ms: 5, user: "carol", status_code: 504 });
    });
  });

  it("process: rules that cannot be read from S3 never hold events back: a tenant keeps the rules last read, one without any gets none", async () => {
    // S3 away (the server stopped): listing the tenants' rules fails, and is retried at the next batch.
    const port = Number(new URL(process.env.UNMELTABLE_S3_ENDPOINT!).port);
    await s3.close();
    try {
      const acme = [rawRecord("acme", `${derivedMark} GET /f took 7 ms for user=dave status_code=200`)];
      const other = [rawRecord("big", `${derivedMark} GET /g took 8 ms for user=erin`)];
      let out = new Map<string, LogEvent>();
      const logs = await logsOf(() =>
        withClockAhead(async () => {
          rulesGetOld();
          out = await processed([rawOf(acme, 0), rawOf(other, 1)]);
        }),
      );
      expect([...out.keys()].sort()).toEqual([...acme, ...other].map((e) => e.id).sort());
      expect(out.get(acme[0]!.id)!.event.derived).toEqual({ ms: 7, user: "dave", status_code: 200 });
      expect(out.get(other[0]!.id)!.event.derived).toBeUndefined();
      for (const name of ["acme", "big"]) expect(logs).toMatch(new RegExp(`derived fields: cannot read a tenant's rules[^\\n]*"tenant":\\s*"${name}"`));
    } finally {
      await startS3(port);
    }
  });
});

describe("the MSK driver's error handling", () => {
  /** The real index stage over an index that is down for the first `failures` writes. */
  function flakyIndex(inner: IndexPort, failures: number): IndexPort {
    let left = failures;
    return {
      ...inner,
      write: async (tenant, docs) => {
        if (left-- > 0) return docs.map(() => ({ status: "retry" as const, error: "index unavailable" }));
        return inner.write(tenant, docs);
      },
    };
  }

  const sent: { topic: string; count: number }[] = [];
  const producer = async () => ({
    send: async (topic: string, records: unknown[]) => {
      sent.push({ topic, count: records.length });
      return [];
    },
    close: async () => undefined,
  });

  async function processedRecord(offset: number): Promise<QueueRecord> {
    const { encodeProcessedBatch, toEvent } = await import("@unmeltable/core");
    const ev = toEvent(rawRecord("acme", `retry me ${offset}`));
    return { topic: "processed.default", partition: 3, offset, key: "acme", value: encodeProcessedBatch("acme", [ev]), timestamp: Date.now(), headers: {} };
  }

  /** Lambda's context with a short time budget: the driver blocks for it, then hands the partition back. */
  const shortInvocation = () => {
    const until = Date.now() + 300;
    return { getRemainingTimeInMillis: () => until - Date.now() };
  };
  const fast = { reserveMs: 0, backoff: { firstMs: 1, maxMs: 5 } };

  it("provisioned: blocks on a transient failure, then reports the first unfinished record; nothing is dead-lettered", async () => {
    const index = new EmbeddedIndex({ dir: mkdtempSync(path.join(os.tmpdir(), "unmeltable-drv-")), writer: "inline" });
    sent.length = 0;
    const writes = { n: 0 };
    const down = flakyIndex(index, 1e9);
    const counting: IndexPort = { ...down, write: async (t, d) => (writes.n++, down.write(t, d)) };
    const handler = createMskHandler({ stage: createIndexStage({ index: counting }), stageName: "index", producer, errorHandling: "provisioned", metrics: noMetrics, logger: noLogger, ...fast });
    const records = [await processedRecord(40), await processedRecord(41)];
    const result = await handler(mskEvent(records), shortInvocation());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: { partition: "processed.default-3", offset: 40 } }]);
    // It kept trying within the invocation instead of giving up after a fixed count.
    expect(writes.n).toBeGreaterThan(1);
    expect(sent).toEqual([]);
    await index.close();
  });

  it("on-demand: recovers within the invocation; while the index stays down the invocation fails, and nothing is dead-lettered", async () => {
    const index = new EmbeddedIndex({ dir: mkdtempSync(path.join(os.tmpdir(), "unmeltable-drv-")), writer: "inline" });
    sent.length = 0;
    const recovering = createMskHandler({ stage: createIndexStage({ index: flakyIndex(index, 3) }), stageName: "index", producer, errorHandling: "on-demand", metrics: noMetrics, logger: noLogger, ...fast });
    expect((await recovering(mskEvent([await processedRecord(1)]), { getRemainingTimeInMillis: () => 60_000 })).batchItemFailures).toEqual([]);
    const down = createMskHandler({ stage: createIndexStage({ index: flakyIndex(index, 1e9) }), stageName: "index", producer, errorHandling: "on-demand", metrics: noMetrics, logger: noLogger, ...fast });
    await expect(down(mskEvent([await processedRecord(2)]), shortInvocation())).rejects.toBeInstanceOf(PartitionsBlockedError);
    expect(sent).toEqual([]);
    await index.close();
  });

  it("output that cannot be made durable blocks the partition like any transient failure", async () => {
    let attempts = 0;
    const failing = async () => ({
      send: async () => {
        attempts++;
        throw new Error("brokers unreachable");
      },
      close: async () => undefined,
    });
    const raw = encodeRawBatch("acme", "c1", [rawRecord("acme", "x")]);
    const { createProcessStage } = await import("@unmeltable/core");
    const handler = createMskHandler({ stage: createProcessStage({ tierOf: () => "default" }), stageName: "process", producer: failing, errorHandling: "provisioned", metrics: noMetrics, logger: noLogger, ...fast });
    const result = await handler(mskEvent([{ topic: "raw", partition: 0, offset: 1, key: "acme", value: raw, timestamp: Date.now(), headers: {} }]), shortInvocation());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: { partition: "raw-0", offset: 1 } }]);
    expect(attempts).toBeGreaterThan(1);
  });
});
