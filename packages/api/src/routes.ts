import { createHash } from "node:crypto";
import {
  authenticate,
  badRequest,
  CodedError,
  ERROR_CODES,
  MAX_FIELD_NAMES,
  MAX_HISTOGRAM_BUCKETS,
  methodNotAllowed,
  notFound,
  parseQuery,
  parseTimeRange,
  type IndexPort,
  type Query,
  type SearchQuery,
  type Tenant,
  type TenantDirectory,
  type UsageSource,
} from "@unmeltable/core";
import { apiErrorAnswer } from "./errors";
import { intParam, logglyEvent, TIME_CEILING, TIME_FLOOR } from "./loggly-event";
import { surrounding } from "./surrounding";
import { usageDays, usageOf } from "./usage";

/**
 * Loggly's retrieval API (apiv2) as plain functions of a request, so the same code serves the local
 * HTTP server and the Lambda behind API Gateway / a function URL.
 *
 *   GET /apiv2/search?q&from&until&order&size      → {rsid:{id,status,...}}
 *   GET /apiv2/events?rsid=ID[&page=N]             → {total_events, page, events}
 *   GET /apiv2/events/iterate?q&from&until&size    → {events, next?}
 *   GET /apiv2/events/count?q&from&until           → {count}
 *   GET /apiv2/events/histogram?q&from&until&interval → {buckets:[{time,count}], interval}
 *   GET /apiv2/events/surrounding?at&id&q&size&within → {before, same, after} (./surrounding.ts)
 *   GET /apiv2/fields/?q&from&until                → {fields:[...]}
 *   GET /apiv2/fields/FIELD/?q&from&until&facet_size → {FIELD:[{term,count}], ...}
 *   GET /apiv2/fields/FIELD/stats?q&from&until    → {field, count, min, max, avg, sum, p50, p95, p99, exact}
 *   GET /apiv2/customer                            → {tokens, subdomain, subscription}
 *   GET /apiv2/usage?days=N                        → {plan, days:[{day,events,bytes,indexed,deadLettered,...}], today} (./usage.ts)
 *   GET /apiv2/events/export?q&from&until&format&fields&limit → a CSV or NDJSON file (./export.ts; served
 *       by the local server as a stream and by the search Lambda as one bounded body, not by `answerApi`)
 *
 * Authentication: `Authorization: bearer <API token>` (or HTTP basic with the token as password, as
 * Loggly's older clients send), read by core's `authenticate` once, before the routes: the local server
 * does it in its route table, the Lambda before it picks a handler; `handleApi` does it for a bare
 * request. A token only ever sees its own tenant's events.
 *
 * Failures are coded errors (core's `CodedError`): a status, and `{response: "error", message, code}`.
 *
 * Result-set ids (rsid) and `next` cursors are self-contained (the search, signed by nothing but
 * harmless: it is re-run under the caller's token), so any server or Lambda instance can answer them.
 * A token or cursor that does not decode to what the API made is a 400, never a 500.
 *
 * A result set is counted once: /apiv2/search counts it and the rsid carries the total, so every
 * /apiv2/events page of it reports the same `total_events` without another count (on OpenSearch a
 * `_count` over every shard per page). See `events` for whose total a page trusts.
 *
 * Every answer is bounded whatever the parameters (README, "Limits"): times are clamped to the span an
 * index can hold, histograms have at most MAX_HISTOGRAM_BUCKETS buckets (a finer interval is coarsened),
 * pages reach at most MAX_RESULT_WINDOW events deep and carry at most MAX_PAGE_CHARS of events, facets
 * list at most MAX_FACET_SIZE terms, fields at most MAX_FIELD_NAMES names, and queries are bounded by the
 * parser. A read over its time budget is a 504, an overloaded index a 503 (both: try again, narrower).
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
  /** Per-tenant daily usage (GET /apiv2/usage): the data dir's table on one machine, the index on AWS. */
  usage?: UsageSource;
  now?: () => number;
}

const DEFAULT_SIZE = 50;
const MAX_EVENTS_SIZE = 5000;
const MAX_ITERATE_SIZE = 1000;
/** `/apiv2/events` pages reach this many events into a result set at most; the iterator goes further. */
export const MAX_RESULT_WINDOW = 10_000;
/** A page of events stops once their documents reach this many characters (the iterator continues after). */
export const MAX_PAGE_CHARS = 8 * 1024 * 1024;
const MAX_FACET_SIZE = 2000;
/** Longest field name in /apiv2/fields/FIELD/ (longer paths are never indexed). */
const MAX_FIELD_NAME = 256;

/**
 * A bare request: its method, then its credentials (core's `authenticate`), then the routes. Servers
 * that authenticate before their handlers (the HTTP server's route table, the Lambda) call `answerApi`.
 */
export async function handleApi(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  try {
    checkMethod(req.method);
    return await answerApi(req, authenticate(req.headers, deps.tenants, req), deps);
  } catch (err) {
    return apiErrorAnswer(err);
  }
}

/** The API's answer to an authenticated tenant's request: every failure it knows is a coded error answer. */
export async function answerApi(req: ApiRequest, tenant: Tenant, deps: ApiDeps): Promise<ApiResponse> {
  try {
    checkMethod(req.method);
    const path = req.path.replace(/\/+$/, "");
    const now = deps.now?.() ?? Date.now();
    if (path === "/apiv2/search") return ok(await search(req, tenant, deps, now));
    if (path === "/apiv2/events") return ok(await events(req, tenant, deps));
    if (path === "/apiv2/events/iterate") return ok(await iterate(req, tenant, deps, now));
    if (path === "/apiv2/events/count") return ok({ count: await deps.index.count(searchOf(req.query, tenant, now)) });
    if (path === "/apiv2/events/histogram") return ok(await histogram(req, tenant, deps, now));
    if (path === "/apiv2/events/surrounding") return ok(await surrounding(req.query, tenant, deps.index));
    if (path === "/apiv2/fields") return ok(await fields(req, tenant, deps, now));
    if (path.startsWith("/apiv2/fields/") && path.endsWith("/stats")) return ok(await stats(req, tenant, deps, now, fieldOfPath(path.slice("/apiv2/fields/".length, -"/stats".length))));
    if (path.startsWith("/apiv2/fields/")) return ok(await facet(req, tenant, deps, now, fieldOfPath(path.slice("/apiv2/fields/".length))));
    if (path === "/apiv2/usage") {
      if (!deps.usage) throw notFound("this deployment keeps no usage");
      return ok(await usageOf(tenant, deps.usage, usageDays(req.query), now));
    }
    if (path === "/apiv2/customer") return ok({ tokens: tenant.ingestToken ? [tenant.ingestToken] : [], subdomain: tenant.name, subscription: { tier: tenant.tier } });
    throw notFound(`no such endpoint: ${req.path}`);
  } catch (err) {
    return apiErrorAnswer(err);
  }
}

/** The methods the retrieval API takes (it is read-only). */
export const API_METHODS = ["GET", "HEAD"] as const;

/**
 * The 405 for a method the API does not take, else undefined. Servers check it before authenticating
 * (the local route table does, by its method list), so a wrong method is a 405 whoever asks.
 */
export function apiMethodError(method: string): CodedError | undefined {
  if ((API_METHODS as readonly string[]).includes(method)) return undefined;
  return methodNotAllowed(`${method} is not supported; the retrieval API is read-only (GET)`, API_METHODS.join(", "));
}

function checkMethod(method: string): void {
  const refused = apiMethodError(method);
  if (refused) throw refused;
}

function ok(body: unknown): ApiResponse {
  return { status: 200, headers: { "Content-Type": "application/json" }, body };
}

/** A result-set id or `next` token the API did not make (400). */
function invalidCursor(what: string): CodedError {
  return new CodedError(ERROR_CODES.INVALID_CURSOR, 400, `invalid ${what}: use the value the API returned`);
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
  const { from, until } = timeRange(params, now);
  const orderText = (params.get("order") ?? "desc").toLowerCase();
  if (orderText !== "asc" && orderText !== "desc") throw badRequest(`order must be asc or desc, not ${JSON.stringify(orderText)}`);
  const size = intParam(params, "size", DEFAULT_SIZE, 1, maxSize);
  return { q, query, from, until, order: orderText, size };
}

function searchOf(params: URLSearchParams, tenant: Tenant, now: number): SearchQuery {
  const q = params.get("q") ?? "*";
  return { tenant: tenant.name, query: parseQuery(q), ...timeRange(params, now) };
}

/** `from` / `until` as Loggly reads them, clamped to [TIME_FLOOR, TIME_CEILING]: no index holds events outside it. */
function timeRange(params: URLSearchParams, now: number): { from: number; until: number } {
  const { from, until } = parseTimeRange(params.get("from") ?? undefined, params.get("until") ?? undefined, now);
  return { from: clampTime(from), until: clampTime(until) };
}

function clampTime(t: number): number {
  return Math.min(TIME_CEILING, Math.max(TIME_FLOOR, t));
}

/** A result set as its rsid carries it: the search, and the total counted when /apiv2/search made it. */
interface ResultSet extends SearchSpec {
  /** Events the search matched when it was made (`total_events` of every page). */
  total?: number;
  /** Whose total it is: `ownerOf` the tenant that made the rsid. */
  owner?: string;
}

/**
 * Step 1 of Loggly's two-step search: validates the search, counts it once and returns its result-set id.
 * Loggly's result set is fixed when the search runs (its `/events` pages all say the same `total_events`);
 * counting here rather than on the first page keeps the total in the rsid, the only state a result set
 * has, so it holds across servers and Lambda invocations without memory on either.
 */
async function search(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  const spec = parseSpec(req.query, now, MAX_EVENTS_SIZE);
  const total = await deps.index.count({ tenant: tenant.name, query: spec.query, from: spec.from, until: spec.until });
  const set: ResultSet = { q: spec.q, from: spec.from, until: spec.until, order: spec.order, size: spec.size, total, owner: ownerOf(tenant) };
  return { rsid: { status: "SCHEDULED", elapsed_time: 0, date_from: spec.from, date_to: spec.until, id: encodeToken(set) } };
}

/**
 * Binds an rsid's total to the tenant whose search counted it, so another tenant's token on that rsid
 * counts its own events again instead of seeing the first tenant's total. Unkeyed (rsids are signed by
 * nothing): a caller who edits the total of an rsid misleads only themselves.
 */
function ownerOf(tenant: Tenant): string {
  return createHash("sha256").update(tenant.name).digest("base64url").slice(0, 22);
}

/** Step 2: the events of a result set, one page at a time. */
async function events(req: ApiRequest, tenant: Tenant, deps: ApiDeps) {
  const rsid = req.query.get("rsid");
  if (!rsid) throw badRequest("rsid is required: get one from /apiv2/search");
  const spec = decodeToken<ResultSet>(rsid, "rsid");
  if (spec.total !== undefined && !(Number.isSafeInteger(spec.total) && spec.total >= 0 && typeof spec.owner === "string")) {
    throw invalidCursor("rsid");
  }
  const page = intParam(req.query, "page", 0, 0, Number.MAX_SAFE_INTEGER);
  const offset = page * spec.size;
  if (offset >= MAX_RESULT_WINDOW) {
    throw new CodedError(ERROR_CODES.RESULT_WINDOW, 400, `page ${page} starts past the first ${MAX_RESULT_WINDOW} events of the result set: read further with /apiv2/events/iterate`);
  }
  const size = Math.min(spec.size, MAX_RESULT_WINDOW - offset);
  const q: SearchQuery = { tenant: tenant.name, query: parseQuery(spec.q), from: spec.from, until: spec.until };
  // The rsid's total when this tenant's search counted it; otherwise (another tenant's rsid, or one made
  // before rsids carried totals) this page counts, as every page once did.
  const counted = spec.total !== undefined && spec.owner === ownerOf(tenant) ? spec.total : undefined;
  const [total, result] = await Promise.all([counted ?? deps.index.count(q), deps.index.search(q, { order: spec.order, size, offset, maxBytes: MAX_PAGE_CHARS })]);
  const body: Record<string, unknown> = { total_events: total, page, events: result.events.map(logglyEvent) };
  if (result.events.length < size && result.cursor !== undefined) {
    body.truncated = true;
    body.message = `this page stops at ${MAX_PAGE_CHARS / 1024 / 1024} MiB of events; /apiv2/events/iterate reads every event`;
  }
  return body;
}

async function iterate(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  let spec: SearchSpec;
  let cursor: string | undefined;
  const next = req.query.get("next");
  if (next) {
    const state = decodeToken<SearchSpec & { cursor?: unknown }>(next, "next");
    if (typeof state.cursor !== "string" || state.cursor.length > 1024) throw invalidCursor("next");
    spec = state;
    cursor = state.cursor;
  } else {
    spec = parseSpec(req.query, now, MAX_ITERATE_SIZE);
  }
  const q: SearchQuery = { tenant: tenant.name, query: parseQuery(spec.q), from: spec.from, until: spec.until };
  const result = await deps.index.search(q, { order: spec.order, size: spec.size, cursor, maxBytes: MAX_PAGE_CHARS });
  // Loggly leaves `next` out of the last page (not null): only a page with more after it has the key.
  const body: { events: unknown[]; next?: string } = { events: result.events.map(logglyEvent) };
  if (typeof result.cursor === "string" && result.cursor !== "") {
    const token = encodeToken({ q: spec.q, from: spec.from, until: spec.until, order: spec.order, size: spec.size, cursor: result.cursor });
    body.next = `${req.origin}/apiv2/events/iterate?next=${token}`;
  }
  return body;
}

async function histogram(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  const q = searchOf(req.query, tenant, now);
  const requested = req.query.get("interval");
  const interval = parseInterval(requested, q.until - q.from);
  const buckets = await deps.index.histogram(q, interval);
  const body: Record<string, unknown> = { interval, from: q.from, until: q.until, buckets };
  // A finer interval than the bucket cap allows was coarsened: say which was asked for.
  if (requested && intervalMs(requested) !== interval) body.interval_requested = intervalMs(requested);
  return body;
}

async function fields(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number) {
  const names = await deps.index.fields(searchOf(req.query, tenant, now));
  return names.length > MAX_FIELD_NAMES ? { fields: names.slice(0, MAX_FIELD_NAMES), truncated: true } : { fields: names };
}

function fieldOfPath(encoded: string): string {
  let field: string;
  try {
    field = decodeURIComponent(encoded);
  } catch {
    throw badRequest("the field name in the path is not valid percent-encoding");
  }
  if (field.length > MAX_FIELD_NAME) throw badRequest(`a field name has at most ${MAX_FIELD_NAME} characters`);
  return field;
}

async function facet(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number, field: string) {
  if (!field) throw badRequest("a field name is required: /apiv2/fields/<field>/");
  const q = searchOf(req.query, tenant, now);
  const size = intParam(req.query, "facet_size", 10, 1, MAX_FACET_SIZE);
  const result = await deps.index.facet(q, field, size);
  const body: Record<string, unknown> = { [field]: result.terms, unique_field_count: result.distinct, sampled: result.sampled };
  if (!result.distinctExact) body.unique_field_count_exact = false;
  return body;
}

/**
 * A field's numeric aggregates over the search (core's query/numeric-stats.ts): its numbers and numeric
 * strings, each event once per distinct value; nulls when it has none. Not Loggly's API: our own, beside it.
 */
async function stats(req: ApiRequest, tenant: Tenant, deps: ApiDeps, now: number, field: string) {
  if (!field) throw badRequest("a field name is required: /apiv2/fields/<field>/stats");
  if (!deps.index.stats) throw notFound("this deployment's index computes no numeric aggregates");
  return { field, ...(await deps.index.stats(searchOf(req.query, tenant, now), field)) };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DAY = 86_400_000;
/** Round steps, finest first: the default interval is one of them, and a too-fine interval becomes one. */
const STEPS = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY];
/** Buckets the default interval aims at most. */
const DEFAULT_BUCKETS = 120;

function intervalMs(text: string): number {
  const m = /^(\d{1,15})([smhdw]?)$/.exec(text.trim());
  if (!m) throw badRequest(`interval must look like 30s, 1m, 5m, 1h, 1d or a number of milliseconds, not ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1);
  if (ms < 1000) throw badRequest("interval must be at least 1s");
  if (!Number.isSafeInteger(ms)) throw badRequest("interval is too long");
  return ms;
}

/**
 * "1m", "5m", "1h", "1d" or milliseconds; by default about DEFAULT_BUCKETS buckets over the range, on a
 * round step. Never more than MAX_HISTOGRAM_BUCKETS buckets: a finer interval becomes the finest round
 * step (at least as coarse as asked) that fits.
 */
export function parseInterval(text: string | null, spanMs: number): number {
  // Buckets are aligned to multiples of the interval: a range gives at most span / interval + 2 of them.
  const fits = (ms: number, most: number) => Math.floor(spanMs / ms) + 2 <= most;
  const coarsest = () => Math.ceil(spanMs / (MAX_HISTOGRAM_BUCKETS - 2) / DAY) * DAY;
  if (text) {
    const ms = intervalMs(text);
    if (fits(ms, MAX_HISTOGRAM_BUCKETS)) return ms;
    return STEPS.find((s) => s >= ms && fits(s, MAX_HISTOGRAM_BUCKETS)) ?? Math.max(ms, coarsest());
  }
  return STEPS.find((s) => fits(s, DEFAULT_BUCKETS)) ?? STEPS.find((s) => fits(s, MAX_HISTOGRAM_BUCKETS)) ?? coarsest();
}


function encodeToken(state: object): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

function decodeToken<T extends SearchSpec>(token: string, what: string): T {
  let spec: T;
  try {
    spec = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as T;
  } catch {
    throw invalidCursor(what);
  }
  const valid =
    typeof spec === "object" && spec !== null && typeof spec.q === "string" && Number.isFinite(spec.from) && Number.isFinite(spec.until) &&
    (spec.order === "asc" || spec.order === "desc") && Number.isInteger(spec.size) && spec.size >= 1 && spec.size <= MAX_EVENTS_SIZE;
  if (!valid) throw invalidCursor(what);
  return { ...spec, from: clampTime(spec.from), until: clampTime(spec.until) };
}
