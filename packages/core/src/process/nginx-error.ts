/**
 * `event.nginx` for nginx's error log (`error_log`), whose lines nginx writes as
 *
 *   2024/05/01 12:00:00 [error] 123#0: *45 open() "/srv/x" failed (2: No such file or directory), client: 10.0.0.1, server: example.com, request: "GET /x HTTP/1.1", host: "example.com"
 *
 * i.e. `YYYY/MM/DD HH:MM:SS [level] pid#tid: [*connection ]message` and, for a request, the context nginx
 * appends after the message in a fixed order: `, client: …, server: …, request: "…", subrequest: "…",
 * upstream: "…", host: "…", referrer: "…"`.
 *
 * Fields: level, pid, tid, connection?, message, client?, server?, request?, method?, url?, protocol? (from the
 * request line), subrequest?, upstream?, host?, referrer?. The time is the line's (local time, read in the
 * configured zone). Hand-written scanner, bounded to the first NGINX_SCAN_LIMIT characters.
 */
import type { Fields } from "./fields";
import { splitRequestLine } from "./request-line";
import { parseIsoAt, scanned } from "./timestamps";
import { COLON, HASH, LBRACKET, SLASH, SP, STAR, isDigit } from "../chars";

const NGINX_SCAN_LIMIT = 16_384;
const LEVELS = new Set(["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"]);
const CONTEXT_KEYS = new Set(["client", "server", "request", "subrequest", "upstream", "host", "referrer"]);

export interface NginxError {
  fields: Fields;
  timestamp: number;
}

/** Parses an nginx error log line (already trimmed at the start), or returns null when it is not one. */
export function parseNginxError(text: string, timeZone: string | undefined): NginxError | null {
  // `2024/05/01 12:00:00 [`: cheap shape check before any parsing.
  if (!isDigit(text.charCodeAt(0)) || text.charCodeAt(4) !== SLASH || text.charCodeAt(7) !== SLASH || text.charCodeAt(19) !== SP || text.charCodeAt(20) !== LBRACKET) {
    return null;
  }
  const line = text.length > NGINX_SCAN_LIMIT ? text.slice(0, NGINX_SCAN_LIMIT) : text;
  const timestamp = parseIsoAt(line, 0, timeZone);
  if (Number.isNaN(timestamp) || scanned.end !== 19) return null;
  const levelEnd = line.indexOf("] ", 21);
  if (levelEnd < 0 || levelEnd > 28) return null;
  const level = line.slice(21, levelEnd);
  if (!LEVELS.has(level)) return null;
  // pid#tid:
  let p = levelEnd + 2;
  const pidStart = p;
  while (isDigit(line.charCodeAt(p))) p++;
  if (p === pidStart || line.charCodeAt(p) !== HASH) return null;
  const pid = Number(line.slice(pidStart, p));
  const tidStart = ++p;
  while (isDigit(line.charCodeAt(p))) p++;
  if (p === tidStart || line.charCodeAt(p) !== COLON) return null;
  const tid = Number(line.slice(tidStart, p));
  p++;
  if (line.charCodeAt(p) === SP) p++;
  const fields: Fields = { level, pid, tid };
  // *connection
  if (line.charCodeAt(p) === STAR) {
    let q = p + 1;
    while (isDigit(line.charCodeAt(q))) q++;
    if (q > p + 1 && line.charCodeAt(q) === SP) {
      fields.connection = Number(line.slice(p + 1, q));
      p = q + 1;
    }
  }
  const context = line.indexOf(", client: ", p);
  const messageEnd = context < 0 ? trimmedEnd(line) : context;
  fields.message = line.slice(p, messageEnd);
  if (context >= 0) readContext(line, context, fields);
  return { fields, timestamp };
}

function trimmedEnd(s: string): number {
  let e = s.length;
  while (e > 0 && s.charCodeAt(e - 1) <= SP) e--;
  return e;
}

/** `, key: value` pairs from `at` (the `,` before `client:`); quoted values may contain `, `. */
function readContext(line: string, at: number, fields: Fields): void {
  let p = at;
  const end = trimmedEnd(line);
  while (p < end && line.startsWith(", ", p)) {
    const keyStart = p + 2;
    const colon = line.indexOf(": ", keyStart);
    if (colon < 0 || colon - keyStart > 32) return;
    const key = line.slice(keyStart, colon);
    let valueStart = colon + 2;
    let valueEnd: number;
    let next: number;
    if (line.charCodeAt(valueStart) === 0x22) {
      valueStart++;
      // The closing quote is the one followed by `, ` or the end of the line (nginx does not escape quotes).
      let q = line.indexOf('"', valueStart);
      while (q >= 0 && q + 1 < end && !line.startsWith(", ", q + 1)) q = line.indexOf('"', q + 1);
      if (q < 0) return;
      valueEnd = q;
      next = q + 1;
    } else {
      const comma = line.indexOf(", ", valueStart);
      valueEnd = comma < 0 || comma > end ? end : comma;
      next = valueEnd;
    }
    if (CONTEXT_KEYS.has(key)) {
      const value = line.slice(valueStart, valueEnd);
      fields[key] = value;
      if (key === "request") splitRequestLine(value, fields);
    }
    p = next;
  }
}
