import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TenantStore } from "../../packages/runtime/src/tenant-store";

/** Every byte SQLite keeps for tenants.db: the database, its WAL and its shared-memory index. */
function fileBytes(dir: string): string {
  return ["tenants.db", "tenants.db-wal", "tenants.db-shm"]
    .map((f) => path.join(dir, f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString("latin1"))
    .join("\n");
}

/**
 * The tenant table before API tokens were hashed (the first release's schema and its later columns),
 * written by a process that then dies without closing it: its rows are in the WAL, in clear.
 */
function writeOldTable(dir: string, tenants: { name: string; ingestToken: string; apiToken: string }[]): void {
  const script = `
    const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
    const db = new Database(${JSON.stringify(path.join(dir, "tenants.db"))});
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.exec("CREATE TABLE tenants (name TEXT PRIMARY KEY, ingest_token TEXT NOT NULL UNIQUE, api_token TEXT NOT NULL UNIQUE, tier TEXT NOT NULL DEFAULT 'default', partition_spread INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL)");
    db.exec("ALTER TABLE tenants ADD COLUMN slice TEXT NOT NULL DEFAULT 'day'");
    db.exec("ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30");
    const insert = db.prepare("INSERT INTO tenants (name, ingest_token, api_token, tier, created_at, slice) VALUES (?, ?, ?, 'default', 1, 'week')");
    for (const t of ${JSON.stringify(tenants)}) insert.run(t.name, t.ingestToken, t.apiToken);
    process.exit(0);
  `;
  execFileSync(process.execPath, ["-e", script]);
}

describe("the tenant table keeps API tokens as hashes", () => {
  let root: string;
  let n = 0;
  const freshDir = () => path.join(root, `d${n++}`);
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "unmeltable-tenants-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("never writes an API token to tenants.db (nor its WAL), yet the token authenticates; the file is 0600", () => {
    const dir = freshDir();
    const store = new TenantStore(dir);
    const acme = store.add("acme");
    const other = store.add("other");
    const directory = store.liveDirectory();
    try {
      expect(directory.byApiToken(acme.apiToken)?.name).toBe("acme");
      expect(directory.byApiToken(other.apiToken)?.name).toBe("other");
      expect(directory.byApiToken(acme.apiToken.slice(0, -1))).toBeUndefined();
      expect(directory.byApiToken("")).toBeUndefined();
      expect(directory.byName("acme")?.apiToken).toBeUndefined();
      const bytes = fileBytes(dir);
      expect(bytes).not.toContain(acme.apiToken);
      expect(bytes).not.toContain(other.apiToken);
      // Ingest tokens stay retrievable (senders' configs, the UI's source setup): in clear, in a private file.
      expect(bytes).toContain(acme.ingestToken);
      for (const f of ["tenants.db", "tenants.db-wal", "tenants.db-shm"]) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    } finally {
      directory.stop();
      store.close();
    }
    expect(fileBytes(dir)).not.toContain(acme.apiToken);
  });

  it("rotates a token: a running directory takes the new one and refuses the old one at once", () => {
    const dir = freshDir();
    const server = new TenantStore(dir);
    const { apiToken: old } = server.add("acme");
    const directory = server.liveDirectory(3_600_000); // no poll: only the lookup itself may notice
    const cli = new TenantStore(dir);
    try {
      expect(directory.byApiToken(old)?.name).toBe("acme");
      const rotated = cli.rotateApiToken("acme");
      expect(rotated.apiToken).not.toBe(old);
      expect(directory.byApiToken(rotated.apiToken)?.name).toBe("acme");
      expect(directory.byApiToken(old)).toBeUndefined();
      expect(() => cli.rotateApiToken("nobody")).toThrow(/no tenant nobody/);
    } finally {
      directory.stop();
      cli.close();
      server.close();
    }
  });

  it("mints a token for a local command that works at once, ends when revoked, and expires by itself", () => {
    const dir = freshDir();
    const server = new TenantStore(dir);
    const { apiToken } = server.add("acme");
    const directory = server.liveDirectory(3_600_000);
    const cli = new TenantStore(dir);
    try {
      const minted = cli.issueApiToken("acme", { purpose: "cli", ttlMs: 3_600_000 });
      expect(directory.byApiToken(minted)?.name).toBe("acme");
      expect(cli.revokeApiToken(minted)).toBe(true);
      expect(directory.byApiToken(minted)).toBeUndefined();
      const expired = cli.issueApiToken("acme", { purpose: "cli", ttlMs: 0 });
      expect(directory.byApiToken(expired)).toBeUndefined();
      // The tenant's own token is untouched by either.
      expect(directory.byApiToken(apiToken)?.name).toBe("acme");
      expect(cli.apiTokens().map((t) => t.purpose)).toEqual(["api"]);
    } finally {
      directory.stop();
      cli.close();
      server.close();
    }
  });

  it("converts an older table with clear API tokens: they keep working, and no byte of them is left in the files", () => {
    const dir = freshDir();
    const old = [
      { name: "default", ingestToken: "5e4f0c72-b0dd-413e-96e2-c87f0bff5ee0", apiToken: "6hgEQBsC-3JOF00GOpCiNbDF2agA3ZUU" },
      { name: "acme", ingestToken: "0b0e5f9c-1f7e-4b55-9d0e-8a4f3c2b1a00", apiToken: "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh" },
    ];
    mkdirSync(dir);
    writeOldTable(dir, old);
    expect(fileBytes(dir)).toContain(old[0]!.apiToken);

    const store = new TenantStore(dir);
    const directory = store.liveDirectory();
    try {
      for (const t of old) {
        expect(directory.byApiToken(t.apiToken)?.name).toBe(t.name);
        expect(directory.byIngestToken(t.ingestToken)?.name).toBe(t.name);
      }
      expect(store.get("acme")).toMatchObject({ slice: "week", retentionDays: 30, tier: "default" });
      const bytes = fileBytes(dir);
      for (const t of old) expect(bytes).not.toContain(t.apiToken);
    } finally {
      directory.stop();
      store.close();
    }
    const columns = new Database(path.join(dir, "tenants.db"), { readonly: true });
    try {
      expect((columns.prepare("PRAGMA table_info(tenants)").all() as { name: string }[]).map((c) => c.name)).not.toContain("api_token");
    } finally {
      columns.close();
    }
    // Opening it again converts nothing twice.
    const again = new TenantStore(dir);
    expect(again.apiTokens()).toHaveLength(2);
    again.close();
  });
});
