/**
 * Recognises the log type of a message body (the syslog MSG, or the whole text when there is no header) and
 * parses it into fields. Cheapest checks first; each parser bails out on its first character or a bounded
 * indexOf before doing real work:
 *
 *   json   trimmed text starts with `{` and ends with `}` (also after rsyslog's `@cee:` cookie), or is a
 *          top-level array `[...]`
 *   java   multi-line text with an `<whitespace>at <frame>` line
 *   gc     starts with `[` or a digit and carries a JVM GC line shape
 *   apache / nginx   starts with an address and has ` [dd/Mon/yyyy:...]` within the first 512 chars
 *   nginx  nginx's error log: `yyyy/mm/dd hh:mm:ss [level] pid#tid: ...`
 *   json   a JSON object that ends the text after a short prefix (`INFO 2024-... {"a":1}`)
 *   kv     `=` within the first 4 KiB, and at least 2 pairs (or only 1 pair and nothing else)
 *
 * Order matters where shapes overlap: a GC line's `[Times: user=0.01 ...]` and an access log's query string contain
 * `=`, and a Java header line may contain anything, so kv comes last.
 *
 * JSON is read with bounded work and what an event may hold is capped (field-limits.ts); what was left out is
 * added to `report`.
 */
import { parseAccessLog } from "./access-log";
import type { FieldLimitReport } from "./field-limits";
import type { Fields } from "./fields";
import { parseGcLog } from "./gc-log";
import { parseJavaTrace } from "./java-trace";
import { fieldsTimestamp, findEmbeddedJson, parseJsonBody } from "./json-body";
import { kvTimestamp, parseKeyValue } from "./key-value";
import { parseNginxError } from "./nginx-error";
import { AT, LBRACE, LBRACKET } from "../chars";

export interface Body {
  logtype: "json" | "java" | "gc" | "apache" | "nginx" | "kv";
  fields: Fields;
  /** The time the body itself states (epoch ms), NaN when it states none. */
  timestamp: number;
}

export interface BodyHints {
  timeZone: string | undefined;
  /** Syslog APP-NAME and the event's tags: they tell nginx from apache (access log lines look the same). */
  appName: string | undefined;
  tags: readonly string[];
}

/** An access log line is `nginx` when the syslog appName or a tag mentions nginx, `apache` otherwise. */
function mentionsNginx(hints: BodyHints): boolean {
  if (hints.appName !== undefined && hints.appName.toLowerCase().includes("nginx")) return true;
  for (const t of hints.tags) if (typeof t === "string" && t.toLowerCase().includes("nginx")) return true;
  return false;
}

/** Trimmed text without rsyslog's CEE cookie (`@cee: {...}`, mmjsonparse/lumberjack). */
function jsonCandidate(text: string): string {
  return text.charCodeAt(0) === AT && text.startsWith("@cee:") ? text.slice(5).trimStart() : text;
}

/** The body's log type, fields and stated time, or null when no parser recognises it (plain text). */
export function parseBody(message: string, hints: BodyHints, report: FieldLimitReport): Body | null {
  const text = message.trim();
  if (text.length === 0) return null;
  const c0 = text.charCodeAt(0);
  if (c0 === LBRACE || c0 === AT || c0 === LBRACKET) {
    const json = parseJsonBody(jsonCandidate(text), report);
    if (json !== null) return jsonBody(json, hints);
  }
  const java = parseJavaTrace(text);
  if (java !== null) return { logtype: "java", fields: java, timestamp: NaN };
  const gc = parseGcLog(text, hints.timeZone);
  if (gc !== null) return { logtype: "gc", fields: gc.fields, timestamp: gc.timestamp };
  const access = parseAccessLog(text);
  if (access !== null) {
    return { logtype: mentionsNginx(hints) ? "nginx" : "apache", fields: access.fields, timestamp: access.timestamp };
  }
  const nginxError = parseNginxError(text, hints.timeZone);
  if (nginxError !== null) return { logtype: "nginx", fields: nginxError.fields, timestamp: nginxError.timestamp };
  const embedded = findEmbeddedJson(text, report);
  if (embedded !== null) return jsonBody(embedded, hints);
  const kv = parseKeyValue(text);
  if (kv !== null) return { logtype: "kv", fields: kv, timestamp: kvTimestamp(kv, hints.timeZone) };
  return null;
}

function jsonBody(fields: Fields, hints: BodyHints): Body {
  return { logtype: "json", fields, timestamp: fieldsTimestamp(fields, hints.timeZone) };
}
