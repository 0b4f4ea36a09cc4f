/**
 * `event.apache` / `event.nginx`: access log lines in the common and combined log formats, which Apache
 * (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""`) and nginx (`log_format combined`)
 * write identically:
 *
 *   127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://ex.com/" "Mozilla/4.08"
 *
 * Fields: clientHost, remoteLogname?, remoteUser?, timestamp (ISO-8601), method?, url?, protocol?, status, size
 * ("-" → 0), referer?, userAgent?. "-" (the formats' "no value") is an absent field. Anything after the user agent
 * (nginx's `"$http_x_forwarded_for"`, Apache's `%D`, ...) is ignored. Hand-written scanner: indexOf and index
 * arithmetic, bounded, no regular expressions.
 */
import { isoString, type Fields } from "./fields";
import { splitRequestLine } from "./request-line";
import { parseClfDateAt, scanned } from "./timestamps";
import { BACKSLASH, COLON, DASH, DQUOTE, SP, isAlnum, isDigit } from "../chars";

/** How far into the line `host ident user [` may reach. */
const PREFIX_LIMIT = 512;
/** Longest request line we look for the closing quote in (URLs can be long; lines beyond are not access logs). */
const REQUEST_LIMIT = 16_384;

/** Index of the `"` closing a quoted string whose content starts at `from` (a `\` escapes the next char), or -1. */
function closingQuote(s: string, from: number, limit: number): number {
  for (let i = from; i < limit; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i;
  }
  return -1;
}

/** Apache's `\"` and `\\` escapes undone; the no-backslash case is a plain slice. */
function unescapeQuoted(s: string, from: number, to: number): string {
  const raw = s.slice(from, to);
  return raw.indexOf("\\") < 0 ? raw : raw.replace(/\\(["\\])/g, "$1");
}

export interface AccessLog {
  fields: Fields;
  /** The request time, epoch ms. */
  timestamp: number;
}

/** Longest line looked at; every indexOf below stays within it. */
const LINE_LIMIT = 3 * REQUEST_LIMIT + PREFIX_LIMIT;

/** Parses an access log line (already trimmed at the start), or returns null when it is not one. */
export function parseAccessLog(text: string): AccessLog | null {
  const c0 = text.charCodeAt(0);
  if (!isAlnum(c0) && c0 !== COLON) return null;
  if (text.lastIndexOf(" [", PREFIX_LIMIT) < 0) return null;
  const line = text.length > LINE_LIMIT ? text.slice(0, LINE_LIMIT) : text;
  const open = line.indexOf(" [", 0);
  // host ident user: the first two words, then the rest up to ` [` (a user name may contain spaces).
  const hostEnd = line.indexOf(" ", 0);
  const identEnd = line.indexOf(" ", hostEnd + 1);
  if (hostEnd <= 0 || identEnd < 0 || identEnd >= open) return null;
  const ts = parseClfDateAt(line, open + 2);
  if (Number.isNaN(ts)) return null;
  let p = scanned.end;
  if (line.charCodeAt(p) !== 0x5d || line.charCodeAt(p + 1) !== SP || line.charCodeAt(p + 2) !== DQUOTE) return null;
  const reqStart = p + 3;
  const reqEnd = closingQuote(line, reqStart, Math.min(line.length, reqStart + REQUEST_LIMIT));
  if (reqEnd < 0 || line.charCodeAt(reqEnd + 1) !== SP) return null;
  // status: 3 digits
  p = reqEnd + 2;
  if (!isDigit(line.charCodeAt(p)) || !isDigit(line.charCodeAt(p + 1)) || !isDigit(line.charCodeAt(p + 2))) return null;
  const status = (line.charCodeAt(p) - 0x30) * 100 + (line.charCodeAt(p + 1) - 0x30) * 10 + (line.charCodeAt(p + 2) - 0x30);
  p += 3;
  if (line.charCodeAt(p) !== SP) return null;
  p++;
  // size: digits or "-"
  let size = 0;
  if (line.charCodeAt(p) === DASH) {
    p++;
  } else {
    const s = p;
    while (isDigit(line.charCodeAt(p)) && p - s < 16) p++;
    if (p === s) return null;
    size = Number(line.slice(s, p));
  }
  const after = line.charCodeAt(p);
  if (p < line.length && after !== SP && after !== 0x0a && after !== 0x0d) return null;

  const fields: Fields = { clientHost: line.slice(0, hostEnd) };
  const ident = line.slice(hostEnd + 1, identEnd);
  const user = line.slice(identEnd + 1, open);
  if (ident !== "-" && ident !== "") fields.remoteLogname = ident;
  if (user !== "-" && user !== "") fields.remoteUser = user;
  fields.timestamp = isoString(ts)!;
  splitRequestLine(unescapeQuoted(line, reqStart, reqEnd), fields);
  fields.status = status;
  fields.size = size;

  // Combined format: ` "referer" "user agent"`.
  if (line.charCodeAt(p) === SP && line.charCodeAt(p + 1) === DQUOTE) {
    const refEnd = closingQuote(line, p + 2, Math.min(line.length, p + 2 + REQUEST_LIMIT));
    if (refEnd >= 0) {
      const referer = unescapeQuoted(line, p + 2, refEnd);
      if (referer !== "-" && referer !== "") fields.referer = referer;
      p = refEnd + 1;
      if (line.charCodeAt(p) === SP && line.charCodeAt(p + 1) === DQUOTE) {
        const uaEnd = closingQuote(line, p + 2, Math.min(line.length, p + 2 + REQUEST_LIMIT));
        if (uaEnd >= 0) {
          const ua = unescapeQuoted(line, p + 2, uaEnd);
          if (ua !== "-" && ua !== "") fields.userAgent = ua;
        }
      }
    }
  }
  return { fields, timestamp: ts };
}
