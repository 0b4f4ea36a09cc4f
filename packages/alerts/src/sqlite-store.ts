import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Alert, AlertChannel, AlertComparison, AlertFiring, AlertSpec, AlertState, AlertStore, DeliveryTry } from "@unmeltable/core";
import { FIRINGS_KEPT_PER_TENANT } from "./firings";
import { openPrivateDb } from "./sqlite-file";

/**
 * Alerts and their firings in `<data-dir>/alerts.db` (SQLite, WAL): per tenant, surviving restarts.
 * The firings of a deleted alert stay in the history (they carry the alert's name).
 */
export class SqliteAlertStore implements AlertStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    // Webhook URLs often carry a secret (Slack's do): the file is the service user's only, whatever the umask.
    this.db = openPrivateDb(dataDir, "alerts.db");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS alerts (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        query TEXT NOT NULL,
        comparison TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        window_minutes INTEGER NOT NULL,
        webhook_url TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_checked_at INTEGER,
        last_count INTEGER,
        last_error TEXT,
        triggered INTEGER NOT NULL DEFAULT 0,
        last_fired_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS alerts_by_tenant ON alerts (tenant, created_at);
      CREATE TABLE IF NOT EXISTS firings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL,
        alert_name TEXT NOT NULL,
        tenant TEXT NOT NULL,
        fired_at INTEGER NOT NULL,
        query TEXT NOT NULL,
        count INTEGER NOT NULL,
        comparison TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        window_minutes INTEGER NOT NULL,
        range_from INTEGER NOT NULL,
        range_until INTEGER NOT NULL,
        link TEXT NOT NULL,
        delivered INTEGER NOT NULL,
        status INTEGER,
        error TEXT,
        attempts INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS firings_by_tenant ON firings (tenant, seq);
      CREATE INDEX IF NOT EXISTS firings_by_alert ON firings (alert_id, seq);
    `);
    // Data directories made before saved searches, channels and "resolved" notifications: their columns.
    this.addColumns("alerts", {
      saved_search_id: "TEXT",
      channel: "TEXT",
      routing_key: "TEXT",
      email_to: "TEXT",
      notify_resolved: "INTEGER",
      last_resolved_at: "INTEGER",
    });
    this.addColumns("firings", { kind: "TEXT", channel: "TEXT", tries: "TEXT" });
  }

  private addColumns(table: string, wanted: Record<string, string>): void {
    const have = new Set((this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    for (const [name, type] of Object.entries(wanted)) if (!have.has(name)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  }

  async list(tenant: string): Promise<Alert[]> {
    return (this.db.prepare("SELECT * FROM alerts WHERE tenant = ? ORDER BY created_at, id").all(tenant) as AlertRow[]).map(toAlert);
  }

  async get(tenant: string, id: string): Promise<Alert | undefined> {
    const row = this.db.prepare("SELECT * FROM alerts WHERE tenant = ? AND id = ?").get(tenant, id) as AlertRow | undefined;
    return row && toAlert(row);
  }

  async create(tenant: string, spec: AlertSpec, now: number): Promise<Alert> {
    const id = randomUUID();
    this.db
      .prepare(
        `INSERT INTO alerts (id, tenant, name, query, comparison, threshold, window_minutes, webhook_url, enabled, saved_search_id, channel, routing_key, email_to, notify_resolved, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, tenant, spec.name, spec.query, spec.comparison, spec.threshold, spec.windowMinutes, spec.webhookUrl, spec.enabled ? 1 : 0, ...channelColumns(spec), now, now);
    return (await this.get(tenant, id))!;
  }

  async update(tenant: string, id: string, spec: AlertSpec, now: number): Promise<Alert | undefined> {
    const old = await this.get(tenant, id);
    if (!old) return undefined;
    // A changed condition starts afresh: it may fire at the next check.
    const conditionChanged =
      old.query !== spec.query || old.comparison !== spec.comparison || old.threshold !== spec.threshold || old.windowMinutes !== spec.windowMinutes || old.savedSearchId !== spec.savedSearchId || (old.channel ?? "webhook") !== (spec.channel ?? "webhook");
    this.db
      .prepare(
        `UPDATE alerts SET name = ?, query = ?, comparison = ?, threshold = ?, window_minutes = ?, webhook_url = ?, enabled = ?,
           saved_search_id = ?, channel = ?, routing_key = ?, email_to = ?, notify_resolved = ?, updated_at = ?
         ${conditionChanged ? ", last_checked_at = NULL, last_count = NULL, last_error = NULL, triggered = 0, last_fired_at = NULL, last_resolved_at = NULL" : ""}
         WHERE tenant = ? AND id = ?`,
      )
      .run(spec.name, spec.query, spec.comparison, spec.threshold, spec.windowMinutes, spec.webhookUrl, spec.enabled ? 1 : 0, ...channelColumns(spec), now, tenant, id);
    return this.get(tenant, id);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM alerts WHERE tenant = ? AND id = ?").run(tenant, id).changes > 0;
  }

  async firings(tenant: string, opts: { alertId?: string; limit: number }): Promise<AlertFiring[]> {
    const rows = opts.alertId
      ? this.db.prepare("SELECT * FROM firings WHERE tenant = ? AND alert_id = ? ORDER BY seq DESC LIMIT ?").all(tenant, opts.alertId, opts.limit)
      : this.db.prepare("SELECT * FROM firings WHERE tenant = ? ORDER BY seq DESC LIMIT ?").all(tenant, opts.limit);
    return (rows as FiringRow[]).map(toFiring);
  }

  async enabled(): Promise<Alert[]> {
    return (this.db.prepare("SELECT * FROM alerts WHERE enabled = 1 ORDER BY tenant, created_at, id").all() as AlertRow[]).map(toAlert);
  }

  async saveState(alert: Pick<Alert, "tenant" | "id" | "updatedAt">, state: AlertState): Promise<void> {
    this.db
      .prepare("UPDATE alerts SET last_checked_at = ?, last_count = ?, last_error = ?, triggered = ?, last_fired_at = ?, last_resolved_at = ? WHERE tenant = ? AND id = ? AND updated_at = ?")
      .run(state.lastCheckedAt ?? null, state.lastCount ?? null, state.lastError ?? null, state.triggered ? 1 : 0, state.lastFiredAt ?? null, state.lastResolvedAt ?? null, alert.tenant, alert.id, alert.updatedAt);
  }

  async addFiring(f: AlertFiring): Promise<void> {
    const insert = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO firings (id, alert_id, alert_name, tenant, fired_at, query, count, comparison, threshold, window_minutes, range_from, range_until, link, delivered, status, error, attempts, kind, channel, tries)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          f.id,
          f.alertId,
          f.alertName,
          f.tenant,
          f.firedAt,
          f.query,
          f.count,
          f.comparison,
          f.threshold,
          f.windowMinutes,
          f.from,
          f.until,
          f.link,
          f.delivery.ok ? 1 : 0,
          f.delivery.status ?? null,
          f.delivery.error ?? null,
          f.delivery.attempts,
          f.kind ?? "triggered",
          f.channel ?? "webhook",
          f.delivery.tries ? JSON.stringify(f.delivery.tries) : null,
        );
      this.db
        .prepare("DELETE FROM firings WHERE tenant = ? AND seq <= (SELECT seq FROM firings WHERE tenant = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)")
        .run(f.tenant, f.tenant, FIRINGS_KEPT_PER_TENANT);
    });
    insert();
  }

  close(): void {
    this.db.close();
  }
}

interface AlertRow {
  id: string;
  tenant: string;
  name: string;
  query: string;
  comparison: AlertComparison;
  threshold: number;
  window_minutes: number;
  webhook_url: string;
  enabled: number;
  saved_search_id: string | null;
  channel: AlertChannel | null;
  routing_key: string | null;
  email_to: string | null;
  notify_resolved: number | null;
  last_resolved_at: number | null;
  created_at: number;
  updated_at: number;
  last_checked_at: number | null;
  last_count: number | null;
  last_error: string | null;
  triggered: number;
  last_fired_at: number | null;
}

interface FiringRow {
  id: string;
  alert_id: string;
  alert_name: string;
  tenant: string;
  fired_at: number;
  query: string;
  count: number;
  comparison: AlertComparison;
  threshold: number;
  window_minutes: number;
  range_from: number;
  range_until: number;
  link: string;
  delivered: number;
  status: number | null;
  error: string | null;
  attempts: number;
  kind: "triggered" | "resolved" | null;
  channel: AlertChannel | null;
  tries: string | null;
}

function toAlert(r: AlertRow): Alert {
  const state: AlertState = { triggered: r.triggered === 1 };
  if (r.last_checked_at !== null) state.lastCheckedAt = r.last_checked_at;
  if (r.last_count !== null) state.lastCount = r.last_count;
  if (r.last_error !== null) state.lastError = r.last_error;
  if (r.last_fired_at !== null) state.lastFiredAt = r.last_fired_at;
  if (r.last_resolved_at !== null) state.lastResolvedAt = r.last_resolved_at;
  return {
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    query: r.query,
    comparison: r.comparison,
    threshold: r.threshold,
    windowMinutes: r.window_minutes,
    webhookUrl: r.webhook_url,
    enabled: r.enabled === 1,
    ...(r.saved_search_id !== null ? { savedSearchId: r.saved_search_id } : {}),
    ...(r.channel !== null ? { channel: r.channel } : {}),
    ...(r.routing_key !== null ? { routingKey: r.routing_key } : {}),
    ...(r.email_to !== null ? { emailTo: JSON.parse(r.email_to) as string[] } : {}),
    ...(r.notify_resolved !== null ? { notifyResolved: r.notify_resolved === 1 } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    state,
  };
}

function toFiring(r: FiringRow): AlertFiring {
  const delivery: AlertFiring["delivery"] = { ok: r.delivered === 1, attempts: r.attempts };
  if (r.status !== null) delivery.status = r.status;
  if (r.error !== null) delivery.error = r.error;
  if (r.tries !== null) delivery.tries = JSON.parse(r.tries) as DeliveryTry[];
  return {
    id: r.id,
    ...(r.kind !== null ? { kind: r.kind } : {}),
    ...(r.channel !== null ? { channel: r.channel } : {}),
    alertId: r.alert_id,
    alertName: r.alert_name,
    tenant: r.tenant,
    firedAt: r.fired_at,
    query: r.query,
    count: r.count,
    comparison: r.comparison,
    threshold: r.threshold,
    windowMinutes: r.window_minutes,
    from: r.range_from,
    until: r.range_until,
    link: r.link,
    delivery,
  };
}

/** saved_search_id, channel, routing_key, email_to, notify_resolved: as stored. */
function channelColumns(spec: AlertSpec): (string | number | null)[] {
  return [
    spec.savedSearchId ?? null,
    spec.channel ?? null,
    spec.routingKey ?? null,
    spec.emailTo ? JSON.stringify(spec.emailTo) : null,
    spec.notifyResolved === undefined ? null : spec.notifyResolved ? 1 : 0,
  ];
}
