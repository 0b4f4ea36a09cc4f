// The browser-safe entry of core: types only, no Node modules behind it.
import type { ApiEvent, ChartStat, NumericStats } from "@unmeltable/core/event";

export type { ApiEvent, ChartStat };

export type Scalar = string | number | boolean;

/**
 * The parsed fields of an event as `[path, value]` pairs, with paths as queries address them
 * (`syslog.appName`, `json.req.path`): nested objects joined with dots, one pair per array element,
 * nulls left out — the way the index flattens them (packages/core/src/process/flatten-fields.ts).
 */
export function eventFields(e: Pick<ApiEvent, "event">): Array<[string, Scalar]> {
  const out: Array<[string, Scalar]> = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (v === null || v === undefined || depth > 32) return;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push([path, v]);
    else if (Array.isArray(v)) for (const el of v) walk(el, path, depth + 1);
    else if (typeof v === "object") for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, `${path}.${k}`, depth + 1);
  };
  for (const [ns, v] of Object.entries(e.event ?? {})) walk(v, ns, 0);
  return out;
}

/** The one-line summary of an event in a list: its message, whitespace collapsed. */
export function summary(e: Pick<ApiEvent, "logmsg" | "raw">): string {
  return (e.logmsg || e.raw).replace(/\s+/g, " ").trim();
}

/** Fields of a JSON event that hold its message, in the order they are looked for (loggers' usual names). */
const MESSAGE_FIELDS = ["message", "msg", "log", "text", "@message"];

/**
 * What a row in a list leads with: a JSON event's message field when it has one (else its text), a
 * syslog event's message; whitespace collapsed.
 */
export function rowMessage(e: Pick<ApiEvent, "logmsg" | "raw" | "event">): string {
  const json = (e.event as { json?: Record<string, unknown> } | undefined)?.json;
  if (json && typeof json === "object") {
    for (const f of MESSAGE_FIELDS) {
      const v = json[f];
      if (typeof v === "string" && v.trim() !== "") return v.replace(/\s+/g, " ").trim();
    }
  }
  return summary(e);
}

/** Where a syslog event comes from, as a row shows it: `host app`, or undefined for other events. */
export function rowSource(e: Pick<ApiEvent, "event">): string | undefined {
  const syslog = (e.event as { syslog?: { host?: unknown; appName?: unknown } } | undefined)?.syslog;
  const parts = [syslog?.host, syslog?.appName].filter((v): v is string => typeof v === "string" && v !== "" && v !== "-");
  return parts.length > 0 ? parts.join(" ") : undefined;
}

export type Level = "error" | "warn" | "info" | "debug";

/** The event's level, from its JSON level field or its syslog severity, in four kinds; undefined when it has none. */
export function levelOf(e: Pick<ApiEvent, "event">): Level | undefined {
  const ev = e.event as { json?: Record<string, unknown>; syslog?: { severity?: unknown } } | undefined;
  const json = ev?.json;
  const text = [json?.level, json?.severity, json?.lvl, json?.loglevel, ev?.syslog?.severity].find((v) => typeof v === "string" || typeof v === "number");
  if (text === undefined) return undefined;
  const t = String(text).toLowerCase();
  if (/^(emerg|emergency|alert|crit|critical|fatal|panic|err|error|severe|[0-3])$/.test(t)) return "error";
  if (/^(warn|warning|4)$/.test(t)) return "warn";
  if (/^(notice|info|informational|information|[5-6])$/.test(t)) return "info";
  if (/^(debug|trace|verbose|7)$/.test(t)) return "debug";
  return undefined;
}

/** A field's numeric aggregates over a search (`GET /apiv2/fields/FIELD/stats`); nulls when it has no numeric value. */
export type FieldStats = NumericStats & { field: string };

/** A numeric literal as the query language (and the stats endpoint) reads one: `42`, `-3.5`, `1e3`. */
const NUMERIC_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether a top value is a number: a JSON number, or text that reads as one. */
export function isNumericTerm(term: Scalar): boolean {
  return typeof term === "number" ? Number.isFinite(term) : typeof term === "string" && NUMERIC_TEXT.test(term.trim());
}

/** Whether a field holds numbers, judged from its top values: most of them are numbers (or numeric text). */
export function looksNumeric(terms: ReadonlyArray<{ term: Scalar }>): boolean {
  const numeric = terms.filter((t) => isNumericTerm(t.term)).length;
  return terms.length > 0 && numeric * 2 > terms.length;
}

/**
 * A figure as people read it: thousands separated, decimals by its size (`1,234.6`, `12.35`, `0.00123`);
 * whole numbers without any. Past what decimals show well, in exponent form (`1.23e+21`).
 */
export function formatStat(n: number, locale?: string): string {
  const a = Math.abs(n);
  if (!Number.isFinite(n)) return String(n);
  if (a >= 1e21 || (a > 0 && a < 1e-6)) return n.toExponential(2);
  if (Number.isInteger(n)) return n.toLocaleString(locale);
  if (a >= 100) return n.toLocaleString(locale, { maximumFractionDigits: 1 });
  if (a >= 1) return n.toLocaleString(locale, { maximumFractionDigits: 2 });
  return n.toLocaleString(locale, { maximumSignificantDigits: 3 });
}

/** What each aggregate is called beside a value ("p95 of json.ms") and in a chart editor's list. */
export const STAT_NAMES: Record<ChartStat, string> = {
  count: "count",
  min: "min",
  max: "max",
  avg: "average",
  sum: "sum",
  p50: "p50 (median)",
  p95: "p95",
  p99: "p99",
};
