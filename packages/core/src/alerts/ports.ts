import type { Alert, AlertFiring, AlertSpec, AlertState, WebhookDelivery } from "./alert";

/**
 * Where alerts and their firings are kept: SQLite in the data directory on one machine
 * (packages/alerts), a table service on AWS. Every method is asynchronous so that both fit.
 */
export interface AlertStore {
  // ---- the tenant's own alerts (the API) ----
  list(tenant: string): Promise<Alert[]>;
  get(tenant: string, id: string): Promise<Alert | undefined>;
  create(tenant: string, spec: AlertSpec, now: number): Promise<Alert>;
  /** Replaces the definition; the checker's state is reset when the condition changed. */
  update(tenant: string, id: string, spec: AlertSpec, now: number): Promise<Alert | undefined>;
  delete(tenant: string, id: string): Promise<boolean>;
  /** Newest first; only the alert's when `alertId` is given. */
  firings(tenant: string, opts: { alertId?: string; limit: number }): Promise<AlertFiring[]>;

  // ---- the checker ----
  /** Every enabled alert of every tenant. */
  enabled(): Promise<Alert[]>;
  /**
   * Records the checker's state for `alert` as it was read by `enabled()`; nothing happens when the alert
   * was changed or deleted in the meantime (its `updatedAt` differs), so a check never undoes an edit.
   */
  saveState(alert: Pick<Alert, "tenant" | "id" | "updatedAt">, state: AlertState): Promise<void>;
  addFiring(firing: AlertFiring): Promise<void>;
}

/**
 * POSTs a JSON body on the webhook rules (SSRF-safe destinations, retries); never throws (a failure is a
 * delivery with `ok: false`). `about` names the tenant (whose DNS lookups are bounded) and the alert (the
 * server's log says which failed).
 */
export type WebhookSender = (url: string, body: object, about: { tenant: string; alertId: string }) => Promise<WebhookDelivery>;

/** Delivers one notification of an alert to its channel (webhook, Slack, PagerDuty, email); never throws. */
export type Notifier = (alert: Alert, firing: Omit<AlertFiring, "delivery" | "id">) => Promise<WebhookDelivery>;
