/**
 * A deployment's ingest tokens, managed from the UI on AWS: kept in tenants.json (the first in
 * `ingestTokenSha256`, the added ones in `extraIngestTokens`, hashes only), each change a conditional
 * write of the file. What a collector loads from the file accepts every one of them, and stops accepting a
 * removed one; the last token stays; removing the first makes the oldest added one the first.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AccountError } from "@unmeltable/core";
import { parseTenants, readTenants, ReloadingTenantDirectory, TenantsConfigError, TenantsConfigIngestTokens, tokenSha256 } from "@unmeltable/tenants-config";

const FIRST = "11111111-2222-4333-8444-555555555555";
const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-ingest-tokens-"));
let n = 0;
const tenantsFile = () => {
  const f = path.join(dir, `tenants-${n++}.json`);
  writeFileSync(f, JSON.stringify([{ name: "acme", ingestToken: FIRST, apiTokenSha256: tokenSha256("a1"), createdAt: 1_700_000_000_000 }, { name: "globex", ingestTokenSha256: tokenSha256("g-ingest-token"), apiTokenSha256: tokenSha256("g1") }]));
  return f;
};
/** What a collector has after reading the file again. */
const loaded = async (f: string) => new ReloadingTenantDirectory(await readTenants(f, undefined));

describe("ingest tokens in tenants.json", () => {
  it("adds a token shown once and kept as its hash, which senders may use at once after a reload; lists them without the added ones' tokens", async () => {
    const f = tenantsFile();
    const tokens = new TenantsConfigIngestTokens(f, () => 1_800_000_000_000);
    const added = await tokens.add("acme", " web servers ");
    expect(added).toMatchObject({ label: "web servers", primary: false, createdAt: 1_800_000_000_000, token: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(added.id).toBe(tokenSha256(added.token!).slice(0, 16));
    const written = readFileSync(f, "utf8");
    expect(written).not.toContain(added.token);
    expect(JSON.parse(written)[0].extraIngestTokens).toEqual([{ sha256: tokenSha256(added.token!), label: "web servers", createdAt: 1_800_000_000_000 }]);
    expect(await tokens.list("acme")).toEqual([
      { id: tokenSha256(FIRST).slice(0, 16), token: FIRST, label: "first token", createdAt: 1_700_000_000_000, primary: true },
      { id: added.id, label: "web servers", createdAt: 1_800_000_000_000, primary: false },
    ]);
    const directory = await loaded(f);
    expect(directory.byIngestToken(added.token!)?.name).toBe("acme");
    expect(directory.byIngestToken(FIRST)?.name).toBe("acme");
    expect(directory.byIngestToken("g-ingest-token")?.name).toBe("globex");
  });

  it("removes a token by its id or by itself; the first's removal makes the oldest added one the first; the last stays", async () => {
    const f = tenantsFile();
    const tokens = new TenantsConfigIngestTokens(f);
    const a = await tokens.add("acme", "a");
    const b = await tokens.add("acme", "b");
    expect(await tokens.remove("acme", b.token!)).toBe(true);
    expect((await loaded(f)).byIngestToken(b.token!)).toBeUndefined();
    expect(await tokens.remove("acme", b.id)).toBe(false);
    expect(await tokens.remove("globex", a.id)).toBe(false);

    expect(await tokens.remove("acme", tokenSha256(FIRST).slice(0, 16))).toBe(true);
    const entry = JSON.parse(readFileSync(f, "utf8"))[0];
    expect(entry.ingestToken).toBeUndefined();
    expect(entry.ingestTokenSha256).toBe(tokenSha256(a.token!));
    expect(entry.extraIngestTokens).toBeUndefined();
    const directory = await loaded(f);
    expect(directory.byIngestToken(FIRST)).toBeUndefined();
    expect(directory.byIngestToken(a.token!)?.name).toBe("acme");
    expect(await tokens.list("acme")).toEqual([{ id: a.id, label: "first token", createdAt: 1_700_000_000_000, primary: true }]);
    await expect(tokens.remove("acme", a.id)).rejects.toMatchObject({ conflict: true, message: expect.stringMatching(/keeps at least one ingest token/) });
  });

  it("refuses a missing label, a 21st token and an unknown tenant, saying why; leaves the file as it was", async () => {
    const f = tenantsFile();
    const tokens = new TenantsConfigIngestTokens(f);
    await expect(tokens.add("acme", "  ")).rejects.toThrow(AccountError);
    for (let i = 0; i < 19; i++) await tokens.add("acme", `sender ${i}`);
    const before = readFileSync(f, "utf8");
    await expect(tokens.add("acme", "one more")).rejects.toMatchObject({ conflict: true, message: expect.stringMatching(/at most 20 ingest tokens/) });
    expect(readFileSync(f, "utf8")).toBe(before);
    await expect(tokens.add("nobody", "x")).rejects.toThrow(/no tenant nobody/);
    await expect(tokens.list("nobody")).rejects.toThrow(/no tenant nobody/);
  });

  it("refuses a file where one token is two tenants' or listed twice", () => {
    const twice = (x: object) => () => parseTenants(JSON.stringify([{ name: "acme", ingestToken: FIRST, apiToken: "a1", ...x }, { name: "globex", ingestTokenSha256: tokenSha256("g-ingest-token"), apiToken: "g1" }]), "t.json");
    const extra = (token: string) => ({ sha256: tokenSha256(token), label: "x", createdAt: 0 });
    // The later entry is the one named: here globex's first token, which acme lists as an added one.
    expect(twice({ extraIngestTokens: [extra("g-ingest-token")] })).toThrow(/\[1\]\.ingestToken: the same as tenant \[0\]'s/);
    expect(twice({ extraIngestTokens: [extra(FIRST)] })).toThrow(/the same token as another of this tenant's/);
    expect(twice({ extraIngestTokens: [extra("x1"), extra("x1")] })).toThrow(TenantsConfigError);
    expect(twice({ extraIngestTokens: [{ sha256: "nope", label: "x", createdAt: 0 }] })).toThrow(/SHA-256 is 64 lowercase hexadecimal digits/);
  });
});
