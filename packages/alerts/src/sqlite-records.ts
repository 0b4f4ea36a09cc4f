import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { RecordStore, Stored } from "@unmeltable/core";
import { openPrivateDb } from "./sqlite-file";

/**
 * A tenant's named records of one kind (`searches`, …) in `<data-dir>/records.db` (SQLite, WAL), the spec
 * as JSON: they are small, few (hundreds per tenant) and read whole, so a column per field buys nothing.
 */
export class SqliteRecordStore<S extends object> implements RecordStore<S> {
  private readonly db: Database.Database;

  constructor(
    dataDir: string,
    private readonly kind: string,
  ) {
    this.db = openPrivateDb(dataDir, "records.db");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS records (
        kind TEXT NOT NULL,
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, tenant, id)
      );
      CREATE INDEX IF NOT EXISTS records_by_tenant ON records (kind, tenant, created_at);
    `);
  }

  async list(tenant: string): Promise<Stored<S>[]> {
    const rows = this.db.prepare("SELECT * FROM records WHERE kind = ? AND tenant = ? ORDER BY created_at, id").all(this.kind, tenant) as Row[];
    return rows.map((r) => this.toRecord(r));
  }

  async get(tenant: string, id: string): Promise<Stored<S> | undefined> {
    const row = this.db.prepare("SELECT * FROM records WHERE kind = ? AND tenant = ? AND id = ?").get(this.kind, tenant, id) as Row | undefined;
    return row && this.toRecord(row);
  }

  async create(tenant: string, spec: S, now: number): Promise<Stored<S>> {
    const id = randomUUID();
    this.db.prepare("INSERT INTO records (kind, tenant, id, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)").run(this.kind, tenant, id, JSON.stringify(spec), now, now);
    return { ...spec, id, tenant, createdAt: now, updatedAt: now };
  }

  async update(tenant: string, id: string, spec: S, now: number): Promise<Stored<S> | undefined> {
    const changed = this.db
      .prepare("UPDATE records SET spec = ?, updated_at = MAX(?, updated_at + 1) WHERE kind = ? AND tenant = ? AND id = ?")
      .run(JSON.stringify(spec), now, this.kind, tenant, id).changes;
    return changed > 0 ? this.get(tenant, id) : undefined;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM records WHERE kind = ? AND tenant = ? AND id = ?").run(this.kind, tenant, id).changes > 0;
  }

  close(): void {
    this.db.close();
  }

  private toRecord(r: Row): Stored<S> {
    return { ...(JSON.parse(r.spec) as S), id: r.id, tenant: r.tenant, createdAt: r.created_at, updatedAt: r.updated_at };
  }
}

interface Row {
  tenant: string;
  id: string;
  spec: string;
  created_at: number;
  updated_at: number;
}
