/**
 * Configuration enters at three boundaries — tenants.json, a function's environment, the Kafka options —
 * each checked by a schema: a bad value is refused with an error naming the field (and, in tenants.json,
 * the tenant), and every form accepted before is still accepted.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readTenants, tokenSha256, TenantsConfigError } from "@unmeltable/tenants-config";
import { KafkaOptionsError, PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { checkQueueConfig } from "../../packages/runtime/src/queue-config";
import { CLI, ROOT } from "../helpers/program";

const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-config-"));
const file = (name: string, content: unknown) => {
  const f = path.join(dir, name);
  writeFileSync(f, JSON.stringify(content));
  return f;
};
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const token = (n: number) => `${n}1111111-2222-4333-8444-555555555555`;
const day = Date.UTC(2026, 0, 5);

describe("tenants.json", () => {
  const forms = [
    { name: "plain", ingestToken: token(1), apiToken: "p1" },
    { name: "hashed", ingestTokenSha256: tokenSha256(token(2)), apiTokenSha256: tokenSha256("h1") },
    { name: "mixed", ingestToken: token(3), apiTokenSha256: tokenSha256("m1") },
    {
      name: "full",
      ingestToken: token(4),
      apiToken: "f1",
      tier: "bulk",
      partitionSpread: 4,
      slice: "hour",
      retentionDays: 3650,
      createdAt: day,
      placements: [{ from: day, layout: "dedicated", slice: "hour", shards: 3, tier: "bulk", retentionDays: 7 }, { from: day + 86_400_000, layout: "pooled", slice: "day" }],
      plan: { bytesPerDay: 1e9, eventsPerSecond: 0.5 },
    },
  ];
  const bad = [
    { name: "acme", ingestToken: token(5), apiToken: "a1", retentionDays: 0 },
    { name: "globex", ingestToken: token(6), apiToken: "g1", partitionSpread: 2.5 },
    { name: "initech", ingestToken: token(7), apiToken: "i1", slice: "month" },
    { name: "hooli", ingestToken: token(8), apiToken: "h2", plan: { bytesPerDay: "1GB", eventsPerSecond: 10 } },
    { name: "umbrella", ingestToken: token(9), apiToken: "u1", teir: "bulk" },
  ];
  const expected = [
    "[0].retentionDays: expected a whole number from 1 to 3650, got 0 (tenant acme)",
    "[1].partitionSpread: expected a whole number from 1 to 1000, got 2.5 (tenant globex)",
    '[2].slice: expected one of "hour", "day", "week", got "month" (tenant initech)',
    '[3].plan.bytesPerDay: expected a number, got "1GB" (tenant hooli)',
    '[4]: unknown field "teir" (tenant umbrella)',
  ];

  it("the loader reads every form it read before: plain tokens, hashes, one of each, placements and a plan", async () => {
    const list = await readTenants(file("forms.json", forms), ["default", "bulk"]);
    expect(list.map((t) => t.name)).toEqual(["plain", "hashed", "mixed", "full"]);
    expect(list[3]).toMatchObject({ tier: "bulk", slice: "hour", retentionDays: 3650, plan: { bytesPerDay: 1e9, eventsPerSecond: 0.5 }, placements: forms[3]!.placements });
  });

  it("the loader refuses each bad value naming its field and its tenant", async () => {
    const err = (await readTenants(file("bad.json", bad), ["default", "bulk"]).catch((e: unknown) => e)) as TenantsConfigError;
    expect(err).toBeInstanceOf(TenantsConfigError);
    expect(err.problems).toEqual(expected);
  });

  it("`tenants validate` says the same, and passes the valid forms", async () => {
    const ok = await cli(["tenants", "validate", file("cli-forms.json", forms), "--tiers", "default,bulk"]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining("4 tenants, valid (tiers default, bulk)") });
    const refused = await cli(["tenants", "validate", file("cli-bad.json", bad), "--tiers", "default,bulk"]);
    expect(refused.code).toBe(1);
    for (const line of expected) expect(refused.stderr).toContain(line);
  });
});

describe("Kafka options", () => {
  it("the CLI refuses a bad option naming it and its flag, before the data dir is made", async () => {
    const dataDir = path.join(dir, "never-made");
    const r = await cli(["start", "--data-dir", dataDir, "--queue", "kafka", "--brokers", "kafka-1,127.0.0.1:99999", "--produce-timeout-ms", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Kafka option brokers.0 (--brokers): expected HOST:PORT, got "kafka-1"');
    expect(r.stderr).toContain('Kafka option brokers.1 (--brokers): the port of "127.0.0.1:99999" is not from 1 to 65535');
    expect(r.stderr).toContain("Kafka option produceTimeoutMs (--produce-timeout-ms): expected a whole number from 1 to 86400000, got 0");
    expect(existsSync(dataDir)).toBe(false);
    const arn = await cli(["start", "--data-dir", dataDir, "--queue", "kafka", "--msk-cluster-arn", "my-cluster"]);
    expect(arn.stderr).toContain('Kafka option mskClusterArn (--msk-cluster-arn): expected an MSK cluster ARN');
  });

  it("accepts every form the CLI builds: host names, addresses, IPv6, an MSK cluster, SCRAM, PLAIN, IAM, TLS with a CA", () => {
    const forms = [
      { brokers: ["kafka-1:9092", "10.0.0.2:9092", "[::1]:9092"] },
      { brokers: [], mskClusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/unmeltable-prod/0000-uuid-1", region: "eu-west-1", sasl: { mechanism: "aws-msk-iam" as const, region: "eu-west-1" } },
      { brokers: ["b-1.x.kafka.eu-west-1.amazonaws.com:9096"], ssl: true, caFile: "/etc/ca.pem", sasl: { mechanism: "scram-sha-512" as const, username: "u", password: "p" } },
      { brokers: ["localhost:9092"], sasl: { mechanism: "plain" as const, username: "u", password: "p" }, produceTimeoutMs: 10_000, clientId: "unmeltable-c1", client: "native" as const },
    ];
    for (const f of forms) expect(() => checkQueueConfig({ kind: "kafka", ...f })).not.toThrow();
  });

  it("an adapter refuses a bad option when it is made, naming it", async () => {
    const problem = (options: ConstructorParameters<typeof PlatformaticKafkaQueue>[0]) => {
      try {
        new PlatformaticKafkaQueue(options);
      } catch (err) {
        return (err as KafkaOptionsError).problems;
      }
      return undefined;
    };
    expect(problem({ brokers: [] })).toEqual([{ option: "brokers", message: "expected at least one broker, HOST:PORT" }]);
    expect(problem({ brokers: ["localhost:9092"], compression: "brotli" })?.[0]?.option).toBe("compression");
    expect(problem({ brokers: ["localhost:9092"], sasl: { mechanism: "plain", username: "u", password: "" } })?.[0]).toEqual({ option: "sasl.password", message: "a SASL password is not empty" });
    const fine = new PlatformaticKafkaQueue({ brokers: ["localhost:9092"], compression: "GZIP", sessionTimeoutMs: 6000 });
    await fine.close();
  });
});
