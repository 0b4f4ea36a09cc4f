import {
  badRequest,
  CodedError,
  DERIVED_LIMITS,
  ERROR_CODES,
  inlineRuleWork,
  inScope,
  messageOf,
  parseQuery,
  parseTimeRange,
  QuerySyntaxError,
  RECORD_ID,
  TimeRangeError,
  validateDerivedRule,
  type DerivedRule,
  type DerivedRuleSpec,
  type IndexPort,
  type RecordStore,
  type RuleWork,
  type Tenant,
} from "@unmeltable/core";
import { answerOf, notAllowed, ok, parseBody, pathParts, type RecordsRequest, type RecordsResponse } from "./api-common";
import { answerRecordsApi } from "./records-api";

/**
 * The derived-field rules API at `/apiv2/derivedfields` (the records API's routes, ./records-api.ts):
 * `{derivedfields:[...]}`, `{derivedfield}`; body `{name, type, pattern?, field?, before?, after?, key?,
 * delimiter?, addTag?, scope?: {logtype?, tag?, app?}, enabled?}` (core's derived-fields/derived-rule.ts).
 *
 * `POST /apiv2/derivedfields/preview` `{rule, query?, from?, until?, size?}` runs a rule (saved or not)
 * on the tenant's newest events matching `query` (default every event, the last 24 hours, 20 events, at
 * most 100) and answers what it would extract from each: the rule editor's live preview.
 */
export interface DerivedFieldsDeps {
  rules: RecordStore<DerivedRuleSpec>;
  /** For the preview's recent events. */
  index: IndexPort;
  /** Told after every change, so that the process stage reads the tenant's rules again. */
  changed?: (tenant: string) => void;
  /** Where patterns are compiled and previews run (default inline; on one machine a RuleThread). */
  work?: RuleWork;
  now?: () => number;
  maxPerTenant?: number;
}

export const DERIVED_FIELDS_PATH = /^\/apiv2\/derivedfields(?:\/[^?]*)?(?:\?.*)?$/;

export const PREVIEW_LIMITS = Object.freeze({ defaultSize: 20, maxSize: 100, messageChars: 2000 });

export async function answerDerivedFieldsApi(req: RecordsRequest, tenant: Tenant, deps: DerivedFieldsDeps): Promise<RecordsResponse> {
  const parts = pathParts(req.path);
  if (parts.length === 1 && parts[0] === "preview") {
    try {
      if (req.method.toUpperCase() !== "POST") throw notAllowed(req.method, "POST");
      return ok(await preview(parseBody(req.body), tenant, deps));
    } catch (err) {
      return answerOf(err);
    }
  }
  const method = req.method.toUpperCase();
  // The pattern is compiled where the work goes (off the request thread); the records API's own
  // validation then checks the rest without compiling it again, and reports both together.
  let badPattern: string | undefined;
  if (method === "POST" || method === "PUT" || method === "PATCH") {
    try {
      badPattern = await checkPattern(req, tenant, parts, deps);
    } catch (err) {
      return answerOf(err);
    }
  }
  const answer = await answerRecordsApi(req, tenant, {
    store: deps.rules,
    plural: "derivedfields",
    singular: "derivedfield",
    noun: "derived field rule",
    nouns: "derived field rules",
    validate: (input, base) => {
      const r = validateDerivedRule(input, base, { checkPattern: false });
      if (badPattern === undefined) return r;
      return { ok: false, errors: [...(r.ok ? [] : r.errors.filter((e) => e.field !== "pattern")), { field: "pattern", message: badPattern }] };
    },
    maxPerTenant: deps.maxPerTenant ?? DERIVED_LIMITS.perTenant,
    now: deps.now,
    view: (r: DerivedRule) => ({ ...specOf(r), id: r.id, createdAt: r.createdAt, updatedAt: r.updatedAt }),
  });
  if (req.method.toUpperCase() !== "GET" && answer.status < 300) deps.changed?.(tenant.name);
  return answer;
}

/** What is wrong with a body's pattern (new, or on a rule whose type it changes), checked by the rule work. */
async function checkPattern(req: RecordsRequest, tenant: Tenant, parts: string[], deps: DerivedFieldsDeps): Promise<string | undefined> {
  let body: unknown;
  try {
    body = parseBody(req.body);
  } catch {
    return undefined; // the records API answers a body that is not JSON
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const o = body as Record<string, unknown>;
  const stored = parts.length === 1 && RECORD_ID.test(parts[0]!) ? await deps.rules.get(tenant.name, parts[0]!) : undefined;
  const pattern = typeof o.pattern === "string" ? o.pattern : "type" in o ? stored?.pattern : undefined;
  const type = "type" in o ? o.type : stored?.type;
  if (typeof pattern !== "string" || pattern === "" || pattern.length > DERIVED_LIMITS.patternLength || (type !== "regex" && type !== "tag")) return undefined;
  return (deps.work ?? inlineRuleWork).check(pattern, type === "regex");
}

function specOf(r: DerivedRuleSpec): DerivedRuleSpec {
  const { name, type, pattern, field, before, after, key, delimiter, addTag, scope, enabled } = r;
  return { name, type, ...(pattern !== undefined ? { pattern } : {}), ...(field !== undefined ? { field } : {}), ...(before !== undefined ? { before, after } : {}), ...(key !== undefined ? { key, delimiter } : {}), ...(addTag !== undefined ? { addTag } : {}), scope, enabled };
}

async function preview(body: unknown, tenant: Tenant, deps: DerivedFieldsDeps) {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the body is a JSON object: {rule, query?, from?, until?, size?}");
  const o = body as Record<string, unknown>;
  const ruleIn = o.rule;
  // A rule being written may have no name yet: the preview does not need one.
  const named = typeof ruleIn === "object" && ruleIn !== null && !Array.isArray(ruleIn) && !("name" in ruleIn) ? { ...ruleIn, name: "preview" } : ruleIn;
  const checked = validateDerivedRule(named, undefined, { checkPattern: false });
  const patternError = checked.ok && checked.spec.pattern !== undefined ? await (deps.work ?? inlineRuleWork).check(checked.spec.pattern, checked.spec.type === "regex") : undefined;
  if (patternError) throw new CodedError(ERROR_CODES.BAD_REQUEST, 400, patternError, { details: { errors: [{ field: "rule.pattern", message: patternError }] } });
  if (!checked.ok) throw badRequest(checked.errors.map((e) => e.message).join("; "), { errors: checked.errors.map((e) => ({ ...e, field: `rule.${e.field}` })) });
  const text = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || v.length > 4000) throw badRequest(`${k} is a text of at most 4000 characters`);
    return v;
  };
  let query;
  try {
    query = parseQuery(text("query") ?? "*");
  } catch (err) {
    if (err instanceof QuerySyntaxError) throw badRequest(err.message, { position: err.position });
    throw err;
  }
  let range;
  try {
    range = parseTimeRange(text("from") ?? "-24h", text("until") ?? "now", deps.now?.() ?? Date.now());
  } catch (err) {
    if (err instanceof TimeRangeError) throw badRequest(err.message);
    throw err;
  }
  const size = o.size ?? PREVIEW_LIMITS.defaultSize;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > PREVIEW_LIMITS.maxSize) throw badRequest(`size is a whole number from 1 to ${PREVIEW_LIMITS.maxSize}`);
  const found = await deps.index.search({ tenant: tenant.name, query, from: range.from, until: range.until }, { order: "desc", size, maxBytes: 4 * 1024 * 1024 });
  // Run where the work goes, within one batch's time budget (DERIVED_LIMITS.budgetMs).
  const messages = found.events.map((e) => ({ text: messageOf(e), inScope: inScope(checked.spec, e) }));
  const outcomes = await (deps.work ?? inlineRuleWork).preview(checked.spec, messages);
  let matched = 0;
  const events = found.events.map((e, i) => {
    const o = outcomes[i] ?? { fields: null };
    if (o.fields || o.tag) matched++;
    const logmsg = typeof e.logmsg === "string" ? e.logmsg : "";
    return {
      id: e.id,
      timestamp: e.timestamp,
      logmsg: logmsg.length > PREVIEW_LIMITS.messageChars ? logmsg.slice(0, PREVIEW_LIMITS.messageChars) : logmsg,
      inScope: messages[i]!.inScope,
      ...(o.skipped ? { skipped: true } : {}),
      fields: o.fields,
      ...(o.tag ? { tag: o.tag } : {}),
    };
  });
  return { rule: specOf(checked.spec), searched: events.length, matched, events };
}
