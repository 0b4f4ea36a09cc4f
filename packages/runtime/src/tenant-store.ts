import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { validateTenantName, type Tenant, type TenantDirectory } from "@unmeltable/core";

/**
 * Tenants of a single-machine installation, in `<data-dir>/tenants.db` (SQLite), so that the CLI can add
 * one while the server runs: the server notices the commit (PRAGMA data_version) within a poll interval
 * and serves the new tokens from then on.
 */
export class TenantStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, "tenants.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`CREATE TABLE IF NOT EXISTS tenants (
      name TEXT PRIMARY KEY,
      ingest_token TEXT NOT NULL UNIQUE,
      api_token TEXT NOT NULL UNIQUE,
      tier TEXT NOT NULL DEFAULT 'default',
      partition_spread INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL
    )`);
    // Columns added after the first release: add them to older tables.
    const columns = new Set((this.db.prepare("PRAGMA table_info(tenants)").all() as { name: string }[]).map((c) => c.name));
    if (!columns.has("slice")) this.db.exec("ALTER TABLE tenants ADD COLUMN slice TEXT NOT NULL DEFAULT 'day'");
    if (!columns.has("retention_days")) this.db.exec("ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30");
  }

  add(name: string, opts: { tier?: string; partitionSpread?: number; slice?: Tenant["slice"]; retentionDays?: number; ingestToken?: string } = {}): Tenant {
    const problem = validateTenantName(name);
    if (problem) throw new TenantError(`invalid tenant name ${JSON.stringify(name)}: ${problem}`);
    if (this.get(name)) throw new TenantError(`tenant ${name} already exists`);
    if (opts.ingestToken !== undefined) {
      // An existing token (a Loggly customer token): the senders already configured keep working.
      if (!/^[A-Za-z0-9-]{16,64}$/.test(opts.ingestToken)) throw new TenantError("an ingest token is 16-64 letters, digits and '-' (Loggly's are UUIDs)");
      if (this.list().some((t) => t.ingestToken === opts.ingestToken)) throw new TenantError("that ingest token belongs to another tenant");
    }
    const tenant: Tenant = {
      name,
      // Loggly customer tokens are UUIDs; clients and scripts expect that shape.
      ingestToken: opts.ingestToken ?? randomUUID(),
      apiToken: randomBytes(24).toString("base64url"),
      tier: opts.tier ?? "default",
      partitionSpread: opts.partitionSpread ?? 1,
      slice: opts.slice ?? "day",
      retentionDays: opts.retentionDays ?? 30,
      createdAt: Date.now(),
    };
    this.db
      .prepare("INSERT INTO tenants (name, ingest_token, api_token, tier, partition_spread, slice, retention_days, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(tenant.name, tenant.ingestToken, tenant.apiToken, tenant.tier, tenant.partitionSpread, tenant.slice, tenant.retentionDays, tenant.createdAt);
    return tenant;
  }

  /** Changes a tenant's settings (a tier move, its slice length, its retention). */
  update(name: string, changes: Partial<Pick<Tenant, "tier" | "slice" | "retentionDays" | "partitionSpread">>): Tenant {
    const current = this.get(name);
    if (!current) throw new TenantError(`no tenant ${name}`);
    if (changes.slice !== undefined && !["hour", "day", "week"].includes(changes.slice)) throw new TenantError("slice must be hour, day or week");
    if (changes.retentionDays !== undefined && !(Number.isInteger(changes.retentionDays) && changes.retentionDays > 0)) throw new TenantError("retention must be a whole number of days > 0");
    if (changes.tier !== undefined && !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(changes.tier)) throw new TenantError("a tier name is lowercase letters, digits, '-' and '_'");
    const next = { ...current, ...changes };
    this.db
      .prepare("UPDATE tenants SET tier = ?, slice = ?, retention_days = ?, partition_spread = ? WHERE name = ?")
      .run(next.tier, next.slice, next.retentionDays, next.partitionSpread, name);
    return next;
  }

  get(name: string): Tenant | undefined {
    const row = this.db.prepare("SELECT * FROM tenants WHERE name = ?").get(name) as Row | undefined;
    return row && toTenant(row);
  }

  list(): Tenant[] {
    return (this.db.prepare("SELECT * FROM tenants ORDER BY name").all() as Row[]).map(toTenant);
  }

  /** A directory that follows the table, re-reading it when another connection committed a change. */
  liveDirectory(pollMs = 250): LiveTenantDirectory {
    return new LiveTenantDirectory(this, () => this.db.pragma("data_version", { simple: true }) as number, pollMs);
  }

  close(): void {
    this.db.close();
  }
}

export class TenantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TenantError";
  }
}

export class LiveTenantDirectory extends EventEmitter implements TenantDirectory {
  private byIngest = new Map<string, Tenant>();
  private byApi = new Map<string, Tenant>();
  private byNameMap = new Map<string, Tenant>();
  private version = -1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: TenantStore,
    private readonly dataVersion: () => number,
    pollMs: number,
  ) {
    super();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), pollMs);
    this.timer.unref();
  }

  refresh(): void {
    const v = this.dataVersion();
    if (v === this.version) return;
    this.version = v;
    const tenants = this.store.list();
    this.byIngest = new Map(tenants.map((t) => [t.ingestToken, t]));
    this.byApi = new Map(tenants.map((t) => [t.apiToken, t]));
    this.byNameMap = new Map(tenants.map((t) => [t.name, t]));
    this.emit("change", tenants);
  }

  byIngestToken(token: string): Tenant | undefined {
    return this.byIngest.get(token);
  }
  byApiToken(token: string): Tenant | undefined {
    return this.byApi.get(token);
  }
  byName(name: string): Tenant | undefined {
    return this.byNameMap.get(name);
  }
  list(): Tenant[] {
    return [...this.byNameMap.values()];
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface Row {
  name: string;
  ingest_token: string;
  api_token: string;
  tier: string;
  partition_spread: number;
  slice: Tenant["slice"];
  retention_days: number;
  created_at: number;
}

function toTenant(r: Row): Tenant {
  return {
    name: r.name,
    ingestToken: r.ingest_token,
    apiToken: r.api_token,
    tier: r.tier,
    partitionSpread: r.partition_spread,
    slice: r.slice,
    retentionDays: r.retention_days,
    createdAt: r.created_at,
  };
}
