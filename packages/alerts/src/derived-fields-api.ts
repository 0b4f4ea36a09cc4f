import {
  badRequest,
  compileRule,
  DERIVED_LIMITS,
  inScope,
  messageOf,
  parseQuery,
  parseTimeRange,
  QuerySyntaxError,
  RuleBudget,
  TimeRangeError,
  validateDerivedRule,
  type DerivedRule,
  type DerivedRuleSpec,
  type IndexPort,
  type RecordStore,
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
  const answer = await answerRecordsApi(req, tenant, {
    store: deps.rules,
    plural: "derivedfields",
    singular: "derivedfield",
    noun: "derived field rule",
    nouns: "derived field rules",
    validate: (input, base) => validateDerivedRule(input, base),
    maxPerTenant: deps.maxPerTenant ?? DERIVED_LIMITS.perTenant,
    now: deps.now,
    view: (r: DerivedRule) => ({ ...specOf(r), id: r.id, createdAt: r.createdAt, updatedAt: r.updatedAt }),
  });
  if (req.method.toUpperCase() !== "GET" && answer.status < 300) deps.changed?.(tenant.name);
  return answer;
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
  const checked = validateDerivedRule(named);
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
  const rule = compileRule(checked.spec);
  // The preview runs where requests are answered: it gets the time a batch's rules get, no more.
  const budget = new RuleBudget();
  const found = await deps.index.search({ tenant: tenant.name, query, from: range.from, until: range.until }, { order: "desc", size, maxBytes: 4 * 1024 * 1024 });
  let matched = 0;
  const events = found.events.map((e) => {
    const applies = inScope(checked.spec, e);
    const tried = applies && !budget.exhausted;
    const start = performance.now();
    const result = tried ? rule.extract(messageOf(e)) : undefined;
    if (tried) budget.add(performance.now() - start);
    if (result) matched++;
    const logmsg = typeof e.logmsg === "string" ? e.logmsg : "";
    return {
      id: e.id,
      timestamp: e.timestamp,
      logmsg: logmsg.length > PREVIEW_LIMITS.messageChars ? logmsg.slice(0, PREVIEW_LIMITS.messageChars) : logmsg,
      inScope: applies,
      ...(applies && !tried ? { skipped: true } : {}),
      fields: result?.fields ?? null,
      ...(result?.tag ? { tag: result.tag } : {}),
    };
  });
  return { rule: specOf(checked.spec), searched: events.length, matched, events };
}
