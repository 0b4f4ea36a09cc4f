import { authenticate, badRequest, CodedError, conflict, describeCondition, errorAnswer, methodNotAllowed, notFound, validateAlertSpec, type Alert, type AlertFiring, type AlertSpec, type AlertStore, type Tenant, type TenantDirectory } from "@unmeltable/core";
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
export interface AlertsRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** The request body as text (JSON), when there is one. */
  body?: string;
}

export interface AlertsResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface AlertsApiDeps {
  store: AlertStore;
  tenants: TenantDirectory;
  now?: () => number;
  /** Alerts one tenant may have. */
  maxAlertsPerTenant?: number;
  /** Where webhooks may go (default: public addresses plus UNMELTABLE_WEBHOOK_ALLOW). */
  webhooks?: WebhookPolicy;
}

export const ALERTS_PATH = /^\/apiv2\/alerts(?:\/[^?]*)?(?:\?.*)?$/;
const MAX_FIRINGS = 500;

/** A bare request: its credentials (core's `authenticate`), then the routes. */
export async function handleAlertsApi(req: AlertsRequest, deps: AlertsApiDeps): Promise<AlertsResponse> {
  let tenant: Tenant;
  try {
    tenant = authenticate(req.headers, deps.tenants);
  } catch (err) {
    return answerOf(err);
  }
  return answerAlertsApi(req, tenant, deps);
}

/** The alerts API's answer to an authenticated tenant's request. */
export async function answerAlertsApi(req: AlertsRequest, tenant: Tenant, deps: AlertsApiDeps): Promise<AlertsResponse> {
  try {
    const now = deps.now?.() ?? Date.now();
    const parts = req.path.replace(/\/+$/, "").split("/").slice(3).map(decodeURIComponent); // after /apiv2/alerts
    const method = req.method.toUpperCase();
    if (parts.length === 0) {
      if (method === "GET") return ok({ alerts: (await deps.store.list(tenant.name)).map(view) });
      if (method === "POST") {
        const spec = valid(parseBody(req.body));
        const existing = await deps.store.list(tenant.name);
        const max = deps.maxAlertsPerTenant ?? 100;
        if (existing.length >= max) throw conflict(`a tenant has at most ${max} alerts: delete one first`);
        await allowedDestination(spec, tenant, deps);
        return ok({ alert: view(await deps.store.create(tenant.name, spec, now)) }, 201);
      }
      throw notAllowed(method, "GET, POST");
    }
    if (parts.length === 1 && parts[0] === "firings") {
      if (method !== "GET") throw notAllowed(method, "GET");
      return ok({ firings: (await deps.store.firings(tenant.name, { limit: limitOf(req.query) })).map(viewFiring) });
    }
    const id = parts[0]!;
    if (parts.length === 1) {
      if (method === "GET") return ok({ alert: view(await found(deps.store.get(tenant.name, id), id)) });
      if (method === "PUT" || method === "PATCH") {
        const old = await found(deps.store.get(tenant.name, id), id);
        const spec = valid(parseBody(req.body), old);
        // An unchanged URL is checked again at every delivery; an edit (say, disabling) need not wait on DNS.
        if (spec.webhookUrl !== old.webhookUrl) await allowedDestination(spec, tenant, deps);
        return ok({ alert: view(await found(deps.store.update(tenant.name, id, spec, Math.max(now, old.updatedAt + 1)), id)) });
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

/** A coded error's answer; anything else is a bug, rethrown (the server answers 500 and logs it). */
function answerOf(err: unknown): AlertsResponse {
  if (!(err instanceof CodedError)) throw err;
  return errorAnswer(err);
}

function ok(body: unknown, status = 200): AlertsResponse {
  return { status, headers: { "Content-Type": "application/json" }, body };
}

function notAllowed(method: string, allow: string): CodedError {
  return methodNotAllowed(`${method} is not allowed here; use ${allow}`, allow);
}

async function found<T>(p: Promise<T | undefined>, id: string): Promise<T> {
  const v = await p;
  if (v === undefined) throw notFound(`no alert ${id}`);
  return v;
}

function parseBody(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") throw badRequest("a JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("the body is not valid JSON");
  }
}

function valid(input: unknown, base?: Alert) {
  const result = validateAlertSpec(input, base);
  if (!result.ok) throw badRequest(result.errors.map((e) => e.message).join("; "), { errors: result.errors });
  return result.spec;
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
function view(a: Alert) {
  return {
    id: a.id,
    name: a.name,
    query: a.query,
    comparison: a.comparison,
    threshold: a.threshold,
    windowMinutes: a.windowMinutes,
    webhookUrl: a.webhookUrl,
    enabled: a.enabled,
    condition: describeCondition(a),
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    state: a.state,
  };
}

function viewFiring(f: AlertFiring) {
  const { tenant: _tenant, ...rest } = f;
  return rest;
}
