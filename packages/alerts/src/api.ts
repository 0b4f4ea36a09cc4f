import {
  authenticate,
  badRequest,
  conflict,
  describeCondition,
  notFound,
  RECORD_ID,
  validateAlertSpec,
  type Alert,
  type AlertFiring,
  type AlertSpec,
  type AlertStore,
  type RecordStore,
  type SavedSearchSpec,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";
import { answerOf, notAllowed, ok, parseBody, pathParts, type RecordsRequest, type RecordsResponse } from "./api-common";
import { WebhookPolicy } from "./destination";

/**
 * The alerts API, tenant-scoped by the API token (`Authorization: bearer TOKEN`), as plain functions of a
 * request like Loggly's apiv2 routes (packages/api), so a Lambda can serve them too.
 *
 *   GET    /apiv2/alerts                   → {alerts:[...]}
 *   POST   /apiv2/alerts                   → 201 {alert}        body: {name, query, comparison, threshold, windowMinutes, webhookUrl, enabled?}
 *   GET    /apiv2/alerts/firings?limit     → {firings:[...]}    the tenant's history, newest first
 *   GET    /apiv2/alerts/ID                → {alert}
 *   PUT    /apiv2/alerts/ID                → {alert}            a partial body changes only what it names (PATCH too)
 *   DELETE /apiv2/alerts/ID                → {response:"ok"}
 *   GET    /apiv2/alerts/ID/firings?limit  → {firings:[...]}
 *
 * Invalid definitions are answered 400 with `errors: [{field, message, position?}]` — among them a
 * webhook URL whose host is not a public address (after DNS resolution) nor allowed by the operator.
 * Every failure is a coded error (core's `CodedError`): `{response: "error", message, code}`. The
 * credentials are read by core's `authenticate`, once, before the routes (`answerAlertsApi` takes the
 * tenant the server found; `handleAlertsApi` authenticates a bare request).
 */
export type AlertsRequest = RecordsRequest;
export type AlertsResponse = RecordsResponse;

export interface AlertsApiDeps {
  store: AlertStore;
  tenants: TenantDirectory;
  now?: () => number;
  /** Alerts one tenant may have. */
  maxAlertsPerTenant?: number;
  /** Where webhooks may go (default: public addresses plus UNMELTABLE_WEBHOOK_ALLOW). */
  webhooks?: WebhookPolicy;
  /** Whether this deployment sends email (a mail server is configured): email alerts are refused otherwise. */
  email?: boolean;
  /** The tenant's saved searches, which alerts may be built on (`savedSearchId`). */
  searches?: Pick<RecordStore<SavedSearchSpec>, "get" | "list">;
}

export const ALERTS_PATH = /^\/apiv2\/alerts(?:\/[^?]*)?(?:\?.*)?$/;
const MAX_FIRINGS = 500;

/** A bare request: its credentials (core's `authenticate`), then the routes. */
export async function handleAlertsApi(req: AlertsRequest, deps: AlertsApiDeps): Promise<AlertsResponse> {
  let tenant: Tenant;
  try {
    tenant = authenticate(req.headers, deps.tenants, req);
  } catch (err) {
    return answerOf(err);
  }
  return answerAlertsApi(req, tenant, deps);
}

/** The alerts API's answer to an authenticated tenant's request. */
export async function answerAlertsApi(req: AlertsRequest, tenant: Tenant, deps: AlertsApiDeps): Promise<AlertsResponse> {
  try {
    const now = deps.now?.() ?? Date.now();
    const parts = pathParts(req.path); // after /apiv2/alerts
    const method = req.method.toUpperCase();
    if (parts.length === 0) {
      if (method === "GET") {
        const [alerts, show] = await Promise.all([deps.store.list(tenant.name), viewer(tenant, deps)]);
        return ok({ alerts: alerts.map(show) });
      }
      if (method === "POST") {
        const spec = valid(await withSavedSearch(parseBody(req.body), undefined, tenant, deps));
        const existing = await deps.store.list(tenant.name);
        const max = deps.maxAlertsPerTenant ?? 100;
        if (existing.length >= max) throw conflict(`a tenant has at most ${max} alerts: delete one first`);
        await usableChannel(spec, tenant, deps);
        const created = await deps.store.create(tenant.name, spec, now);
        return ok({ alert: (await viewer(tenant, deps))(created) }, 201);
      }
      throw notAllowed(method, "GET, POST");
    }
    if (parts.length === 1 && parts[0] === "firings") {
      if (method !== "GET") throw notAllowed(method, "GET");
      return ok({ firings: (await deps.store.firings(tenant.name, { limit: limitOf(req.query) })).map(viewFiring) });
    }
    const id = parts[0]!;
    if (parts.length === 1) {
      if (method === "GET") {
        const alert = await found(deps.store.get(tenant.name, id), id);
        return ok({ alert: (await viewer(tenant, deps))(alert) });
      }
      if (method === "PUT" || method === "PATCH") {
        const old = await found(deps.store.get(tenant.name, id), id);
        const spec = valid(await withSavedSearch(parseBody(req.body), old, tenant, deps), old);
        // An unchanged URL is checked again at every delivery; an edit (say, disabling) need not wait on DNS.
        if (spec.webhookUrl !== old.webhookUrl || spec.channel !== old.channel) await usableChannel(spec, tenant, deps);
        const updated = await found(deps.store.update(tenant.name, id, spec, Math.max(now, old.updatedAt + 1)), id);
        return ok({ alert: (await viewer(tenant, deps))(updated) });
      }
      if (method === "DELETE") {
        if (!(await deps.store.delete(tenant.name, id))) throw notFound(`no alert ${id}`);
        return ok({ response: "ok" });
      }
      throw notAllowed(method, "GET, PUT, PATCH, DELETE");
    }
    if (parts.length === 2 && parts[1] === "firings") {
      if (method !== "GET") throw notAllowed(method, "GET");
      await found(deps.store.get(tenant.name, id), id);
      return ok({ firings: (await deps.store.firings(tenant.name, { alertId: id, limit: limitOf(req.query) })).map(viewFiring) });
    }
    throw notFound(`no such endpoint: ${req.path}`);
  } catch (err) {
    return answerOf(err);
  }
}

async function found<T>(p: Promise<T | undefined>, id: string): Promise<T> {
  const v = await p;
  if (v === undefined) throw notFound(`no alert ${id}`);
  return v;
}

function valid(input: unknown, base?: Alert) {
  const result = validateAlertSpec(input, base);
  if (!result.ok) throw badRequest(result.errors.map((e) => e.message).join("; "), { errors: result.errors });
  return result.spec;
}

/**
 * An alert built on a saved search takes its query from it: the body's `query` is replaced by the saved
 * search's, and a body that changes the query of such an alert without detaching it (`savedSearchId: null`)
 * is refused, so that the alert never silently counts something else than its saved search.
 */
async function withSavedSearch(input: unknown, base: Alert | undefined, tenant: Tenant, deps: AlertsApiDeps): Promise<unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const body = input as Record<string, unknown>;
  const named = "savedSearchId" in body;
  const id = named ? body.savedSearchId : base?.savedSearchId;
  const savedSearch = (id: string) => (deps.searches ? deps.searches.get(tenant.name, id) : Promise.resolve(undefined));
  if (id === null && base?.savedSearchId !== undefined && !("query" in body)) {
    // Detached: the alert keeps counting what it counted, the saved search's query as it is now.
    const was = await savedSearch(base.savedSearchId);
    return was ? { ...body, query: was.query } : body;
  }
  if (typeof id !== "string" || !RECORD_ID.test(id)) return body; // none, or invalid (validation says so)
  const fieldError = (field: string, message: string) => badRequest(message, { errors: [{ field, message }] });
  const saved = await savedSearch(id);
  if (!saved) throw fieldError("savedSearchId", `no saved search ${id}`);
  if (!named && typeof body.query === "string" && body.query !== saved.query) {
    throw fieldError("query", `this alert counts the saved search "${saved.name}": change that search, or set savedSearchId to null to give the alert its own query`);
  }
  return { ...body, query: saved.query };
}

/** Shows alerts with the saved search each is built on (its current query; `savedSearch: null` when it is gone). */
async function viewer(tenant: Tenant, deps: AlertsApiDeps): Promise<(a: Alert) => ReturnType<typeof view>> {
  const searches = new Map((deps.searches ? await deps.searches.list(tenant.name) : []).map((s) => [s.id, s]));
  return (a) => {
    if (a.savedSearchId === undefined) return view(a);
    const s = searches.get(a.savedSearchId);
    return { ...view(s ? { ...a, query: s.query } : a), savedSearch: s ? { id: s.id, name: s.name } : null };
  };
}

/** The channel can deliver here: email needs a mail server; a webhook or Slack URL an allowed destination. */
async function usableChannel(spec: AlertSpec, tenant: Tenant, deps: AlertsApiDeps): Promise<void> {
  if (spec.channel === "email" && !deps.email) {
    const message = "this server sends no email: its operator has not configured a mail server (--smtp-url; SES on AWS)";
    throw badRequest(message, { errors: [{ field: "channel", message }] });
  }
  if (spec.channel === "webhook" || spec.channel === "slack" || spec.channel === undefined) await allowedDestination(spec, tenant, deps);
}

async function allowedDestination(spec: AlertSpec, tenant: Tenant, deps: AlertsApiDeps): Promise<void> {
  const check = await (deps.webhooks ?? WebhookPolicy.fromEnv()).check(spec.webhookUrl, tenant.name);
  if (!check.ok) throw badRequest(check.reason, { errors: [{ field: "webhookUrl", message: check.reason }] });
}

function limitOf(query: URLSearchParams): number {
  const text = query.get("limit");
  if (text === null || text === "") return 100;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw badRequest("limit must be an integer >= 1");
  return Math.min(n, MAX_FIRINGS);
}

/** The alert as the API shows it: the definition, a readable condition and the checker's state. */
function view(a: Alert): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    query: a.query,
    comparison: a.comparison,
    threshold: a.threshold,
    windowMinutes: a.windowMinutes,
    webhookUrl: a.webhookUrl,
    enabled: a.enabled,
    channel: a.channel ?? "webhook",
    ...(a.channel === "pagerduty" ? { routingKey: a.routingKey } : {}),
    ...(a.channel === "email" ? { emailTo: a.emailTo } : {}),
    notifyResolved: a.notifyResolved === true,
    savedSearchId: a.savedSearchId ?? null,
    condition: describeCondition(a),
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    state: a.state,
  };
}

function viewFiring(f: AlertFiring) {
  const { tenant: _tenant, ...rest } = f;
  return { ...rest, kind: f.kind ?? "triggered", channel: f.channel ?? "webhook" };
}
