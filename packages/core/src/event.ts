// Browser-safe: types only, imported only from files that import nothing (the web UI uses it through
// @unmeltable/core/event).
import type { Plan } from "./ports/tenants";

/**
 * The processed event, in Loggly's shape: what the process stage produces, the processed topic carries,
 * the index stores and the search API returns.
 *
 *   { id, timestamp, tags, logtypes, raw, logmsg, unparsed,
 *     event: { syslog: {...}, json: {...}, http: {...}, apache: {...}, nginx: {...}, keyvalue: {...}, ... } }
 *
 * Field paths in queries are Loggly's: `syslog.host`, `syslog.appName`, `json.level`, `json.a.b` (nested
 * JSON objects are addressed with dots), `apache.status`, `http.clientHost`, plus the pseudo-fields
 * `tag` and `logtype`.
 */
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue };

export interface LogEvent {
  /** The raw record's id (UUIDv7), unchanged. */
  id: string;
  /** Event time, epoch ms: parsed from the event, else the syslog header, else the receive time. */
  timestamp: number;
  /** Receive time at the collector, epoch ms. */
  receivedAt: number;
  tenant: string;
  tags: string[];
  /** Detected log types, e.g. ["syslog", "json"], ["syslog", "apache"], ["gc"]. */
  logtypes: string[];
  /** The event exactly as received (lossy-decoded when it was not UTF-8). */
  raw: string;
  /** The message: the syslog MSG when there was a syslog header, else the whole raw text. */
  logmsg: string;
  /** Loggly's `unparsed` field: null when a log type was recognised, else the text no parser took. */
  unparsed: string | null;
  /** Parsed fields, keyed by log type (Loggly's `event` object). */
  event: Record<string, { [key: string]: FieldValue }>;
}

/** An event as the search API returns it: Loggly's shape, the internal fields left out. */
export type ApiEvent = Omit<LogEvent, "receivedAt" | "tenant">;

/** A tenant's counts for one UTC day. Null: the deployment does not measure it (docs/deploy.md, "Usage"). */
export interface UsageDay {
  day: string;
  /** Events accepted by the collectors. */
  events: number | null;
  /** Their raw bytes. */
  bytes: number | null;
  /** Events stored in the index for the first time. */
  indexed: number;
  /** Bytes of the indexed documents. */
  indexedBytes: number | null;
  /** Events that went to the dead letters. */
  deadLettered: number | null;
  deadLetteredBytes: number | null;
}

/** GET /apiv2/usage's answer (packages/api/src/usage.ts): the tenant's days, its plan and today's use of it. */
export interface UsageAnswer {
  tenant: string;
  /** Null: no plan (unlimited). */
  plan: Plan | null;
  days: UsageDay[];
  today: { day: string; percentOfPlan: number | null; bytesPercent: number | null; eventsPerSecondPercent: number | null };
}

/** A chart of a dashboard (core's dashboards/dashboard.ts validates them; the web UI draws them). */
export const CHART_TYPES = ["timeline", "bar", "pie", "count", "table"] as const;
export type ChartType = (typeof CHART_TYPES)[number];

/** What a single-value (`count`) chart shows: the events' count, or an aggregate of a numeric field. */
export const CHART_STATS = ["count", "min", "max", "avg", "sum", "p50", "p95", "p99"] as const;
export type ChartStat = (typeof CHART_STATS)[number];

export interface ChartSpec {
  title: string;
  type: ChartType;
  /** Count charts: "count" (default, no field) or an aggregate of the numeric `field` (/apiv2/fields/FIELD/stats). */
  stat?: ChartStat;
  /** Loggly query syntax ("" = every event). */
  query: string;
  /** The field whose values a bar, pie or table shows, a timeline is split by, or a single value aggregates. */
  field?: string;
  /** How many top values (bar, pie, table, a split timeline): 1 to 20, default 5. */
  size?: number;
}


/**
 * A field's numeric aggregates over a search (`GET /apiv2/fields/FIELD/stats` answers them with `field`):
 * computed by core's query/numeric-stats.ts.
 */
export interface NumericStats {
  /** Numeric values counted (events with the field, once per distinct value each). */
  count: number;
  /** Null when there were no numeric values. */
  min: number | null;
  max: number | null;
  avg: number | null;
  sum: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** False when the values come from part of the matching events (a sample, or more distinct values than kept). */
  exact: boolean;
}
