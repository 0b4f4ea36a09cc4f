import {
  parseQuery,
  parseTimeRange,
  QuerySyntaxError,
  TimeRangeError,
  type ApiEvent,
  type IndexPort,
  type LogEvent,
  type Query,
  type SearchQuery,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";

/**
 * Loggly's retrieval API (apiv2) as plain functions of a request, so the same code serves the local
 * HTTP server and the Lambda behind API Gateway / a function URL.
 *
 *   GET /apiv2/search?q&from&until&order&size      → {rsid:{id,status,...}}
 *   GET /apiv2/events?rsid=ID[&page=N]             → {total_events, page, events}
 *   GET /apiv2/events/iterate?q&from&until&size    → {events, next?}
 *   GET /apiv2/events/count?q&from&until           → {count}
 *   GET /apiv2/events/histogram?q&from&until&interval → {buckets:[{time,count}], interval}
 *   GET /apiv2/fields/?q&from&until                → {fields:[...]}
 *   GET /apiv2/fields/FIELD/?q&from&until&facet_size → {FIELD:[{term,count}], ...}
 *   GET /apiv2/customer                            → {tokens, subdomain, subscription}
 *
 * Authentication: `Authorization: bearer <API token>` (or HTTP basic with the token as password, as
 * Loggly's older clients send). A token only ever sees its own tenant's events.
 *
 * Result-set ids (rsid) and `next` cursors are self-contained (the search, signed by nothing but
 * harmless: it is re-run under the caller's token), so any server or Lambda instance can answer them.
 */
export interface ApiRequest {
  method: string;
  /** Path without the query string, e.g. "/apiv2/search". */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** Scheme and host the client used, for absolute `next` URLs, e.g. "http://localhost:8080". */
  origin: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface ApiDeps {
  index: IndexPort;
  tenants: TenantDirectory;
  now?: () => number;
}

const DEFAULT_SIZE = 50;
const MAX_EVENTS_SIZE = 5000;
const MAX_ITERATE_SIZE = 1000;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export async function handleApi(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  try {
    if (req.method !== "GET" && req.method !== "HEAD") throw new ApiError(405, `${req.method} is not supported; the retrieval API is read-only (GET)`);
    const tenant = authenticate(req, deps.tenants);
    const path = req.path.replace(/\/+$/, "");
    const now = deps.now?.() ?? Date.now();
    if (path === "/apiv2/search") return ok(search(req, now));
    if (path === "/apiv2/events") return ok(await events(req, tenant, deps));
    if (path === "/apiv2/events/iterate") return ok(await iterate(req, tenant, deps, now));
    if (path === "/apiv2/events/count") return ok({ count: await deps.index.count(searchOf(req.query, tenant, now)) });
    if (path === "/apiv2/events/histogram") return ok(await histogram(req, tenant, deps, now));
    if (path === "/apiv2/fields") return ok({ fields: await deps.index.fields(searchOf(req.query, tenant, now)) });
    if (path.startsWith("/apiv2/fields/")) return ok(await facet(req, tenant, deps, now, decodeURIComponent(path.slice("/apiv2/fields/".length))));
    if (path === "/apiv2/customer") return ok({ tokens: [tenant.ingestToken], subdomain: tenant.name, subscription: { tier: tenant.tier } });
    throw new ApiError(404, `no such endpoint: ${req.path}`);
  } catch (err) {
    if (err instanceof ApiError) {
      const headers: Record<string, string> = err.status === 401 ? { "WWW-Authenticate": 'Bearer realm="unmeltable"' } : {};
      return { status: err.status, headers: { "Content-Type": "application/json", ...headers }, body: { response: "error", message: err.message, ...err.extra } };
    }
    if (err instanceof QuerySyntaxError) {
      return { status: 400, headers: { "Content-Type": "application/json" }, body: { response: "error", message: `query syntax error: ${err.message}`, position: err.position } };
    }
    if (err instanceof TimeRangeError) {
      return { status: 400, headers: { "Content-Type": "application/json" }, body: { response: "error", message: err.message } };
    }
    throw err;
  }
}

function ok(body: unknown): ApiResponse {
  return { status: 200, headers: { "Content-Type": "application/json" }, body };
}

function authenticate(req: ApiRequest, tenants: TenantDirectory): Tenant {
  const header = req.headers.authorization ?? req.headers.Authorization;
  if (!header) throw new ApiError(401, "missing credentials: send Authorization: bearer <API token>");
  const [scheme, value = ""] = header.trim().split(/\s+/, 2);
  let token: string | undefined;
  if (scheme!.toLowerCase() === "bearer") token = value;
  else if (scheme!.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    token = decoded.slice(decoded.indexOf(":") + 1);
  }
  const tenant = token ? tenants.byApiToken(token) : undefined;
  if (!tenant) throw new ApiError(401, "invalid API token");
  return tenant;
}

interface SearchSpec {
  q: string;
  from: number;
  until: number;
  order: "asc" | "desc";
  size: number;
}

function parseSpec(params: URLSearchParams, now: number, maxSize: number): SearchSpec & { query: Query } {
  const q = params.get("q") ?? "*";
  const query = parseQuery(q);
  const { from, until } = parseTimeRange(params.get("from") ?? undefined, params.get("until") ?? undefined, now);
  const orderText = (params.get("order") ?? "desc").toLowerCase();
  if (orderText !== "asc" && orderText !== "desc") throw new ApiError(400, `order must be asc or desc, not ${JSON.stringify(orderText)}`);
  const size = intParam(params, "size", DEFAULT_SIZE, 1, maxSize);
  return { q, query, from, until, order: orderText, size };
}

function searchOf(params: URLSearchParams, tenant: Tenant, now: number): SearchQuery {
  const q = params.get("q") ?? "*";
  const { from, until } = parseTimeRange(params.get("from") ?? undefined, params.get("until") ?? undefined, now);
  return { tenant: tenant.name, query: parseQuery(q), from, until };
}

function intParam(params: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const text = params.get(name);
  if (text === null || text === "") return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ApiError(400, `${name} must be an integer >= ${min}`);
  return Math.min(n, max);
}

/** Step 1 of Loggly's two-step search: validates the search and returns its result-set id. */
function search(req: ApiRequest, now: number) {
  const spec = parseSpec(req.query, now, MAX_EVENTS_SIZE);
  const id = encodeToken({ q: spec.q, from: spec.from, until: spec.until, order: spec.order, size: spec.size });
  return { rsid: { status: "SCHEDULED", elapsed_time: 0, date_from: spec.from, date_to: spec.until, id } };
}

/** Step 2: the events of a result set, one page at a time. */
async function events(req: ApiRequest, tenant: Tenant, deps: ApiDeps) {
  const rsid = req.query.get("rsid");
  if (!rsid) throw new ApiError(400, "rsid is required: get one from /apiv2/search");
  const spec = decodeToken<SearchSpec>(rsid, "rsid");
  const page = intParam(req.query, "page", 0, 0, 1_000_000);
  const q: SearchQuery = { tenant: tenant.name, query: parseQuery(spec.q), from: spec.from, until: spec.until };
  const [total, result] = await Promise.all([deps.index.count(q), deps.index.search(q, { order: spec.order, size: spec.size, offset: page * spec.size })]);
  return { total_events: total, page, events: result.events.map(logglyEvent) };
}

async function iterate(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  let spec: SearchSpec;
  let cursor: string | undefined;
  const next = req.query.get("next");
  if (next) {
    const state = decodeToken<SearchSpec & { cursor: string }>(next, "next");
    spec = state;
    cursor = state.cursor;
  } else {
    spec = parseSpec(req.query, now, MAX_ITERATE_SIZE);
  }
  const q: SearchQuery = { tenant: tenant.name, query: parseQuery(spec.q), from: spec.from, until: spec.until };
  const result = await deps.index.search(q, { order: spec.order, size: spec.size, cursor });
  const body: { events: unknown[]; next?: string } = { events: result.events.map(logglyEvent) };
  if (result.cursor) {
    const token = encodeToken({ q: spec.q, from: spec.from, until: spec.until, order: spec.order, size: spec.size, cursor: result.cursor });
    body.next = `${req.origin}/apiv2/events/iterate?next=${token}`;
  }
  return body;
}

async function histogram(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  const q = searchOf(req.query, tenant, now);
  const interval = parseInterval(req.query.get("interval"), q.until - q.from);
  const buckets = await deps.index.histogram(q, interval);
  return { interval, from: q.from, until: q.until, buckets };
}

async function facet(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number, field: string) {
  if (!field) throw new ApiError(400, "a field name is required: /apiv2/fields/<field>/");
  const q = searchOf(req.query, tenant, now);
  const size = intParam(req.query, "facet_size", 10, 1, 2000);
  const result = await deps.index.facet(q, field, size);
  return { [field]: result.terms, unique_field_count: result.terms.length, sampled: result.sampled };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "1m", "5m", "1h", "1d" or milliseconds; by default about 60 buckets over the range, on a round step. */
export function parseInterval(text: string | null, spanMs: number): number {
  if (text) {
    const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
    if (!m) throw new ApiError(400, `interval must look like 30s, 1m, 5m, 1h, 1d or a number of milliseconds, not ${JSON.stringify(text)}`);
    const ms = Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1);
    if (ms < 1000) throw new ApiError(400, "interval must be at least 1s");
    if (spanMs / ms > 10_000) throw new ApiError(400, `interval ${text} would give more than 10,000 buckets over this range`);
    return ms;
  }
  const steps = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000];
  return steps.find((s) => spanMs / s <= 120) ?? steps[steps.length - 1]!;
}

/** The event as Loggly's API returns it (internal fields left out). */
export function logglyEvent(e: LogEvent): ApiEvent {
  return { id: e.id, timestamp: e.timestamp, tags: e.tags, logtypes: e.logtypes, raw: e.raw, logmsg: e.logmsg, unparsed: e.unparsed, event: e.event };
}

function encodeToken(state: object): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

function decodeToken<T extends SearchSpec>(token: string, what: string): T {
  let spec: T;
  try {
    spec = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as T;
  } catch {
    throw new ApiError(400, `invalid ${what}: use the value the API returned`);
  }
  const valid =
    typeof spec === "object" && spec !== null && typeof spec.q === "string" && Number.isFinite(spec.from) && Number.isFinite(spec.until) &&
    (spec.order === "asc" || spec.order === "desc") && Number.isInteger(spec.size) && spec.size >= 1 && spec.size <= MAX_EVENTS_SIZE;
  if (!valid) throw new ApiError(400, `invalid ${what}: use the value the API returned`);
  return spec;
}
