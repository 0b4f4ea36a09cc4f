import { describeCondition, validateAlertSpec, type Alert, type AlertFiring, type AlertSpec, type AlertStore, type Tenant, type TenantDirectory } from "@unmeltable/core";
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export async function handleAlertsApi(req: AlertsRequest, deps: AlertsApiDeps): Promise<AlertsResponse> {
  try {
    const tenant = authenticate(req, deps.tenants);
    const now = deps.now?.() ?? Date.now();
    const parts = req.path.replace(/\/+$/, "").split("/").slice(3).map(decodeURIComponent); // after /apiv2/alerts
    const method = req.method.toUpperCase();
    if (parts.length === 0) {
      if (method === "GET") return ok({ alerts: (await deps.store.list(tenant.name)).map(view) });
      if (method === "POST") {
        const spec = valid(parseBody(req.body));
        const existing = await deps.store.list(tenant.name);
        const max = deps.maxAlertsPerTenant ?? 100;
        if (existing.length >= max) throw new HttpError(409, `a tenant has at most ${max} alerts: delete one first`);
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
        if (!(await deps.store.delete(tenant.name, id))) throw new HttpError(404, `no alert ${id}`);
        return ok({ response: "ok" });
      }
      throw notAllowed(method, "GET, PUT, PATCH, DELETE");
    }
    if (parts.length === 2 && parts[1] === "firings") {
      if (method !== "GET") throw notAllowed(method, "GET");
      await found(deps.store.get(tenant.name, id), id);
      return ok({ firings: (await deps.store.firings(tenant.name, { alertId: id, limit: limitOf(req.query) })).map(viewFiring) });
    }
    throw new HttpError(404, `no such endpoint: ${req.path}`);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (err.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="unmeltable"';
    if (typeof err.extra.allow === "string") headers.Allow = err.extra.allow;
    const { allow: _allow, ...extra } = err.extra;
    return { status: err.status, headers, body: { response: "error", message: err.message, ...extra } };
  }
}

function ok(body: unknown, status = 200): AlertsResponse {
  return { status, headers: { "Content-Type": "application/json" }, body };
}

function notAllowed(method: string, allow: string): HttpError {
  return new HttpError(405, `${method} is not allowed here; use ${allow}`, { allow });
}

async function found<T>(p: Promise<T | undefined>, id: string): Promise<T> {
  const v = await p;
  if (v === undefined) throw new HttpError(404, `no alert ${id}`);
  return v;
}

function parseBody(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") throw new HttpError(400, "a JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
}

function valid(input: unknown, base?: Alert) {
  const result = validateAlertSpec(input, base);
  if (!result.ok) throw new HttpError(400, result.errors.map((e) => e.message).join("; "), { errors: result.errors });
  return result.spec;
}

async function allowedDestination(spec: AlertSpec, tenant: Tenant, deps: AlertsApiDeps): Promise<void> {
  const check = await (deps.webhooks ?? WebhookPolicy.fromEnv()).check(spec.webhookUrl, tenant.name);
  if (!check.ok) throw new HttpError(400, check.reason, { errors: [{ field: "webhookUrl", message: check.reason }] });
}

function limitOf(query: URLSearchParams): number {
  const text = query.get("limit");
  if (text === null || text === "") return 100;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(400, "limit must be an integer >= 1");
  return Math.min(n, MAX_FIRINGS);
}

function authenticate(req: AlertsRequest, tenants: TenantDirectory): Tenant {
  const header = req.headers.authorization ?? req.headers.Authorization;
  if (!header) throw new HttpError(401, "missing credentials: send Authorization: bearer <API token>");
  const [scheme = "", value = ""] = header.trim().split(/\s+/, 2);
  let token: string | undefined;
  if (scheme.toLowerCase() === "bearer") token = value;
  else if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    token = decoded.slice(decoded.indexOf(":") + 1);
  }
  const tenant = token ? tenants.byApiToken(token) : undefined;
  if (!tenant) throw new HttpError(401, "invalid API token");
  return tenant;
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
