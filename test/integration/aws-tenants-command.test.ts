/**
 * `unmeltable aws tenants show|set` against tenants.json in S3 (s3rver behind the model of S3's
 * conditional writes, test/helpers/s3-conditional.ts), through the real CLI: the change is validated,
 * written only over the version read (If-Match), and an upload by ops at the same moment is kept.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "../helpers/program";
import { startConditionalS3, type ConditionalS3 } from "../helpers/s3-conditional";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";

const execFileP = promisify(execFile);
const SOURCE = "s3://config/tenants.json";

describe("unmeltable aws tenants", () => {
  let server: { close(): Promise<void> };
  let s3: ConditionalS3;
  let direct: S3Client;
  const tenant = (name: string, extra: Record<string, unknown> = {}) => ({ name, ingestToken: `${name}-ingest-token`, apiToken: `${name}-api-secret`, ...extra });

  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const env = { ...process.env, UNMELTABLE_S3_ENDPOINT: s3.url, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [CLI, "aws", "tenants", ...args], { cwd: ROOT, env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const read = async () => JSON.parse(await (await direct.send(new GetObjectCommand({ Bucket: "config", Key: "tenants.json" }))).Body!.transformToString()) as Record<string, unknown>[];
  const upload = (list: unknown[]) => direct.send(new PutObjectCommand({ Bucket: "config", Key: "tenants.json", Body: JSON.stringify(list, null, 2) }));

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-aws-tenants-"));
    const s = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: "config" }] });
    const { port } = (await s.run()) as { port: number };
    server = s;
    s3 = await startConditionalS3(`http://127.0.0.1:${port}`);
    direct = new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  });

  afterAll(async () => {
    await s3?.close();
    await server?.close();
  });

  it("changes tier, spread, retention and plan in one conditional write, keeping everything else", async () => {
    await upload([tenant("acme"), tenant("other", { tier: "bulk", retentionDays: 90 })]);
    const out = await run(["set", "acme", "--source", SOURCE, "--tiers", "default,bulk", "--tier", "bulk", "--partition-spread", "4", "--retention-days", "7", "--plan-gb-per-day", "2.5", "--plan-events-per-second", "300"]);
    expect(out.stderr).not.toMatch(/unmeltable:/);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/written: tenant acme: tier bulk, spread 4, day slices, 7 days retention, plan 2.5 GB\/day, 300 events\/s/);
    const list = await read();
    expect(list[0]).toEqual({ ...tenant("acme"), tier: "bulk", partitionSpread: 4, retentionDays: 7, plan: { bytesPerDay: 2.5e9, eventsPerSecond: 300 } });
    expect(list[1]).toEqual(tenant("other", { tier: "bulk", retentionDays: 90 }));

    // show: the settings, never a token.
    const shown = await run(["show", "acme", "--source", SOURCE, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: "acme", tier: "bulk", plan: { bytesPerDay: 2.5e9, eventsPerSecond: 300 } });
    const all = await run(["show", "--source", SOURCE]);
    expect(all.stdout.trim().split("\n")).toHaveLength(2);
    expect(all.stdout + shown.stdout).not.toMatch(/ingest-token|api-secret/);

    // One number of the plan changes; --no-plan removes it.
    expect((await run(["set", "acme", "--source", SOURCE, "--plan-events-per-second", "50"])).code).toBe(0);
    expect((await read())[0]!.plan).toEqual({ bytesPerDay: 2.5e9, eventsPerSecond: 50 });
    expect((await run(["set", "acme", "--source", SOURCE, "--no-plan"])).code).toBe(0);
    expect((await read())[0]!.plan).toBeUndefined();
  });

  it("writes over the version read only: an upload by ops at the same moment is kept, the change applied on top", async () => {
    await upload([tenant("acme"), tenant("other")]);
    let raced = false;
    s3.beforeConditionalPut = async () => {
      if (raced) return;
      raced = true;
      // Ops upload a new version (another tenant added) between the command's read and its write.
      await upload([tenant("acme"), tenant("other"), tenant("newcomer")]);
    };
    const refusedBefore = s3.refused;
    try {
      const out = await run(["set", "acme", "--source", SOURCE, "--retention-days", "14"]);
      expect(out.code).toBe(0);
    } finally {
      s3.beforeConditionalPut = undefined;
    }
    // The write was conditional (its first attempt refused with 412), then applied to the new version.
    expect(raced).toBe(true);
    expect(s3.refused).toBe(refusedBefore + 1);
    const list = await read();
    expect(list.map((t) => t.name)).toEqual(["acme", "other", "newcomer"]);
    expect(list[0]!.retentionDays).toBe(14);
  });

  it("refuses what is invalid and writes nothing", async () => {
    await upload([tenant("acme")]);
    const before = JSON.stringify(await read());
    const cases: [string[], RegExp][] = [
      [["set", "acme", "--source", SOURCE, "--tiers", "default", "--tier", "gold"], /not a tier of this deployment/],
      [["set", "acme", "--source", SOURCE, "--retention-days", "5000"], /does not pass the tenants schema[\s\S]*retentionDays/],
      [["set", "acme", "--source", SOURCE, "--plan-gb-per-day", "1"], /no plan yet: give both/],
      [["set", "nobody", "--source", SOURCE, "--retention-days", "3"], /no tenant nobody/],
      [["set", "acme", "--source", SOURCE], /nothing to change/],
      [["set", "acme", "--source", "./tenants.json", "--retention-days", "3"], /--source must be s3:\/\//],
    ];
    for (const [args, message] of cases) {
      const out = await run(args);
      expect(out.code, args.join(" ")).toBe(1);
      expect(out.stderr).toMatch(message);
    }
    expect(JSON.stringify(await read())).toBe(before);
  });
});
