import { randomUUID } from "node:crypto";
import type { Alert, AlertFiring, AlertSpec, AlertState, AlertStore, ObjectStore } from "@unmeltable/core";
import { FIRINGS_KEPT_PER_TENANT } from "./firings";
import { readJson, writeJson } from "./object-json";

/**
 * Alerts in an object store — S3 on AWS, where the checker is a scheduled Lambda and the API runs in the
 * search function (`UNMELTABLE_ALERTS=s3://bucket/alerts/`). One object per alert (definition and the
 * checker's state) and one per firing, so that the API and the checker never rewrite each other's objects:
 *
 *   <tenant>/alerts/<id>.json
 *   <tenant>/firings/<firedAt, zero-padded>-<id>.json   (listed newest first by reversing the key order)
 */
export class ObjectAlertStore implements AlertStore {
  constructor(private readonly store: ObjectStore) {}

  async list(tenant: string): Promise<Alert[]> {
    const alerts = await Promise.all((await this.store.list(`${tenant}/alerts/`)).map((k) => this.read<Alert>(k)));
    return alerts.filter((a): a is Alert => a !== undefined).sort((a, b) => a.createdAt - b.createdAt);
  }

  get(tenant: string, id: string): Promise<Alert | undefined> {
    return this.read<Alert>(this.alertKey(tenant, id));
  }

  async create(tenant: string, spec: AlertSpec, now: number): Promise<Alert> {
    const alert: Alert = { ...spec, id: randomUUID(), tenant, createdAt: now, updatedAt: now, state: { triggered: false } };
    await this.write(this.alertKey(tenant, alert.id), alert);
    return alert;
  }

  async update(tenant: string, id: string, spec: AlertSpec, now: number): Promise<Alert | undefined> {
    const current = await this.get(tenant, id);
    if (!current) return undefined;
    const conditionChanged =
      current.query !== spec.query ||
      current.comparison !== spec.comparison ||
      current.threshold !== spec.threshold ||
      current.windowMinutes !== spec.windowMinutes ||
      current.savedSearchId !== spec.savedSearchId ||
      (current.channel ?? "webhook") !== (spec.channel ?? "webhook");
    // A spec without savedSearchId detaches the alert: the old one must not survive the spread.
    const { savedSearchId: _detached, routingKey: _key, emailTo: _to, ...kept } = current;
    const next: Alert = { ...kept, ...spec, updatedAt: Math.max(now, current.updatedAt + 1), state: conditionChanged ? { triggered: false } : current.state };
    await this.write(this.alertKey(tenant, id), next);
    return next;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    if (!(await this.get(tenant, id))) return false;
    await this.store.delete(this.alertKey(tenant, id));
    return true;
  }

  async firings(tenant: string, opts: { alertId?: string; limit: number }): Promise<AlertFiring[]> {
    const keys = (await this.store.list(`${tenant}/firings/`)).reverse();
    const out: AlertFiring[] = [];
    for (const key of keys) {
      if (out.length >= opts.limit) break;
      if (opts.alertId && !key.endsWith(`-${opts.alertId}.json`)) continue;
      const f = await this.read<AlertFiring>(key);
      if (f) out.push(f);
    }
    return out;
  }

  async enabled(): Promise<Alert[]> {
    const keys = (await this.store.list("")).filter((k) => /^[^/]+\/alerts\/[^/]+\.json$/.test(k));
    const alerts = await Promise.all(keys.map((k) => this.read<Alert>(k)));
    return alerts.filter((a): a is Alert => a?.enabled === true);
  }

  async saveState(alert: Pick<Alert, "tenant" | "id" | "updatedAt">, state: AlertState): Promise<void> {
    const current = await this.get(alert.tenant, alert.id);
    // Changed or deleted since the check read it: the edit wins.
    if (!current || current.updatedAt !== alert.updatedAt) return;
    await this.write(this.alertKey(alert.tenant, alert.id), { ...current, state });
  }

  async addFiring(firing: AlertFiring): Promise<void> {
    await this.write(`${firing.tenant}/firings/${String(firing.firedAt).padStart(15, "0")}-${firing.alertId}.json`, firing);
    const keys = await this.store.list(`${firing.tenant}/firings/`);
    for (const old of keys.slice(0, Math.max(0, keys.length - FIRINGS_KEPT_PER_TENANT))) await this.store.delete(old);
  }

  /** Nothing to release (the object store holds no connection). */
  close(): void {}

  private alertKey(tenant: string, id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`invalid alert id ${JSON.stringify(id)}`);
    return `${tenant}/alerts/${id}.json`;
  }

  private read<T>(key: string): Promise<T | undefined> {
    return readJson<T>(this.store, key);
  }

  private write(key: string, value: unknown): Promise<void> {
    return writeJson(this.store, key, value);
  }
}
