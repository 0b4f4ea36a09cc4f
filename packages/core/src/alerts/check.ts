import { newEventId } from "../ids";
import type { IndexPort } from "../ports/index";
import { errorFields, noLogger, type Logger } from "../ports/logger";
import { parseQuery } from "../query/parse";
import { alertWindow, conditionHolds, shouldNotify, shouldResolve, type Alert, type AlertFiring, type AlertState } from "./alert";
import type { AlertStore, Notifier } from "./ports";
import type { RecordStore } from "../saved-searches/records";
import type { SavedSearchSpec } from "../saved-searches/saved-search";

export interface AlertCheckDeps {
  store: Pick<AlertStore, "enabled" | "saveState" | "addFiring">;
  index: Pick<IndexPort, "count">;
  /** Where the saved searches that alerts are built on are read (each check reads the current query). */
  searches?: Pick<RecordStore<SavedSearchSpec>, "get">;
  /** Delivers a notification to the alert's channel (packages/alerts: `channelNotifier`). */
  notify: Notifier;
  /** The UI link for a query over a window (see `searchLink`). */
  linkFor: (query: string, from: number, until: number) => string;
  now?: () => number;
  /** Alerts counted at the same time. */
  concurrency?: number;
  /** Why an alert could not be counted (warn), and each firing (info), bound to the alert's tenant and id. */
  logger?: Logger;
}

export interface AlertCheckResult {
  alertId: string;
  tenant: string;
  count?: number;
  holds: boolean;
  fired: boolean;
  /** A "resolved" notification went out. */
  resolved?: boolean;
  error?: string;
}

/**
 * One round of alert checks: counts every enabled alert's query over its window through the index
 * port, records the state, and for those whose condition holds (at most once per window) sends the
 * webhook and records the firing. A function of ports only, so the local timer and a scheduled Lambda
 * run the same code. One alert's failure (a bad query, an index error) never stops the others.
 */
export async function checkAlerts(deps: AlertCheckDeps): Promise<AlertCheckResult[]> {
  const now = deps.now?.() ?? Date.now();
  const alerts = await deps.store.enabled();
  const results: AlertCheckResult[] = new Array<AlertCheckResult>(alerts.length);
  let next = 0;
  const worker = async () => {
    while (next < alerts.length) {
      const i = next++;
      results[i] = await checkOne(alerts[i]!, now, deps);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 4, alerts.length)) }, worker));
  return results;
}

async function checkOne(alert: Alert, now: number, deps: AlertCheckDeps): Promise<AlertCheckResult> {
  const { from, until } = alertWindow(alert, now);
  const log = (deps.logger ?? noLogger).child({ tenant: alert.tenant, alert: alert.id, name: alert.name });
  let count: number;
  let query = alert.query;
  try {
    query = await queryOf(alert, deps);
    count = await deps.index.count({ tenant: alert.tenant, query: parseQuery(query), from, until });
  } catch (err) {
    const error = (err as Error).message;
    await deps.store.saveState(alert, { ...alert.state, lastCheckedAt: now, lastError: error });
    log.warn("alert could not count its query (the next check tries again)", errorFields(err));
    return { alertId: alert.id, tenant: alert.tenant, holds: false, fired: false, error };
  }
  const holds = conditionHolds(alert, count);
  const state: AlertState = { lastCheckedAt: now, lastCount: count, triggered: holds, lastFiredAt: alert.state.lastFiredAt, lastResolvedAt: alert.state.lastResolvedAt };
  if (state.lastResolvedAt === undefined) delete state.lastResolvedAt;
  const fire = shouldNotify(alert, holds, now);
  const resolve = !fire && shouldResolve(alert, holds);
  if (fire || resolve) {
    const base: Omit<AlertFiring, "delivery" | "id"> = {
      kind: fire ? "triggered" : "resolved",
      channel: alert.channel ?? "webhook",
      alertId: alert.id,
      alertName: alert.name,
      tenant: alert.tenant,
      firedAt: now,
      query,
      count,
      comparison: alert.comparison,
      threshold: alert.threshold,
      windowMinutes: alert.windowMinutes,
      from,
      until,
      link: deps.linkFor(query, from, until),
    };
    const delivery = await deps.notify(alert, base);
    await deps.store.addFiring({ ...base, id: newEventId(now), delivery });
    if (fire) state.lastFiredAt = now;
    else state.lastResolvedAt = now;
    log.info(fire ? "alert fired" : "alert resolved", { count, channel: base.channel, delivered: delivery.ok, status: delivery.status, ...(delivery.ok ? {} : { error: delivery.error }) });
  }
  await deps.store.saveState(alert, state);
  return { alertId: alert.id, tenant: alert.tenant, count, holds, fired: fire, resolved: resolve };
}

/** The query an alert counts: its saved search's, as it is now, when it is built on one. */
async function queryOf(alert: Alert, deps: AlertCheckDeps): Promise<string> {
  if (alert.savedSearchId === undefined) return alert.query;
  const saved = deps.searches ? await deps.searches.get(alert.tenant, alert.savedSearchId) : undefined;
  if (!saved) throw new Error(`its saved search ${alert.savedSearchId} was deleted: edit the alert to give it a query or another saved search`);
  return saved.query;
}
