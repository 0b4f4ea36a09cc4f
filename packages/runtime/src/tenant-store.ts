import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import { errorFields, isRole, noLogger, validateTenantName, type Credential, type Logger, type Plan, type Role, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { ensureAccountTables } from "./account-store";
import { apiTokenHash, TenantError } from "./credentials";

export { apiTokenHash, TenantError };
import { openDataDirDb } from "./sqlite-file";

/** A tenant as created or rotated: the only moment its API token is known in clear. */
export type TenantWithApiToken = Tenant & { apiToken: string };

/**
 * `api`: the tenant's own token (`tenants add`, `tenants rotate-token`); `cli`: minted by a local command
 * for its run; `session`: a user's, from signing in; `user`: an API token a user made (account-store.ts).
 */
export type ApiTokenPurpose = "api" | "cli" | "session" | "user";

/** A new API token: 24 random bytes, base64url (32 characters). */
function newApiToken(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Tenants of a single-machine installation, in `<data-dir>/tenants.db` (SQLite), so that the CLI can add
 * one while the server runs: the server notices the commit (PRAGMA data_version) within a poll interval
 * and serves the new tokens from then on.
 *
 * API tokens (bearer credentials that read a tenant's logs) are kept only as SHA-256 hashes, in
 * `api_tokens`; the token itself is shown once, when created or rotated. A tenant may have several: its
 * own (`api`) and short-lived ones a local command (`unmeltable search`) mints for itself (`cli`).
 * Ingest tokens stay in clear: they are in every sender's configuration and in every syslog line, the
 * UI's source setup shows them, and they can only add logs — the file is the service user's alone (0600).
 * A table from before hashing (an `api_token` column in clear) is converted when opened.
 */
export class TenantStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = openDataDirDb(dataDir, "tenants.db");
    // Deleted rows (a rotated token's hash, the clear tokens of a converted table) are overwritten.
    this.db.pragma("secure_delete = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS tenants (${TENANT_COLUMNS});
      CREATE TABLE IF NOT EXISTS api_tokens (
        token_sha256 TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        purpose TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS api_tokens_by_tenant ON api_tokens (tenant);`);
    ensureAccountTables(this.db);
    // Columns added after the first release: add them to older tables.
    const columns = this.columns();
    if (!columns.has("slice")) this.db.exec("ALTER TABLE tenants ADD COLUMN slice TEXT NOT NULL DEFAULT 'day'");
    if (!columns.has("retention_days")) this.db.exec("ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30");
    // A plan is both numbers or neither (NULL: unlimited).
    if (!columns.has("plan_bytes_per_day")) this.db.exec("ALTER TABLE tenants ADD COLUMN plan_bytes_per_day INTEGER");
    if (!columns.has("plan_events_per_second")) this.db.exec("ALTER TABLE tenants ADD COLUMN plan_events_per_second REAL");
    if (columns.has("api_token")) this.hashClearApiTokens();
  }

  add(name: string, opts: { tier?: string; partitionSpread?: number; slice?: Tenant["slice"]; retentionDays?: number; ingestToken?: string; plan?: Plan } = {}): TenantWithApiToken {
    const problem = validateTenantName(name);
    if (problem) throw new TenantError(`invalid tenant name ${JSON.stringify(name)}: ${problem}`);
    if (opts.plan) checkPlan(opts.plan);
    if (this.get(name)) throw new TenantError(`tenant ${name} already exists`);
    if (opts.ingestToken !== undefined) {
      // An existing token (a Loggly customer token): the senders already configured keep working.
      if (!/^[A-Za-z0-9-]{16,64}$/.test(opts.ingestToken)) throw new TenantError("an ingest token is 16-64 letters, digits and '-' (Loggly's are UUIDs)");
      if (this.list().some((t) => t.ingestToken === opts.ingestToken)) throw new TenantError("that ingest token belongs to another tenant");
    }
    const tenant: TenantWithApiToken = {
      name,
      // Loggly customer tokens are UUIDs; clients and scripts expect that shape.
      ingestToken: opts.ingestToken ?? randomUUID(),
      apiToken: newApiToken(),
      tier: opts.tier ?? "default",
      partitionSpread: opts.partitionSpread ?? 1,
      slice: opts.slice ?? "day",
      retentionDays: opts.retentionDays ?? 30,
      createdAt: Date.now(),
      ...(opts.plan ? { plan: { ...opts.plan } } : {}),
    };
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO tenants (name, ingest_token, tier, partition_spread, slice, retention_days, created_at, plan_bytes_per_day, plan_events_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .run(tenant.name, tenant.ingestToken, tenant.tier, tenant.partitionSpread, tenant.slice, tenant.retentionDays, tenant.createdAt, tenant.plan?.bytesPerDay ?? null, tenant.plan?.eventsPerSecond ?? null);
      this.insertApiToken(tenant.apiToken, name, "api", tenant.createdAt);
    })();
    return tenant;
  }

  /**
   * Replaces the tenant's own API token (and any a local command minted) with a new one; its users'
   * sessions and tokens are theirs, and stay.
   */
  rotateApiToken(name: string): TenantWithApiToken {
    const current = this.get(name);
    if (!current) throw new TenantError(`no tenant ${name}`);
    const apiToken = newApiToken();
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM api_tokens WHERE tenant = ? AND user_id IS NULL").run(name);
      this.insertApiToken(apiToken, name, "api", Date.now());
    })();
    return { ...current, apiToken };
  }

  /**
   * An additional API token for the tenant, valid for `ttlMs` (or until revoked): what `unmeltable search`
   * mints for itself from the data dir, so that no token needs to be copied around on this machine.
   */
  issueApiToken(name: string, opts: { purpose: ApiTokenPurpose; ttlMs?: number }): string {
    if (!this.get(name)) throw new TenantError(`no tenant ${name}`);
    const token = newApiToken();
    const now = Date.now();
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?").run(now);
      this.insertApiToken(token, name, opts.purpose, now, opts.ttlMs === undefined ? undefined : now + opts.ttlMs);
    })();
    return token;
  }

  revokeApiToken(token: string): boolean {
    return this.db.prepare("DELETE FROM api_tokens WHERE token_sha256 = ?").run(apiTokenHash(token)).changes > 0;
  }

  /**
   * The hashes of the API tokens in force, each with the role it acts with: the tenant's own, an admin's;
   * a user's, the user's role as it is now (a token of a user since removed is gone with the user).
   */
  apiTokens(): StoredCredential[] {
    const rows = this.db
      .prepare(
        `SELECT k.token_sha256, k.tenant, k.purpose, k.expires_at, k.user_id, u.email, u.role FROM api_tokens k LEFT JOIN users u ON u.id = k.user_id AND u.tenant = k.tenant
         WHERE (k.expires_at IS NULL OR k.expires_at > ?) AND (k.user_id IS NULL OR u.id IS NOT NULL)`,
      )
      .all(Date.now()) as { token_sha256: string; tenant: string; purpose: ApiTokenPurpose; expires_at: number | null; user_id: string | null; email: string | null; role: string | null }[];
    return rows.map((r) => ({
      sha256: r.token_sha256,
      tenant: r.tenant,
      purpose: r.purpose,
      role: r.user_id === null ? "admin" : isRole(r.role) ? r.role : "readonly",
      ...(r.user_id !== null ? { user: { id: r.user_id, email: r.email ?? "" } } : {}),
      ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
    }));
  }

  /** The ingest tokens added to tenants beside their first (account-store.ts manages them). */
  extraIngestTokens(): { token: string; tenant: string }[] {
    return this.db.prepare("SELECT token, tenant FROM ingest_tokens").all() as { token: string; tenant: string }[];
  }

  /** Changes a tenant's settings (a tier move, its slice length, its retention, its plan: null removes it). */
  update(name: string, changes: Partial<Pick<Tenant, "tier" | "slice" | "retentionDays" | "partitionSpread">> & { plan?: Plan | null }): Tenant {
    const current = this.get(name);
    if (!current) throw new TenantError(`no tenant ${name}`);
    if (changes.slice !== undefined && !["hour", "day", "week"].includes(changes.slice)) throw new TenantError("slice must be hour, day or week");
    if (changes.retentionDays !== undefined && !(Number.isInteger(changes.retentionDays) && changes.retentionDays > 0)) throw new TenantError("retention must be a whole number of days > 0");
    if (changes.tier !== undefined && !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(changes.tier)) throw new TenantError("a tier name is lowercase letters, digits, '-' and '_'");
    if (changes.partitionSpread !== undefined && !(Number.isInteger(changes.partitionSpread) && changes.partitionSpread >= 1 && changes.partitionSpread <= 1000)) throw new TenantError("the partition spread must be a whole number from 1 to 1000");
    if (changes.plan) checkPlan(changes.plan);
    const { plan, ...rest } = changes;
    const next: Tenant = { ...current };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
    if (plan === null) delete next.plan;
    else if (plan !== undefined) next.plan = { ...plan };
    this.db
      .prepare("UPDATE tenants SET tier = ?, slice = ?, retention_days = ?, partition_spread = ?, plan_bytes_per_day = ?, plan_events_per_second = ? WHERE name = ?")
      .run(next.tier, next.slice, next.retentionDays, next.partitionSpread, next.plan?.bytesPerDay ?? null, next.plan?.eventsPerSecond ?? null, name);
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
  liveDirectory(pollMs = 250, logger: Logger = noLogger): LiveTenantDirectory {
    return new LiveTenantDirectory(this, () => this.db.pragma("data_version", { simple: true }) as number, pollMs, logger);
  }

  close(): void {
    this.db.close();
  }

  private columns(): Set<string> {
    return new Set((this.db.prepare("PRAGMA table_info(tenants)").all() as { name: string }[]).map((c) => c.name));
  }

  private insertApiToken(token: string, tenant: string, purpose: ApiTokenPurpose, createdAt: number, expiresAt?: number): void {
    this.db
      .prepare("INSERT INTO api_tokens (token_sha256, tenant, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(apiTokenHash(token), tenant, purpose, createdAt, expiresAt ?? null);
  }

  /**
   * Converts a table from before hashing: each clear `api_token` becomes its hash (the token keeps
   * working), and the table is rebuilt without the column — SQLite cannot drop a UNIQUE column. With
   * secure_delete the old pages are zeroed, and the checkpoint empties the WAL, which held them too.
   */
  private hashClearApiTokens(): void {
    const convert = this.db.transaction(() => {
      // Another process may have converted it while this one waited for the lock.
      if (!this.columns().has("api_token")) return false;
      const rows = this.db.prepare("SELECT name, api_token, created_at FROM tenants").all() as { name: string; api_token: string; created_at: number }[];
      const insert = this.db.prepare("INSERT OR IGNORE INTO api_tokens (token_sha256, tenant, purpose, created_at) VALUES (?, ?, 'api', ?)");
      for (const r of rows) insert.run(apiTokenHash(r.api_token), r.name, r.created_at);
      this.db.exec(`CREATE TABLE tenants_hashed (${TENANT_COLUMNS});
        INSERT INTO tenants_hashed (name, ingest_token, tier, partition_spread, created_at, slice, retention_days)
          SELECT name, ingest_token, tier, partition_spread, created_at, slice, retention_days FROM tenants;
        DROP TABLE tenants;
        ALTER TABLE tenants_hashed RENAME TO tenants;`);
      return true;
    });
    if (convert.immediate()) this.db.pragma("wal_checkpoint(TRUNCATE)");
  }
}

const TENANT_COLUMNS = `
  name TEXT PRIMARY KEY,
  ingest_token TEXT NOT NULL UNIQUE,
  tier TEXT NOT NULL DEFAULT 'default',
  partition_spread INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  slice TEXT NOT NULL DEFAULT 'day',
  retention_days INTEGER NOT NULL DEFAULT 30,
  plan_bytes_per_day INTEGER,
  plan_events_per_second REAL`;

/** The same bounds as a deployment's tenants.json (packages/tenants-config, TENANT_ENTRY.plan). */
function checkPlan(plan: Plan): void {
  if (!(Number.isInteger(plan.bytesPerDay) && plan.bytesPerDay >= 1 && plan.bytesPerDay <= 1e15)) throw new TenantError("a plan's daily volume must be a whole number of bytes from 1 to 10^15");
  if (!(Number.isFinite(plan.eventsPerSecond) && plan.eventsPerSecond > 0 && plan.eventsPerSecond <= 1e8)) throw new TenantError("a plan's rate must be more than 0 and at most 10^8 events per second");
}

/** An API token's row as the directory keeps it: its hash, whose it is and what it may do. */
export interface StoredCredential {
  sha256: string;
  tenant: string;
  purpose: ApiTokenPurpose;
  role: Role;
  user?: { id: string; email: string };
  expiresAt?: number;
}


/** Longer is not a token of ours: not worth hashing. */
const MAX_TOKEN_LENGTH = 512;

export class LiveTenantDirectory extends EventEmitter implements TenantDirectory {
  private byIngest = new Map<string, Tenant>();
  private byApiHash = new Map<string, { credential: Credential; expiresAt?: number }>();
  private byNameMap = new Map<string, Tenant>();
  private version = -1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: TenantStore,
    private readonly dataVersion: () => number,
    pollMs: number,
    private readonly logger: Logger = noLogger,
  ) {
    super();
    this.refresh();
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
  }

  /** Consecutive failed polls: the first is logged, then every 1000th (a poll every 250 ms), and the recovery. */
  private failedPolls = 0;

  /** The timer's refresh: a failure (the table locked, the disk gone) keeps the last good tenants, and is said. */
  private poll(): void {
    try {
      this.refresh();
      if (this.failedPolls > 0) this.logger.info("tenants table readable again", { failedPolls: this.failedPolls });
      this.failedPolls = 0;
    } catch (err) {
      this.failedPolls++;
      if (this.failedPolls === 1 || this.failedPolls % 1000 === 0) this.logger.warn("could not re-read the tenants table; the last good tenants stay in use", { failedPolls: this.failedPolls, ...errorFields(err) });
    }
  }

  refresh(): void {
    const v = this.dataVersion();
    if (v === this.version) return;
    this.version = v;
    const tenants = this.store.list();
    const byName = new Map(tenants.map((t) => [t.name, t]));
    this.byIngest = new Map(tenants.flatMap((t) => (t.ingestToken ? [[t.ingestToken, t] as const] : [])));
    for (const extra of this.store.extraIngestTokens()) {
      const tenant = byName.get(extra.tenant);
      if (tenant) this.byIngest.set(extra.token, tenant);
    }
    this.byApiHash = new Map(
      this.store.apiTokens().flatMap((k) => {
        const tenant = byName.get(k.tenant);
        if (!tenant) return [];
        const credential: Credential = { tenant, role: k.role, ...(k.user ? { user: k.user } : {}), ...(k.purpose === "session" ? { session: true } : {}) };
        return [[k.sha256, { credential, expiresAt: k.expiresAt }] as const];
      }),
    );
    this.byNameMap = byName;
    this.emit("change", tenants);
  }

  byIngestToken(token: string): Tenant | undefined {
    return this.byIngest.get(token);
  }

  byApiToken(token: string): Tenant | undefined {
    return this.credential(token)?.tenant;
  }

  credential(token: string): Credential | undefined {
    if (typeof token !== "string" || token === "" || token.length > MAX_TOKEN_LENGTH) return undefined;
    // A token minted or revoked a moment ago (`unmeltable search`, `tenants rotate-token`) counts at
    // once: look again if the table changed since the last poll (one cheap pragma when it did not).
    try {
      this.refresh();
    } catch {
      return undefined; // the store is closing
    }
    const entry = this.byApiHash.get(apiTokenHash(token));
    if (!entry || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return undefined;
    return entry.credential;
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
  tier: string;
  partition_spread: number;
  slice: Tenant["slice"];
  retention_days: number;
  created_at: number;
  plan_bytes_per_day: number | null;
  plan_events_per_second: number | null;
}

function toTenant(r: Row): Tenant {
  return {
    name: r.name,
    ingestToken: r.ingest_token,
    tier: r.tier,
    partitionSpread: r.partition_spread,
    slice: r.slice,
    retentionDays: r.retention_days,
    createdAt: r.created_at,
    ...(r.plan_bytes_per_day !== null && r.plan_events_per_second !== null ? { plan: { bytesPerDay: r.plan_bytes_per_day, eventsPerSecond: r.plan_events_per_second } } : {}),
  };
}
