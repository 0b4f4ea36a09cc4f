/**
 * The process stage's pure core: one raw record in, one Loggly-shaped event out (see event.ts).
 *
 *   { id, tenant, receivedAt, timestamp, tags, logtypes, raw, logmsg, unparsed, event: { syslog, http, <body type> } }
 *
 * 1. Envelope. Syslog transports (udp/tcp/tls) always go through parseSyslog; an HTTP body does only when it starts
 *    with `<` and parses as rfc5424/rfc3164/cisco (a PRI-only or headerless body is plain text). With a header,
 *    logmsg is the syslog MSG and logtypes starts with "syslog"; over a syslog transport without any header
 *    (format "none") logmsg is the line (less trailing CR/LF/NUL framing leftovers) and `syslog.host` still names
 *    the sender (rsyslog's fromhost-ip fallback), but "syslog" is not a logtype. HTTP events get
 *    `http.clientHost` / `http.contentType`; "http" is not a logtype.
 * 2. Body (parse-body.ts): json, java, gc, apache/nginx, kv, or none. `unparsed` is null when the body was parsed
 *    into fields, else logmsg. The fields of all namespaces together are capped (field-limits.ts: at most 1,000
 *    values, 20 levels, 256-character names, 32 KiB values); what was left out is said in `event.unmeltable`.
 * 3. Timestamp, Loggly's precedence: the time the body states (JSON/kv timestamp fields, the access log date, the
 *    GC date stamp), else a timestamp at the start of logmsg, else the syslog header time, else receivedAt.
 *    Drift guard: a candidate more than MAX_FUTURE_DRIFT_MS after receivedAt is not believed and the next source
 *    is tried (a sender with a wrong clock or a misread field must not put events into the future, where they
 *    would sit above every "last 10 minutes" search). Times in the past are believed: late and replayed events
 *    are real.
 *
 * Never throws: a failure anywhere yields a minimal event carrying the raw text (unparsed), so one bad record
 * cannot stop a partition.
 */
import type { LogEvent } from "../event";
import type { RawRecord } from "../raw-record";
import { parseSyslog, type SyslogFormat } from "../syslog/parse";
import { capEventFields, FieldLimitReport } from "./field-limits";
import type { Fields } from "./fields";
import { parseBody } from "./parse-body";
import { syslogFields } from "./syslog-fields";
import { leadingTimestamp } from "./timestamps";
import { LT } from "../chars";

export { flattenFields, type FlatValue } from "./flatten-fields";

export interface ToEventOptions {
  /** IANA zone for timestamps written without an offset (RFC 3164 headers, `2024-01-01 10:00:00`); default UTC. */
  timeZone?: string;
}

/** A parsed timestamp later than receivedAt + this is not believed (see the module comment). */
export const MAX_FUTURE_DRIFT_MS = 24 * 60 * 60 * 1000;

const HEADER_FORMATS: ReadonlySet<SyslogFormat> = new Set<SyslogFormat>(["rfc5424", "rfc3164", "cisco"]);

function isSyslogTransport(t: RawRecord["transport"]): boolean {
  return t === "udp" || t === "tcp" || t === "tls";
}

/** Builds the Loggly event for a raw record. Never throws, whatever the input. */
export function toEvent(raw: RawRecord, opts?: ToEventOptions): LogEvent {
  try {
    return buildEvent(raw, opts?.timeZone);
  } catch {
    return fallbackEvent(raw);
  }
}

function buildEvent(raw: RawRecord, timeZone: string | undefined): LogEvent {
  const text = typeof raw.raw === "string" ? raw.raw : String(raw.raw ?? "");
  const receivedAt = Number.isFinite(raw.receivedAt) ? raw.receivedAt : Date.now();
  const tags = Array.isArray(raw.tags) ? raw.tags : [];
  const event: Record<string, Fields> = {};
  const logtypes: string[] = [];
  let logmsg = text;
  let headerTime = NaN;
  let appName: string | undefined;

  const syslogTransport = isSyslogTransport(raw.transport);
  if (syslogTransport || text.charCodeAt(0) === LT) {
    const msg = parseSyslog(text, { receivedAt, peerHost: syslogTransport ? raw.remote : undefined, timeZone });
    if (syslogTransport || HEADER_FORMATS.has(msg.format)) {
      logmsg = msg.message;
      if (msg.format !== "none") logtypes.push("syslog");
      const fields = syslogFields(msg);
      if (Object.keys(fields).length > 0) event.syslog = fields;
      if (msg.timestamp !== undefined) headerTime = msg.timestamp;
      appName = msg.appName;
    }
  }
  if (!syslogTransport) {
    const http: Fields = { clientHost: raw.remote };
    if (raw.contentType !== undefined) http.contentType = raw.contentType;
    event.http = http;
  }

  const report = new FieldLimitReport();
  const body = parseBody(logmsg, { timeZone, appName, tags }, report);
  if (body !== null) {
    if (!logtypes.includes(body.logtype)) logtypes.push(body.logtype);
    event[body.logtype] = body.fields;
  }
  capEventFields(event, report);
  const limited = report.fields();
  if (limited !== null) event.unmeltable = limited;

  const latest = receivedAt + MAX_FUTURE_DRIFT_MS;
  let timestamp = receivedAt;
  if (body !== null && body.timestamp <= latest) {
    timestamp = body.timestamp; // NaN <= x is false: no stated time falls through
  } else {
    const leading = leadingTimestamp(logmsg.trimStart(), timeZone);
    if (leading <= latest) timestamp = leading;
    else if (headerTime <= latest) timestamp = headerTime;
  }

  return {
    id: raw.id,
    tenant: raw.tenant,
    receivedAt,
    timestamp,
    tags,
    logtypes,
    raw: text,
    logmsg,
    unparsed: body === null ? logmsg : null,
    event,
  };
}

/** The event for a record that made the parser fail: nothing parsed, everything kept. */
function fallbackEvent(raw: RawRecord): LogEvent {
  const r = (raw ?? {}) as Partial<RawRecord>;
  const text = typeof r.raw === "string" ? r.raw : "";
  const receivedAt = typeof r.receivedAt === "number" && Number.isFinite(r.receivedAt) ? r.receivedAt : Date.now();
  return {
    id: typeof r.id === "string" ? r.id : "",
    tenant: typeof r.tenant === "string" ? r.tenant : "",
    receivedAt,
    timestamp: receivedAt,
    tags: Array.isArray(r.tags) ? r.tags : [],
    logtypes: [],
    raw: text,
    logmsg: text,
    unparsed: text,
    event: {},
  };
}
