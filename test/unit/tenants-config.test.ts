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
import { loadTenantDirectory, readTenants, TenantsConfigError, updateTenants } from "@unmeltable/tenants-config";
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
