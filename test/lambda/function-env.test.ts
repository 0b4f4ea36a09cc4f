/**
 * Each function's environment is a schema checked at cold start (packages/lambda, function-env.ts): a
 * malformed variable stops the function's module from loading with an error naming it, and the
 * environment the stacks write (stacks/functions.ts, the contract, plus each stack's own) is accepted with
 * the same defaults as before.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { FUNCTION_ENVS, functionEnv, type FunctionName } from "@unmeltable/lambda";

/** What the stacks give every function, as a deploy writes it. */
const contract = {
  UNMELTABLE_MSK_CLUSTER_ARN: "arn:aws:kafka:eu-west-1:123456789012:cluster/unmeltable-prod/0000-uuid-1",
  UNMELTABLE_KAFKA_BROKERS: "b-1.prod.kafka.eu-west-1.amazonaws.com:9098,b-2.prod.kafka.eu-west-1.amazonaws.com:9098",
  UNMELTABLE_KAFKA_SASL: "aws-msk-iam",
  UNMELTABLE_TIERS: "default,bulk",
  UNMELTABLE_TENANTS: "s3://config/tenants.json",
  UNMELTABLE_INDEX: "opensearch",
  UNMELTABLE_OPENSEARCH_ENDPOINTS: JSON.stringify({ default: "https://vpc-a.eu-west-1.es.amazonaws.com", bulk: "https://vpc-b.eu-west-1.es.amazonaws.com" }),
  UNMELTABLE_OPENSEARCH_INDEX_SETTINGS: JSON.stringify({ default: { replicas: 1, analysis: "icu" }, bulk: { replicas: 0, analysis: "icu" } }),
  UNMELTABLE_ARCHIVE_BUCKET: "unmeltable-prod-archive",
  UNMELTABLE_ERROR_HANDLING: "provisioned",
  AWS_REGION: "eu-west-1",
  AWS_LAMBDA_FUNCTION_NAME: "unmeltable-prod-Function",
};
/** Each stack's own variables (stacks/*.ts). */
const own: Record<FunctionName, Record<string, string>> = {
  // Where the tenants' derived-field rules are (stacks/alerts.ts, derivedRulesRead).
  process: { UNMELTABLE_ALERTS: "s3://config/alerts/" },
  index: { UNMELTABLE_TIER: "bulk" },
  search: { UNMELTABLE_ALERTS: "s3://config/alerts/", UNMELTABLE_COLLECTOR_HOST: "logs.example.com" },
  alerts: { UNMELTABLE_ALERTS: "s3://config/alerts/", UNMELTABLE_PUBLIC_URL: "https://logs.example.com" },
  topics: { UNMELTABLE_PARTITIONS: "12", UNMELTABLE_TIERS: "default,bulk" },
  lifecycle: {},
  archive: { UNMELTABLE_ARCHIVE_WORKER: "unmeltable-prod-ArchiveWorker", UNMELTABLE_ARCHIVE_CONCURRENCY: "8", UNMELTABLE_ARCHIVE_PIECE_BYTES: String(1024 ** 3) },
  "archive-worker": { UNMELTABLE_ARCHIVE_PART_BYTES: String(8 * 1024 * 1024), UNMELTABLE_ARCHIVE_MAX_OPEN: "32" },
};

describe("a function's environment", () => {
  it("accepts what the stacks write for every function", () => {
    for (const name of Object.keys(FUNCTION_ENVS) as FunctionName[]) expect(() => functionEnv(name, { ...contract, ...own[name] })).not.toThrow();
  });

  it("accepts the test setup's form (plain brokers, the embedded index, an S3-compatible endpoint) and fills in the defaults of before", () => {
    const local = { UNMELTABLE_KAFKA_BROKERS: "127.0.0.1:39092", UNMELTABLE_TENANTS: "/tmp/tenants.json", UNMELTABLE_INDEX: "embedded", UNMELTABLE_INDEX_DIR: "/tmp/index", UNMELTABLE_ARCHIVE_BUCKET: "archive", UNMELTABLE_S3_ENDPOINT: "http://127.0.0.1:4569" };
    expect(functionEnv("archive-worker", local)).toMatchObject({ UNMELTABLE_ARCHIVE_PART_BYTES: 8 * 1024 * 1024, UNMELTABLE_ARCHIVE_MAX_OPEN: 32, UNMELTABLE_PRODUCE_TIMEOUT_MS: 30_000, UNMELTABLE_ARCHIVE_PREFIX: "" });
    expect(functionEnv("archive", local)).toMatchObject({ UNMELTABLE_ARCHIVE_CONCURRENCY: 8, UNMELTABLE_ARCHIVE_PIECE_BYTES: 1024 ** 3 });
    expect(functionEnv("lifecycle", local)).toMatchObject({ UNMELTABLE_SLICE_TARGET_BYTES: 40e9 });
    expect(functionEnv("topics", local)).toMatchObject({ UNMELTABLE_PARTITIONS: 12, UNMELTABLE_TIERS: "default" });
    expect(functionEnv("process", local)).toMatchObject({ UNMELTABLE_ERROR_HANDLING: "on-demand" });
    expect(functionEnv("index", local)).toMatchObject({ UNMELTABLE_INDEX: "embedded" });
  });

  it("process: reads the derived-field rules' place (and an S3-compatible endpoint) when given, none when unset, and refuses one that is not s3://", () => {
    expect(functionEnv("process", { ...contract, UNMELTABLE_ALERTS: "s3://config/alerts/", UNMELTABLE_S3_ENDPOINT: "http://127.0.0.1:4569" })).toMatchObject({ UNMELTABLE_ALERTS: "s3://config/alerts/", UNMELTABLE_S3_ENDPOINT: "http://127.0.0.1:4569" });
    // Unset or empty: no rules read (a stage deployed without the config bucket).
    expect(functionEnv("process", contract).UNMELTABLE_ALERTS).toBeUndefined();
    expect(functionEnv("process", { ...contract, UNMELTABLE_ALERTS: "" }).UNMELTABLE_ALERTS).toBeUndefined();
    expect(() => functionEnv("process", { ...contract, UNMELTABLE_ALERTS: "config/alerts/" })).toThrow('UNMELTABLE_ALERTS: expected s3://<bucket>/<prefix>/');
    expect(() => functionEnv("process", { ...contract, UNMELTABLE_ALERTS: "s3://config/alerts/", UNMELTABLE_S3_ENDPOINT: "127.0.0.1:4569" })).toThrow("UNMELTABLE_S3_ENDPOINT: expected an http(s):// URL");
  });
});

describe("a function's cold start", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });
  const coldStart = async (module: string, env: Record<string, string>) => {
    vi.resetModules();
    Object.assign(process.env, contract, env);
    return import(module).then(
      () => "loaded",
      (err: Error) => err.message,
    );
  };

  it("refuses a malformed number, naming the variable", async () => {
    expect(await coldStart("../../functions/archive-worker", { UNMELTABLE_ARCHIVE_PART_BYTES: "8MB" })).toContain('UNMELTABLE_ARCHIVE_PART_BYTES: expected a whole number from 5242880 to 1073741824, got "8MB"');
    expect(await coldStart("../../functions/topics", { UNMELTABLE_PARTITIONS: "twelve" })).toContain('UNMELTABLE_PARTITIONS: expected a whole number from 1 to 10000, got "twelve"');
  });

  it("refuses an unknown choice and a broker without a port, naming each", async () => {
    const message = await coldStart("../../functions/process", { UNMELTABLE_ERROR_HANDLING: "sometimes", UNMELTABLE_KAFKA_BROKERS: "kafka-1" });
    expect(message).toContain('UNMELTABLE_ERROR_HANDLING: expected one of "provisioned", "on-demand", got "sometimes"');
    expect(message).toContain('UNMELTABLE_KAFKA_BROKERS: expected HOST:PORT, got "kafka-1"');
  });

  it("process: refuses a derived-field rules' place that is not s3://, naming it", async () => {
    expect(await coldStart("../../functions/process", { UNMELTABLE_ALERTS: "https://config.s3.amazonaws.com/alerts/" })).toContain("UNMELTABLE_ALERTS: expected s3://<bucket>/<prefix>/");
  });

  it("refuses endpoints that are not JSON and a missing tenants config", async () => {
    expect(await coldStart("../../functions/search", { UNMELTABLE_OPENSEARCH_ENDPOINTS: "https://vpc-a.eu-west-1.es.amazonaws.com" })).toContain("UNMELTABLE_OPENSEARCH_ENDPOINTS: expected a JSON object of tier → value");
    expect(await coldStart("../../functions/lifecycle", { UNMELTABLE_TENANTS: "" })).toContain("UNMELTABLE_TENANTS: required: s3://bucket/tenants.json or a file path");
  });
});
