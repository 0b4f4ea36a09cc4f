import { badRequest, parseQuery, parseTimeRange, type ApiEvent, type IndexPort, type SearchQuery, type Tenant } from "@unmeltable/core";
import { intParam, logglyEvent, TIME_CEILING, TIME_FLOOR } from "./loggly-event";

/**
 * `GET /apiv2/events/export?q&from&until&format=csv|ndjson&fields&limit&order`: the events of a search as
 * a file, read page by page from the index and written as they come, so an export of any size holds one
 * page in memory. Bounded: at most `limit` events (default 10,000, at most 100,000); narrow the range to
 * export more. `X-Unmeltable-Matched` says how many events the search matched when the export began.
 *
 *   ndjson: one event per line, as /apiv2/events returns it.
 *   csv:    RFC 4180 with a header row: `timestamp` (ISO-8601, UTC), then the `fields` asked for (a
 *           comma-separated list of event fields such as `json.level,syslog.host`, or `id`, `tags`,
 *           `logtypes`, `logmsg`, `raw`), by default `id,tags,logtypes,logmsg`. A value that is an object
 *           or an array is written as JSON. A text that a spreadsheet would run as a formula (starting
 *           with `=`, `+`, `@`, a tab, a carriage return, or a `-` that does not start a number) is written
 *           with a leading `'`, as OWASP advises for CSV files opened in spreadsheets.
 */
export interface ExportPlan {
  contentType: string;
  filename: string;
  /** Events the search matched when the export began (before `limit`). */
  matched: number;
  /** Events the export writes at most. */
  limit: number;
  /** The file, in pieces of a page of events each. */
  chunks(): AsyncGenerator<string>;
}

export const EXPORT_LIMITS = Object.freeze({ defaultEvents: 10_000, maxEvents: 100_000, maxFields: 50, pageEvents: 500, pageBytes: 1024 * 1024 });
const BASE_COLUMNS = ["id", "tags", "logtypes", "logmsg", "raw", "timestamp"] as const;
const DEFAULT_COLUMNS = ["id", "tags", "logtypes", "logmsg"];

export async function planExport(params: URLSearchParams, tenant: Tenant, index: Pick<IndexPort, "search" | "count">, now: number): Promise<ExportPlan> {
  const format = (params.get("format") ?? "ndjson").toLowerCase();
  if (format !== "csv" && format !== "ndjson") throw badRequest(`format must be csv or ndjson, not ${JSON.stringify(format.slice(0, 40))}`);
  const orderText = (params.get("order") ?? "desc").toLowerCase();
  if (orderText !== "asc" && orderText !== "desc") throw badRequest(`order must be asc or desc, not ${JSON.stringify(orderText.slice(0, 40))}`);
  const order: "asc" | "desc" = orderText;
  const limit = intParam(params, "limit", EXPORT_LIMITS.defaultEvents, 1, EXPORT_LIMITS.maxEvents);
  const columns = format === "csv" ? csvColumns(params.get("fields")) : [];
  const range = parseTimeRange(params.get("from") ?? undefined, params.get("until") ?? undefined, now);
  const search: SearchQuery = {
    tenant: tenant.name,
    query: parseQuery(params.get("q") ?? "*"),
    from: Math.min(TIME_CEILING, Math.max(TIME_FLOOR, range.from)),
    until: Math.min(TIME_CEILING, Math.max(TIME_FLOOR, range.until)),
  };
  const matched = await index.count(search);
  const stamp = new Date(now).toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return {
    contentType: format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
    filename: `${tenant.name}-events-${stamp}.${format === "csv" ? "csv" : "ndjson"}`,
    matched,
    limit,
    async *chunks() {
      if (format === "csv") yield `${["timestamp", ...columns].map(csvCell).join(",")}\r\n`;
      let written = 0;
      let cursor: string | undefined;
      do {
        const size = Math.min(EXPORT_LIMITS.pageEvents, limit - written);
        const page = await index.search(search, { order, size, cursor, maxBytes: EXPORT_LIMITS.pageBytes });
        const events = page.events.map(logglyEvent);
        written += events.length;
        if (events.length > 0) yield format === "csv" ? events.map((e) => csvRow(e, columns)).join("") : events.map((e) => `${JSON.stringify(e)}\n`).join("");
        cursor = page.cursor || undefined;
      } while (cursor !== undefined && written < limit);
    },
  };
}

function csvColumns(text: string | null): string[] {
  if (text === null || text.trim() === "") return DEFAULT_COLUMNS;
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length > EXPORT_LIMITS.maxFields) throw badRequest(`fields names at most ${EXPORT_LIMITS.maxFields} fields`);
  for (const n of names) {
    if (n.length > 200 || !/^[\w@.$-]+$/.test(n)) throw badRequest(`fields: ${JSON.stringify(n.slice(0, 60))} is not a field name (e.g. json.level,syslog.host)`);
  }
  return names.filter((n) => n !== "timestamp");
}

function csvRow(e: ApiEvent, columns: string[]): string {
  const cells = [new Date(e.timestamp).toISOString(), ...columns.map((c) => valueOf(e, c))];
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** A column's value: one of the event's own fields, else a parsed field by its path (`json.level` is `event.json.level`). */
function valueOf(e: ApiEvent, column: string): unknown {
  if ((BASE_COLUMNS as readonly string[]).includes(column)) return e[column as keyof ApiEvent];
  let v: unknown = e.event;
  for (const part of column.split(".")) {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  let text = typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
  if (typeof v === "string" && /^[=+@\t\r]/.test(text)) text = `'${text}`;
  else if (typeof v === "string" && text.startsWith("-") && !NUMBER.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * An export as one body of at most `maxBytes`, for a server that cannot stream (API Gateway and Lambda
 * answer at most 6 MB): cut at the last whole line that fits, and says so.
 */
export async function collectExport(plan: ExportPlan, maxBytes: number): Promise<{ body: string; truncated: boolean }> {
  let body = "";
  let bytes = 0;
  for await (const chunk of plan.chunks()) {
    const size = Buffer.byteLength(chunk);
    if (bytes + size <= maxBytes) {
      body += chunk;
      bytes += size;
      continue;
    }
    // The lines of this chunk that still fit (a UTF-8 cut inside a line never reaches the body).
    const room = Buffer.from(chunk).subarray(0, maxBytes - bytes).toString("utf8");
    const end = room.lastIndexOf("\n");
    if (end >= 0) body += room.slice(0, end + 1);
    return { body, truncated: true };
  }
  return { body, truncated: false };
}

/** The answer's headers: the file's type and name, and what it holds. */
export function exportHeaders(plan: ExportPlan): Record<string, string> {
  return {
    "Content-Type": plan.contentType,
    "Content-Disposition": `attachment; filename="${plan.filename}"`,
    "X-Unmeltable-Matched": String(plan.matched),
    "X-Unmeltable-Export-Limit": String(plan.limit),
    "Cache-Control": "no-store",
  };
}
