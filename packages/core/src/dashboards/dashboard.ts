/**
 * Dashboards: a named grid of charts over one time range, refreshed on their own, kept per tenant
 * (`/apiv2/dashboards`). A chart is a search and a way to show it, each answered by the retrieval API
 * both index engines serve:
 *
 *   timeline  events over time (/events/histogram), split by a field's top values when `field` is set
 *   bar, pie  a field's top values (/fields/FIELD)
 *   count     a single value: the number of events (/events/count), or with `stat` an aggregate of a
 *             numeric field (/fields/FIELD/stats: min, max, avg, sum, p50, p95, p99)
 *   table     a field's values with their counts (/fields/FIELD)
 */
import { nameProblem, queryProblem } from "../validation";
import { parseTimeRange, TimeRangeError } from "../query/time";
import type { Stored } from "../saved-searches/records";
import { CHART_STATS, CHART_TYPES, type ChartSpec, type ChartStat, type ChartType } from "../event";

export { CHART_STATS, CHART_TYPES, type ChartSpec, type ChartStat, type ChartType } from "../event";

export interface DashboardSpec {
  name: string;
  /** One range for every chart, Loggly time values kept as typed (default the last 24 hours). */
  from: string;
  until: string;
  /** Seconds between refreshes in the UI: 0 (off), or 10 to 3600. */
  refreshSeconds: number;
  charts: ChartSpec[];
}

export type Dashboard = Stored<DashboardSpec>;

export const DASHBOARD_LIMITS = Object.freeze({ nameLength: 100, titleLength: 100, queryLength: 4000, fieldLength: 200, charts: 24, maxSize: 20, perTenant: 200 });

export interface DashboardFieldError {
  /** `name`, `from`, …, or `charts[2].field` for a chart's. */
  field: string;
  message: string;
  position?: number;
}

export type DashboardValidation = { ok: true; spec: DashboardSpec } | { ok: false; errors: DashboardFieldError[] };

const FIELD_NAME = /^[\w@.$-]+$/;

/** Checks a dashboard (a parsed JSON body); with `base`, a partial update (`charts`, when given, replaces all of them). */
export function validateDashboard(input: unknown, base?: DashboardSpec, now: number = Date.now()): DashboardValidation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, errors: [{ field: "body", message: "the body must be a JSON object" }] };
  const o = input as Record<string, unknown>;
  const errors: DashboardFieldError[] = [];
  const pick = <K extends keyof DashboardSpec>(k: K): unknown => (k in o ? o[k] : base?.[k]);

  const name = pick("name");
  const badName = nameProblem(name, DASHBOARD_LIMITS.nameLength);
  if (badName) errors.push({ field: "name", message: badName });

  const from = typeof pick("from") === "string" && (pick("from") as string).trim() !== "" ? (pick("from") as string).trim() : "-24h";
  const until = typeof pick("until") === "string" && (pick("until") as string).trim() !== "" ? (pick("until") as string).trim() : "now";
  try {
    if (from.length > 40 || until.length > 40) throw new TimeRangeError("a time has at most 40 characters", from.length > 40 ? "from" : "until");
    parseTimeRange(from, until, now);
  } catch (err) {
    if (!(err instanceof TimeRangeError)) throw err;
    errors.push({ field: err.param ?? "from", message: err.message });
  }

  const refresh = pick("refreshSeconds") ?? 0;
  if (typeof refresh !== "number" || !Number.isInteger(refresh) || (refresh !== 0 && (refresh < 10 || refresh > 3600))) {
    errors.push({ field: "refreshSeconds", message: "refreshSeconds is 0 (off) or a whole number of seconds from 10 to 3600" });
  }

  const chartsIn = pick("charts") ?? [];
  const charts: ChartSpec[] = [];
  if (!Array.isArray(chartsIn)) errors.push({ field: "charts", message: "charts is a list" });
  else if (chartsIn.length > DASHBOARD_LIMITS.charts) errors.push({ field: "charts", message: `a dashboard has at most ${DASHBOARD_LIMITS.charts} charts` });
  else chartsIn.forEach((c, i) => {
    const chart = validChart(c, `charts[${i}]`, errors);
    if (chart) charts.push(chart);
  });

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, spec: { name: (name as string).trim(), from, until, refreshSeconds: refresh as number, charts } };
}

function validChart(input: unknown, at: string, errors: DashboardFieldError[]): ChartSpec | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    errors.push({ field: at, message: `${at} is an object: {title, type, query, field?, size?}` });
    return undefined;
  }
  const c = input as Record<string, unknown>;
  const before = errors.length;
  const title = typeof c.title === "string" ? c.title.trim() : "";
  if (title === "" || title.length > DASHBOARD_LIMITS.titleLength) errors.push({ field: `${at}.title`, message: `a chart needs a title of 1 to ${DASHBOARD_LIMITS.titleLength} characters` });
  const type = c.type;
  if (!(CHART_TYPES as readonly unknown[]).includes(type)) errors.push({ field: `${at}.type`, message: `a chart's type is one of ${CHART_TYPES.join(", ")}` });
  const query = c.query ?? "";
  const badQuery = queryProblem(query, DASHBOARD_LIMITS.queryLength, "a chart's query");
  if (badQuery) errors.push({ field: `${at}.query`, ...badQuery });
  const field = c.field === undefined || c.field === null || c.field === "" ? undefined : c.field;
  const needsField = type === "bar" || type === "pie" || type === "table";
  if (field === undefined && needsField) errors.push({ field: `${at}.field`, message: `a ${String(type)} chart shows a field's values: give the field (e.g. json.level)` });
  if (field !== undefined && (typeof field !== "string" || field.length > DASHBOARD_LIMITS.fieldLength || !FIELD_NAME.test(field))) {
    errors.push({ field: `${at}.field`, message: "field is a field name, e.g. json.level or syslog.host" });
  }
  const stat = c.stat === undefined || c.stat === null || c.stat === "" ? "count" : c.stat;
  if (!(CHART_STATS as readonly unknown[]).includes(stat)) errors.push({ field: `${at}.stat`, message: `stat is one of ${CHART_STATS.join(", ")}` });
  else if (stat !== "count" && type !== "count") errors.push({ field: `${at}.stat`, message: "only a single-value (count) chart takes a stat" });
  else if (type === "count" && stat === "count" && field !== undefined) errors.push({ field: `${at}.field`, message: "a count chart counts events: it takes no field (or choose a stat such as avg)" });
  else if (type === "count" && stat !== "count" && field === undefined) errors.push({ field: `${at}.field`, message: `the ${stat as string} of which field? give a numeric field (e.g. json.ms)` });
  const size = c.size ?? 5;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > DASHBOARD_LIMITS.maxSize) errors.push({ field: `${at}.size`, message: `size is a whole number from 1 to ${DASHBOARD_LIMITS.maxSize}` });
  if (errors.length > before) return undefined;
  const single = type === "count";
  return {
    title,
    type: type as ChartType,
    query: query as string,
    ...(single && stat !== "count" ? { stat: stat as ChartStat } : {}),
    ...(field !== undefined ? { field: field as string } : {}),
    ...(field !== undefined && !single ? { size: size as number } : {}),
  };
}
