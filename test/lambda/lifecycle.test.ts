/**
 * The lifecycle function on AWS against the tenants config in S3 (s3rver behind a model of S3's
 * conditional writes) and the modelled OpenSearch cluster (the batched run of the OpenSearch layout): a
 * placement change is written with the ETag of the version read, so an upload by ops at the same moment
 * is kept; one tenant failing does not stop the others; days without an archive manifest are reported.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveStatusKey, dayOf, manifestKey, newEventId } from "@unmeltable/core";
import { OpenSearchIndex } from "@unmeltable/index-opensearch";
import { resetEnvironment } from "@unmeltable/lambda";
import { startConditionalS3, type ConditionalS3 } from "../helpers/s3-conditional";
import { startModelCluster } from "../opensearch/model-cluster";
import type { RecordedServer } from "../opensearch/recorded-server";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";

type Handler = (event: unknown, context: unknown) => Promise<{ placed: { tenant: string }[]; prepared: number; archiveMissing?: string[] }>;
const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY;
const dedicated = { placements: [{ from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "day", shards: 1 }] };

describe("the lifecycle function", () => {
  let s3rver: { close(): Promise<void> };
  let s3: ConditionalS3;
  let direct: S3Client;
  let opensearch: RecordedServer;
  let handler: Handler;
  const context = { functionName: "lifecycle", awsRequestId: "r1", getRemainingTimeInMillis: () => 300_000 };
  const tenant = (name: string, extra: Record<string, unknown> = {}) => ({ name, ingestToken: `${name}-ingest-token`, apiToken: `${name}-api`, ...extra });

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-lifecycle-"));
    const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: "config" }, { name: "archive" }] });
    const { port } = (await server.run()) as { port: number };
    s3rver = server;
    s3 = await startConditionalS3(`http://127.0.0.1:${port}`);
    const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
    direct = new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: "us-east-1", credentials });
    await direct.send(new PutObjectCommand({ Bucket: "config", Key: "tenants.json", Body: JSON.stringify([tenant("broken", dedicated), tenant("acme"), tenant("quiet", dedicated)], null, 2) }));

    // A pooled document stands for 50 GB on disk (the model's storeBytes): acme, pooled, sent 50 GB
    // yesterday and is promoted to dedicated indices of 2 primaries (40 GB each at most).
    opensearch = await startModelCluster({ storeBytes: (index, docs) => (index.includes("._pool-") ? docs * 50e9 : 0) });
    const seed = new OpenSearchIndex({ node: opensearch.url, tier: "default", layoutOf: () => ({ retentionDays: 30 }) });
    const at = today - DAY + 3_600_000;
    await seed.write("acme", [JSON.stringify({ id: newEventId(), timestamp: at, receivedAt: at, raw: "seed", tags: [] })]);
    await seed.close();
    // Every request about tenant "broken" is refused.
    opensearch.fault = (req) => (req.path.includes(".broken.") ? { status: 400, body: { error: { type: "illegal_argument_exception", reason: "refused for the test" }, status: 400 } } : undefined);

    Object.assign(process.env, {
      UNMELTABLE_TENANTS: "s3://config/tenants.json",
      UNMELTABLE_S3_ENDPOINT: s3.url,
      UNMELTABLE_INDEX: "opensearch",
      UNMELTABLE_OPENSEARCH_ENDPOINTS: JSON.stringify({ default: opensearch.url }),
      UNMELTABLE_TIERS: "default",
      UNMELTABLE_ARCHIVE_BUCKET: "archive",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      POWERTOOLS_DEV: "true",
    });
    resetEnvironment();
    handler = (await import("../../functions/lifecycle")).handler as unknown as Handler;
  });

  afterAll(async () => {
    await s3.close();
    await s3rver.close();
    await opensearch.close();
  });

  const tenantsNow = async () => JSON.parse(await (await direct.send(new GetObjectCommand({ Bucket: "config", Key: "tenants.json" }))).Body!.transformToString()) as Record<string, unknown>[];

  it("keeps an upload made while it writes, and goes on past a tenant that fails", async () => {
    // Ops upload tenants.json (a new tenant) just as the lifecycle writes acme's placement.
    s3.beforeConditionalPut = async () => {
      s3.beforeConditionalPut = undefined;
      const list = await tenantsNow();
      await direct.send(new PutObjectCommand({ Bucket: "config", Key: "tenants.json", Body: JSON.stringify([...list, tenant("fresh", { tier: "default" })], null, 2) }));
    };
    await expect(handler({}, context)).rejects.toThrow(/lifecycle failed for 1 tenant\(s\), the others were done: broken: /);
    expect(s3.refused).toBe(1);
    const saved = await tenantsNow();
    expect(saved.map((t) => t.name)).toEqual(["broken", "acme", "quiet", "fresh"]);
    // acme's change is applied to the version ops uploaded; the other entries are left as they were.
    // Their placements also get the retention they are read with (the schema's default 30 days) recorded.
    expect(saved.find((t) => t.name === "acme")).toEqual({
      ...tenant("acme"),
      placements: [
        { from: -8.64e15, layout: "pooled", slice: "day", retentionDays: 30 },
        { from: today + DAY, layout: "dedicated", slice: "day", shards: 2, retentionDays: 30 },
      ],
    });
    expect(saved.find((t) => t.name === "quiet")).toEqual(tenant("quiet", { placements: [{ ...dedicated.placements[0], retentionDays: 30 }] }));
    expect(saved.find((t) => t.name === "fresh")).toEqual(tenant("fresh", { tier: "default" }));
    // The tenants after the failing one still got their next slice (acme's first dedicated one).
    const created = opensearch.requestsTo("PUT", /^\/logs-default\.[a-z]+\./).map((r) => r.path.split(".")[1]);
    expect(new Set(created)).toEqual(new Set(["acme", "quiet", "broken"]));
    expect(opensearch.requestsTo("PUT", /^\/logs-default\.acme\./).map((r) => r.body)).toEqual([{ settings: { number_of_shards: 2 } }]);
  });

  it("reports the archive days of the last week that have no manifest", async () => {
    opensearch.fault = undefined;
    const threeDaysAgo = dayOf(Date.now() - 3 * 86_400_000);
    await direct.send(new PutObjectCommand({ Bucket: "archive", Key: manifestKey(threeDaysAgo), Body: "{}" }));
    const report = await handler({}, context);
    expect(report.archiveMissing).toContain(dayOf(Date.now() - 4 * 86_400_000));
    expect(report.archiveMissing).not.toContain(threeDaysAgo);
    expect(report.archiveMissing!.length).toBeGreaterThanOrEqual(5);
  });

  it("also reports a day that has a manifest but that the archive has not got through (its runs stopped)", async () => {
    const twoDaysAgo = dayOf(Date.now() - 2 * 86_400_000);
    const threeDaysAgo = dayOf(Date.now() - 3 * 86_400_000);
    await direct.send(new PutObjectCommand({ Bucket: "archive", Key: manifestKey(twoDaysAgo), Body: "{}" }));
    // The last run got to noon two days ago (a cron stub "ran" since, or every run failed).
    const through = Date.parse(`${twoDaysAgo}T12:00:00Z`);
    await direct.send(new PutObjectCommand({ Bucket: "archive", Key: archiveStatusKey(), Body: JSON.stringify({ through, updatedAt: through, failed: [] }) }));
    const report = await handler({}, context);
    expect(report.archiveMissing).toContain(twoDaysAgo);
    expect(report.archiveMissing).not.toContain(threeDaysAgo);
  });
});
