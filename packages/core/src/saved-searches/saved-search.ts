/**
 * Saved searches: a query and a time range kept under a name, shared by everyone with the tenant's API
 * token. Alerts are built on them (an alert with `savedSearchId` counts the saved search's current query),
 * as Loggly's are. Pure rules here — validation and limits — so that the server on one machine and the
 * search function on AWS answer alike.
 */
import { nameProblem, queryProblem } from "../validation";
import { parseTimeRange, TimeRangeError } from "../query/time";
import type { Stored } from "./records";

export interface SavedSearchSpec {
  name: string;
  /** Loggly query syntax, as typed in the search box ("" = every event). */
  query: string;
  /** Loggly time values, kept as typed so that `-1h` stays relative: `-15m`, `now`, ISO-8601, epoch ms. */
  from: string;
  until: string;
}

export type SavedSearch = Stored<SavedSearchSpec>;

export const SAVED_SEARCH_LIMITS = Object.freeze({
  nameLength: 100,
  queryLength: 4000,
  timeLength: 40,
  perTenant: 500,
});

export const SAVED_SEARCH_DEFAULTS = Object.freeze({ from: "-1h", until: "now" });

export interface SavedSearchFieldError {
  field: keyof SavedSearchSpec | "body";
  message: string;
  /** For `query`: where in the query the syntax error is. */
  position?: number;
}

export type SavedSearchValidation = { ok: true; spec: SavedSearchSpec } | { ok: false; errors: SavedSearchFieldError[] };

/**
 * Checks a saved search (a parsed JSON body). With `base`, a partial update: missing fields keep their
 * value. Unknown fields are ignored. The range must read as one (`from` not after `until`) today.
 */
export function validateSavedSearch(input: unknown, base?: SavedSearchSpec, now: number = Date.now()): SavedSearchValidation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "body", message: "the body must be a JSON object" }] };
  }
  const o = input as Record<string, unknown>;
  const errors: SavedSearchFieldError[] = [];
  const pick = <K extends keyof SavedSearchSpec>(k: K): unknown => (k in o ? o[k] : base?.[k]);

  const name = pick("name");
  const badName = nameProblem(name, SAVED_SEARCH_LIMITS.nameLength);
  if (badName) errors.push({ field: "name", message: badName });

  const query = pick("query") ?? "";
  const badQuery = queryProblem(query, SAVED_SEARCH_LIMITS.queryLength);
  if (badQuery) errors.push({ field: "query", ...badQuery });

  const from = timeValue(pick("from"), SAVED_SEARCH_DEFAULTS.from, "from", errors);
  const until = timeValue(pick("until"), SAVED_SEARCH_DEFAULTS.until, "until", errors);
  if (from !== undefined && until !== undefined) {
    try {
      parseTimeRange(from, until, now);
    } catch (err) {
      if (!(err instanceof TimeRangeError)) throw err;
      errors.push({ field: err.param ?? "from", message: err.message });
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, spec: { name: (name as string).trim(), query: query as string, from: from!, until: until! } };
}

function timeValue(v: unknown, fallback: string, field: "from" | "until", errors: SavedSearchFieldError[]): string | undefined {
  if (v === undefined || v === null || v === "") return fallback;
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v !== "string") {
    errors.push({ field, message: `${field} is a time: -15m, now, an ISO-8601 date or epoch milliseconds` });
    return undefined;
  }
  const t = v.trim();
  if (t.length > SAVED_SEARCH_LIMITS.timeLength) {
    errors.push({ field, message: `${field} has at most ${SAVED_SEARCH_LIMITS.timeLength} characters` });
    return undefined;
  }
  return t === "" ? fallback : t;
}

/** Names compare without case or surrounding space: "Errors" and "errors " are the same saved search. */
export function sameName(a: string, b: string): boolean {
  return a.trim().toLocaleLowerCase("en") === b.trim().toLocaleLowerCase("en");
}
