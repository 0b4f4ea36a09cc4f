/**
 * A deployment's tenants.json is checked where it is read (every function, the collectors) and by
 * `unmeltable tenants validate FILE` before ops upload it: a mistyped tier or field is refused with its
 * place in the file, never sent on to a processed topic that does not exist.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { loadTenantDirectory, readTenants, ReloadingTenantDirectory, tokenSha256, TenantsConfigError, updateTenants } from "@unmeltable/tenants-config";
import { CLI, ROOT } from "../helpers/program";

const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-tenants-"));
const file = (name: string, content: unknown) => {
  const f = path.join(dir, name);
  writeFileSync(f, JSON.stringify(content));
  return f;
};
const acme = { name: "acme", ingestToken: "11111111-2222-4333-8444-555555555555", apiToken: "a1", tier: "bulk", partitionSpread: 4 };
const broken = [
  acme,
  { name: "globex", ingestToken: "21111111-2222-4333-8444-555555555555", apiToken: "g1", tier: "bulck" },
  { name: "initech", ingestToken: "31111111-2222-4333-8444-555555555555", apiToken: "i1", teir: "bulk", slice: "month" },
  { name: "acme", ingestToken: acme.ingestToken, apiToken: "a2" },
];

describe("tenants.json where it is read", () => {

  it("checks placements: ordered by from, each at a boundary of its slice, pooled ones by day, their tiers the deployment's", async () => {
    const day = Date.UTC(2026, 0, 5);
    const ok = { ...acme, placements: [{ from: day, layout: "dedicated", slice: "hour", shards: 3 }, { from: day + 86_400_000, layout: "pooled", slice: "day" }] };
    expect((await readTenants(file("placements-ok.json", [ok]), ["default", "bulk"]))[0]!.placements).toEqual(ok.placements);
    const bad = {
      ...acme,
      placements: [
        { from: day + 86_400_000, layout: "pooled", slice: "day" },
        { from: day, layout: "pooled", slice: "hour" },
        { from: day + 1000, layout: "dedicated", slice: "hour", tier: "bulck" },
      ],
    };
    const err = (await readTenants(file("placements-bad.json", [bad]), ["default", "bulk"]).catch((e: unknown) => e)) as TenantsConfigError;
    const problems = err.problems.join("\n");
    expect(problems).toContain("[0].placements.1: pooled indices are day slices");
    expect(problems).toContain("[0].placements.2: a placement starts at a boundary of its slice");
    expect(problems).toContain("[0].placements: placements are ordered by from");
  });

  it("writes several tenants' changes in one update, refusing to write a file that fails the schema", async () => {
    const f = file("update-many.json", [acme, { ...acme, name: "globex", ingestToken: "21111111-2222-4333-8444-555555555555", apiToken: "g1" }]);
    await updateTenants(f, (find) => {
      find("acme")!.placements = [{ from: Date.UTC(2026, 0, 6), layout: "dedicated", slice: "day", shards: 2 }];
      find("globex")!.retentionDays = 7;
    });
    const [a, g] = await readTenants(f, ["default", "bulk"]);
    expect(a!.placements).toEqual([{ from: Date.UTC(2026, 0, 6), layout: "dedicated", slice: "day", shards: 2 }]);
    expect(g!.retentionDays).toBe(7);
    await expect(updateTenants(f, (find) => void (find("acme")!.placements = [{ from: 5, layout: "pooled", slice: "day" }]))).rejects.toThrow(/boundary of its slice/);
    expect((await readTenants(f, ["default", "bulk"]))[0]!.placements).toEqual(a!.placements);
  });
  it("refuses a mistyped tier, an unknown field, a bad slice and duplicate names and tokens, naming each place", async () => {
    const f = file("broken.json", broken);
    const err = await readTenants(f, ["default", "bulk"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenantsConfigError);
    const problems = (err as TenantsConfigError).problems.join("\n");
    expect(problems).toContain('[1].tier: "bulck" is not a tier of this deployment (default, bulk)');
    expect(problems).toMatch(/\[2\]: .*"teir"/);
    expect(problems).toMatch(/\[2\]\.slice: /);
    expect(problems).toContain("[3].name: the same as tenant [0]'s");
    expect(problems).toContain("[3].ingestToken: the same as tenant [0]'s");
  });

  it("fills in the defaults of a valid file", async () => {
    const [t] = await readTenants(file("one.json", [{ name: "solo", ingestToken: "41111111-2222-4333-8444-555555555555", apiToken: "s" }]), ["default"]);
    expect(t).toEqual({ name: "solo", ingestToken: "41111111-2222-4333-8444-555555555555", apiToken: "s", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 });
  });

  it("a refresh that fails the check keeps the last good list", async () => {
    const f = file("live.json", [acme]);
    let refused!: (e: Error) => void;
    const failed = new Promise<Error>((r) => (refused = r));
    process.env.UNMELTABLE_TIERS = "default,bulk";
    try {
      const tenants = await loadTenantDirectory(f, 10, (e) => refused(e));
      writeFileSync(f, JSON.stringify([{ ...acme, tier: "bulck" }]));
      expect((await failed).message).toContain('"bulck" is not a tier');
      expect(tenants.byName("acme")?.tier).toBe("bulk");
    } finally {
      delete process.env.UNMELTABLE_TIERS;
    }
  });
});

describe("token hashes in tenants.json", () => {
  const hashed = { name: "hashed", ingestTokenSha256: tokenSha256("41111111-2222-4333-8444-555555555555"), apiTokenSha256: tokenSha256("secret-api-token") };

  it("looks tokens up by their SHA-256 where the config keeps only that, and plain ones as before", async () => {
    const dir = new ReloadingTenantDirectory(await readTenants(file("hashed.json", [acme, hashed])));
    expect(dir.byIngestToken("41111111-2222-4333-8444-555555555555")?.name).toBe("hashed");
    expect(dir.byIngestToken("41111111-2222-4333-8444-555555555555")?.name).toBe("hashed"); // the second time from the cache
    expect(dir.byApiToken("secret-api-token")?.name).toBe("hashed");
    expect(dir.byIngestToken(acme.ingestToken)?.name).toBe("acme");
    expect(dir.byApiToken("a1")?.name).toBe("acme");
    // The hash itself is not a token, nor is anything else.
    expect(dir.byApiToken(hashed.apiTokenSha256)).toBeUndefined();
    expect(dir.byIngestToken(hashed.ingestTokenSha256)).toBeUndefined();
    expect(dir.byIngestToken("x".repeat(10_000))).toBeUndefined();
    // A tenant removed by a reload stops at once, cache and all.
    dir.replace([]);
    expect(dir.byIngestToken("41111111-2222-4333-8444-555555555555")).toBeUndefined();
  });

  it("refuses an entry with both a token and its hash, or neither, a malformed hash, and the same token given once plainly and once hashed", async () => {
    const entries = [
      { ...hashed, apiToken: "secret-api-token" },
      { name: "none", ingestToken: "51111111-2222-4333-8444-555555555555" },
      { name: "short", ingestTokenSha256: "abc", apiToken: "s1" },
      { name: "twin", ingestToken: "41111111-2222-4333-8444-555555555555", apiToken: "t1" },
    ];
    const err = (await readTenants(file("hashed-bad.json", entries)).catch((e: unknown) => e)) as TenantsConfigError;
    expect(err).toBeInstanceOf(TenantsConfigError);
    const problems = err.problems.join("\n");
    expect(problems).toContain("[0].apiToken: give apiToken or apiTokenSha256 (one of the two)");
    expect(problems).toContain("[1].apiToken: give apiToken or apiTokenSha256 (one of the two)");
    expect(problems).toContain("[2].ingestTokenSha256: a SHA-256 is 64 lowercase hexadecimal digits");
  });

  it("finds the same ingest token given plainly in one entry and hashed in another", async () => {
    const err = (await readTenants(file("hashed-twin.json", [hashed, { name: "twin", ingestToken: "41111111-2222-4333-8444-555555555555", apiToken: "t1" }])).catch((e: unknown) => e)) as TenantsConfigError;
    expect(err.problems).toEqual(["[1].ingestToken: the same as tenant [0]'s"]);
  });
});

describe("unmeltable aws tenants add / rotate-token", () => {
  const aws = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, "aws", "tenants", ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it("adds a tenant whose tokens are shown once and kept only as hashes; a rotation replaces one and the old one stops", async () => {
    const f = file("aws-tenants.json", [acme]);
    const added = await aws(["add", "globex", "--source", f, "--tier", "bulk", "--retention-days", "14", "--json"]);
    expect(added.code).toBe(0);
    const tokens = JSON.parse(added.stdout) as { name: string; ingestToken: string; apiToken: string };
    expect(tokens.name).toBe("globex");
    const text = readFileSync(f, "utf8");
    expect(text).not.toContain(tokens.ingestToken);
    expect(text).not.toContain(tokens.apiToken);
    const dir = new ReloadingTenantDirectory(await readTenants(f, ["default", "bulk"]));
    expect(dir.byIngestToken(tokens.ingestToken)).toMatchObject({ name: "globex", tier: "bulk", retentionDays: 14 });
    expect(dir.byApiToken(tokens.apiToken)?.name).toBe("globex");

    expect((await aws(["add", "globex", "--source", f])).stderr).toMatch(/tenant globex exists already/);
    const rotated = await aws(["rotate-token", "globex", "--source", f, "--json"]);
    const fresh = JSON.parse(rotated.stdout) as { apiToken: string; ingestToken?: string };
    expect(fresh.ingestToken).toBeUndefined();
    const after = new ReloadingTenantDirectory(await readTenants(f, ["default", "bulk"]));
    expect(after.byApiToken(fresh.apiToken)?.name).toBe("globex");
    expect(after.byApiToken(tokens.apiToken)).toBeUndefined();
    expect(after.byIngestToken(tokens.ingestToken)?.name).toBe("globex");
    // A tenant kept with plain tokens: validate warns, and a rotation of both turns them into hashes.
    expect((await promisify(execFile)(process.execPath, [CLI, "tenants", "validate", f], { cwd: ROOT })).stderr).toContain("tenant acme: its API token is kept in plain text");
    const both = JSON.parse((await aws(["rotate-token", "acme", "--source", f, "--both", "--json"])).stdout) as { apiToken: string; ingestToken: string };
    const entry = (JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>[]).find((t) => t.name === "acme")!;
    expect(entry).toMatchObject({ ingestTokenSha256: tokenSha256(both.ingestToken), apiTokenSha256: tokenSha256(both.apiToken) });
    expect(entry).not.toHaveProperty("apiToken");
    expect(entry).not.toHaveProperty("ingestToken");
    expect((await aws(["rotate-token", "nobody", "--source", f])).stderr).toMatch(/no tenant nobody/);
  });
});

describe("unmeltable tenants validate FILE", () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, "tenants", "validate", ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it("exits 1 and lists every problem", async () => {
    const r = await run([file("cli-broken.json", broken), "--tiers", "default,bulk"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("5 problems");
    expect(r.stderr).toContain('[1].tier: "bulck" is not a tier of this deployment');
  });

  it("says so when the file is valid", async () => {
    const r = await run([file("cli-ok.json", [acme]), "--tiers", "default,bulk"]);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining("1 tenant, valid (tiers default, bulk)") });
  });
});
