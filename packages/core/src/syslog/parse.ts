/**
 * Hand-written syslog parser: RFC 5424, RFC 3164 (BSD), Cisco ASA/IOS, PRI-only and PRI-less lines.
 *
 * Design goals (the formats: RFC 5424 https://www.rfc-editor.org/rfc/rfc5424, RFC 3164
 * https://www.rfc-editor.org/rfc/rfc3164; what real senders emit: test/fixtures/syslog-corpus.json):
 * - never throws: every malformed input degrades to a less specific format and keeps the text in `message`;
 * - cheap: index arithmetic, `indexOf` and `slice` only; no regular expressions, no per-character string building
 *   except when an SD-PARAM value actually contains an escape;
 * - tolerant of what real senders emit (empty template macros, missing HOSTNAME, unescaped `]` in SD values,
 *   Cisco sequence numbers and time-sync markers, FortiGate k=v after PRI), but never invents a host or app
 *   from the first word of a headerless message.
 *
 * Flags that may appear in `SyslogMessage.flags` (order is not significant):
 * - `no_pri`              the line had no valid `<PRI>`; format "none", whole line is the message
 * - `bom_stripped`        a UTF-8 BOM (U+FEFF) at the start of MSG/CONTENT was removed
 * - `year_inferred`       RFC 3164/Cisco timestamp without year; the latest year that puts it at most a day after
 *                         `receivedAt` (never months into the future)
 * - `timezone_assumed`    the timestamp carried no UTC offset; `opts.timeZone` (default UTC) was applied
 * - `timezone_invalid`    `opts.timeZone` is not a zone Intl knows; UTC was used instead
 * - `timestamp_invalid`   a timestamp field was present but unusable; `timestampText` keeps it, `timestamp` absent
 * - `host_from_peer`      the message had no HOSTNAME; `opts.peerHost` was used
 * - `empty_header_field`  an RFC 5424 header field was empty (double space, e.g. syslog-ng `${PID}` empty)
 * - `header_short`        the RFC 5424 header ended early (line ended, or SD started where a field was expected)
 * - `sd_missing`          RFC 5424 line with text where STRUCTURED-DATA (`-` or `[`) must be; taken as MSG
 * - `sd_malformed`        an SD-ELEMENT could not be parsed; it and everything after it became MSG
 * - `time_unsynced`       Cisco `*` / `.` marker: the device clock is not (or no longer) NTP-synchronised
 * - `parse_error`         internal safety net fired (should never happen); message = the raw line
 */

import { dayExists, resolveZone, utcMs, UTC_ZONE, wallToUtc, type Zone } from "../time-zone";

export type SyslogFormat = "rfc5424" | "rfc3164" | "cisco" | "pri-only" | "none";

export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export interface SyslogMessage {
  format: SyslogFormat;
  priority?: number;
  facility?: number;
  severity?: number;
  facilityName?: string;
  severityName?: string;
  version?: number;
  timestamp?: number;
  timestampText?: string;
  host?: string;
  appName?: string;
  procid?: string;
  msgid?: string;
  structuredData: SdElement[];
  message: string;
  flags: string[];
}

export interface ParseOptions {
  receivedAt: number;
  peerHost?: string;
  timeZone?: string;
}

/** Loggly's severity names, index = severity (0..7). */
export const SEVERITY_NAMES: readonly string[] = Object.freeze([
  "Emergency",
  "Alert",
  "Critical",
  "Error",
  "Warning",
  "Notice",
  "Informational",
  "Debug",
]);

/** Facility keywords, index = facility (0..23). */
export const FACILITY_NAMES: readonly string[] = Object.freeze([
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
]);

// ---------------------------------------------------------------------------------------------------------------
// Character codes and tiny helpers
// ---------------------------------------------------------------------------------------------------------------

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const QUOTE = 0x22;
const PERCENT = 0x25;
const STAR = 0x2a;
const PLUS = 0x2b;
const DASH = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const UNDERSCORE = 0x5f;
const BOM = 0xfeff;

/** Loggly's private enterprise number as it appears at the end of the customer SD-ID `<token>@41058`. */
const LOGGLY_SD_SUFFIX = "@41058";

// charCodeAt past the end returns NaN, and every comparison with NaN is false, so these helpers double as
// bounds checks for the common "is the next char X" questions.
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** Value of `count` ASCII digits at `start`, or -1 if any of them is not a digit or lies beyond `end`. */
function readDigits(line: string, start: number, count: number, end: number): number {
  if (start + count > end) return -1;
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = line.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Logical end of the line: trailing CR/LF/NUL are framing leftovers (LF, CRLF or NUL trailers), not content. */
function contentEnd(line: string): number {
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== LF && c !== CR && c !== NUL) break;
    end--;
  }
  return end;
}

/** End of the SP-delimited word starting at `p` (index of the SP, or `end`). */
function wordEnd(line: string, p: number, end: number): number {
  const i = line.indexOf(" ", p);
  return i < 0 || i > end ? end : i;
}

// ---------------------------------------------------------------------------------------------------------------
// PRI
// ---------------------------------------------------------------------------------------------------------------

/**
 * Index of the `>` closing a valid PRI at the start of the line, or -1.
 * Valid = `<` + 1..3 digits + `>` with value 0..191. Leading zeros (`<013>`) are tolerated: RFC 3164 senders
 * emit them and the value is unambiguous. Anything else (`<999>`, `<>`, `<12`, `<1a>`) is "no PRI".
 */
function priCloseIndex(line: string, end: number): number {
  if (end < 3 || line.charCodeAt(0) !== LT) return -1;
  let value = 0;
  let i = 1;
  for (; i < end && i <= 4; i++) {
    const c = line.charCodeAt(i);
    if (c === GT) break;
    if (!isDigit(c)) return -1;
    value = value * 10 + (c - 0x30);
  }
  const digits = i - 1;
  if (digits < 1 || digits > 3 || line.charCodeAt(i) !== GT || value > 191) return -1;
  return i;
}

function applyPriority(msg: SyslogMessage, pri: number): void {
  const facility = pri >> 3;
  const severity = pri & 7;
  msg.priority = pri;
  msg.facility = facility;
  msg.severity = severity;
  msg.facilityName = FACILITY_NAMES[facility];
  msg.severityName = SEVERITY_NAMES[severity];
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones (Intl) and calendar helpers
// ---------------------------------------------------------------------------------------------------------------

/** Zone for timestamps without an offset: opts.timeZone (default UTC); an unknown name is flagged and treated as UTC. */
function assumedZone(msg: SyslogMessage, opts: ParseOptions): Zone {
  msg.flags.push("timezone_assumed");
  const name = opts.timeZone;
  if (name === undefined || name === "") return UTC_ZONE;
  const zone = resolveZone(name);
  if (zone === null) {
    msg.flags.push("timezone_invalid");
    return UTC_ZONE;
  }
  return zone;
}

/** Reads `.ddd…` at `r`; sets `fractionMs` (truncated to ms) and returns the index after the digits (r if none). */
let fractionMs = 0;
function readFraction(line: string, r: number, end: number): number {
  fractionMs = 0;
  if (line.charCodeAt(r) !== DOT || !isDigit(line.charCodeAt(r + 1))) return r;
  r++;
  let digits = 0;
  let ms = 0;
  while (r < end && isDigit(line.charCodeAt(r))) {
    if (digits < 3) ms = ms * 10 + (line.charCodeAt(r) - 0x30);
    digits++;
    r++;
  }
  for (let k = digits; k < 3; k++) ms *= 10;
  fractionMs = ms;
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 3339 timestamps (RFC 5424 TIMESTAMP, and the ISO stamp rsyslog puts into 3164-style lines)
// ---------------------------------------------------------------------------------------------------------------

/** Offset of the last parsed RFC 3339 timestamp in minutes, or NaN when it had none (wall time). */
let rfc3339OffsetMin = 0;

/**
 * Parses `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm|±hhmm)?` spanning exactly line[s, e).
 * Returns the wall time as UTC ms (NaN if invalid); the offset is left in `rfc3339OffsetMin`.
 * Lenient where real senders deviate harmlessly: lowercase `t`/`z`, more than 6 fraction digits (.NET emits 7),
 * `±hhmm` without colon, and no offset at all (caller applies the assumed zone).
 */
function parseRfc3339(line: string, s: number, e: number): number {
  if (e - s < 19) return NaN;
  const y = readDigits(line, s, 4, e);
  const mo = readDigits(line, s + 5, 2, e);
  const d = readDigits(line, s + 8, 2, e);
  const t = line.charCodeAt(s + 10);
  const h = readDigits(line, s + 11, 2, e);
  const mi = readDigits(line, s + 14, 2, e);
  const sec = readDigits(line, s + 17, 2, e);
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 0 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    sec < 0 ||
    sec > 60 ||
    line.charCodeAt(s + 4) !== DASH ||
    line.charCodeAt(s + 7) !== DASH ||
    (t !== 0x54 && t !== 0x74) ||
    line.charCodeAt(s + 13) !== COLON ||
    line.charCodeAt(s + 16) !== COLON ||
    !dayExists(y, mo - 1, d)
  ) {
    return NaN;
  }
  let r = readFraction(line, s + 19, e);
  const ms = fractionMs;
  const c = line.charCodeAt(r);
  if (r === e) {
    rfc3339OffsetMin = NaN;
  } else if ((c === 0x5a || c === 0x7a) && r + 1 === e) {
    rfc3339OffsetMin = 0;
  } else if (c === PLUS || c === DASH) {
    const oh = readDigits(line, r + 1, 2, e);
    r += 3;
    if (line.charCodeAt(r) === COLON) r++;
    const om = readDigits(line, r, 2, e);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || r + 2 !== e) return NaN;
    rfc3339OffsetMin = (c === PLUS ? 1 : -1) * (oh * 60 + om);
  } else {
    return NaN;
  }
  return utcMs(y, mo - 1, d, h, mi, sec, ms);
}

/** Stores an RFC 3339 timestamp field line[s, e) on the message (text always, epoch ms when usable). */
function applyRfc3339(line: string, s: number, e: number, msg: SyslogMessage, opts: ParseOptions): void {
  msg.timestampText = line.slice(s, e);
  const wall = parseRfc3339(line, s, e);
  if (Number.isNaN(wall)) {
    msg.flags.push("timestamp_invalid");
    return;
  }
  const offset = rfc3339OffsetMin;
  msg.timestamp = Number.isNaN(offset) ? wallToUtc(wall, assumedZone(msg, opts)) : wall - offset * 60_000;
}

// ---------------------------------------------------------------------------------------------------------------
// Structured data (shared by parseSyslog and extractLogglySd)
// ---------------------------------------------------------------------------------------------------------------

/**
 * End of an SD-ID starting at `s` (just after `[`): index of the terminating SP or `]`, or -1 when the ID is
 * empty, unterminated, or contains `=`/`"` (then this is not structured data).
 */
function scanSdId(line: string, s: number, end: number): number {
  let q = s;
  while (q < end) {
    const c = line.charCodeAt(q);
    if (c === SP || c === RBRACKET) break;
    if (c === EQUALS || c === QUOTE || c === LBRACKET) return -1;
    q++;
  }
  return q === s || q >= end ? -1 : q;
}

/**
 * Index of the `"` closing a PARAM-VALUE that starts at `v`, or -1. A quote is escaped when preceded by an odd
 * number of backslashes (`\\` is an escaped backslash). An unescaped `]` inside the quotes is accepted: senders
 * routinely forget to escape it and the quotes make the intent unambiguous.
 */
function closingQuote(line: string, v: number, end: number): number {
  let from = v;
  for (;;) {
    const q = line.indexOf('"', from);
    if (q < 0 || q >= end) return -1;
    let backslashes = 0;
    for (let k = q - 1; k >= v && line.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return q;
    from = q + 1;
  }
}

/**
 * PARAM-VALUE text for line[s, e). Per RFC 5424 §6.3.3 only `\"`, `\\` and `\]` are escapes; a backslash before
 * anything else is kept literally (`C:\temp` stays `C:\temp`). The common no-backslash case is a plain slice.
 */
function sdValue(line: string, s: number, e: number): string {
  let first = -1;
  for (let k = s; k < e; k++) {
    if (line.charCodeAt(k) === BACKSLASH) {
      first = k;
      break;
    }
  }
  if (first < 0) return line.slice(s, e);
  let out = line.slice(s, first);
  let k = first;
  while (k < e) {
    const c = line.charCodeAt(k);
    if (c === BACKSLASH && k + 1 < e) {
      const n = line.charCodeAt(k + 1);
      if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
        out += line[k + 1];
        k += 2;
        continue;
      }
    }
    out += line[k];
    k++;
  }
  return out;
}

/**
 * Parses the SD-PARAMs of one element, starting right after its SD-ID (at SP or `]`).
 * Collects every param into `params` and/or only the values of `tag` params into `tags` (either may be null,
 * so the collector's fast path shares this code without building arrays it does not need).
 * Returns the index after the closing `]`, or -1 when the element is malformed (whatever was collected stays).
 */
function scanSdParams(
  line: string,
  q: number,
  end: number,
  params: [string, string][] | null,
  tags: string[] | null,
): number {
  for (;;) {
    const c = line.charCodeAt(q);
    if (c === RBRACKET) return q + 1;
    if (c !== SP) return -1;
    // RFC 5424 has exactly one SP before each param; extra spaces are tolerated (hand-written templates).
    do q++;
    while (line.charCodeAt(q) === SP);
    if (line.charCodeAt(q) === RBRACKET) continue;
    const nameStart = q;
    while (q < end) {
      const n = line.charCodeAt(q);
      if (n === EQUALS || n === SP || n === RBRACKET || n === QUOTE) break;
      q++;
    }
    if (q === nameStart || line.charCodeAt(q) !== EQUALS || line.charCodeAt(q + 1) !== QUOTE) return -1;
    const nameEnd = q;
    const valueStart = q + 2;
    const valueEnd = closingQuote(line, valueStart, end);
    if (valueEnd < 0) return -1;
    if (params !== null) params.push([line.slice(nameStart, nameEnd), sdValue(line, valueStart, valueEnd)]);
    if (tags !== null && nameEnd - nameStart === 3 && line.startsWith("tag", nameStart)) {
      tags.push(sdValue(line, valueStart, valueEnd));
    }
    q = valueEnd + 1;
  }
}

/** True when an SD-ELEMENT plausibly starts at `p` (`[` + SD-ID + SP/`]`); used to detect omitted header fields. */
function sdStartsAt(line: string, p: number, end: number): boolean {
  return line.charCodeAt(p) === LBRACKET && scanSdId(line, p + 1, end) > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 5424 header walk (shared by parseSyslog and extractLogglySd so both agree on where SD starts)
// ---------------------------------------------------------------------------------------------------------------

/** Bounds of TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID from the last walk; -1 = field missing. Reused buffers:
 * the walk is synchronous, so module-level scratch space is safe and saves an allocation per message. */
const fieldStart = new Int32Array(5);
const fieldEnd = new Int32Array(5);
let headerShort = false;

/**
 * True when the text after PRI is an RFC 5424 header: VERSION `1 ` followed by a NILVALUE timestamp, an empty
 * timestamp (template macro expanded to nothing) or `YYYY-MM-DDT`. Checking the date shape keeps PRI-only text
 * such as `<13>1 2023-10-11 backup done` out of the 5424 path.
 *
 * VERSION `0` is accepted too, with a date-shaped timestamp only: rsyslog's `%protocol-version%` is 0 for every
 * message it did not receive as RFC 5424 (imfile, the local socket, RFC 3164 relays, Docker's syslog driver), so
 * Loggly's own template (`<%pri%>%protocol-version% %timestamp:::date-rfc3339% ... [TOKEN@41058 ...]`) sends
 * `<134>0 2024-05-01T12:00:00.123456+00:00 host app - - [TOKEN@41058 tag="x"] msg`: an RFC 5424 header in all
 * but the version digit, which must be read as one, or its token is never found.
 */
function looks5424(line: string, p: number, end: number): boolean {
  const v = line.charCodeAt(p);
  if (p + 2 >= end || (v !== 0x31 && v !== 0x30) || line.charCodeAt(p + 1) !== SP) return false;
  const q = p + 2;
  const c = line.charCodeAt(q);
  if (v === 0x31) {
    if (c === DASH) return q + 1 >= end || line.charCodeAt(q + 1) === SP;
    if (c === SP) return true;
  }
  const t = line.charCodeAt(q + 10);
  return (
    readDigits(line, q, 4, end) >= 0 &&
    line.charCodeAt(q + 4) === DASH &&
    readDigits(line, q + 5, 2, end) >= 0 &&
    line.charCodeAt(q + 7) === DASH &&
    readDigits(line, q + 8, 2, end) >= 0 &&
    (t === 0x54 || t === 0x74)
  );
}

/**
 * Splits the five header fields after `1 ` strictly at single spaces, so an empty field (double space, as
 * syslog-ng produces for an empty `${PID}`) stays in its position instead of shifting the rest.
 * If APP-NAME, PROCID or MSGID starts with `[SD-ID`, the sender omitted trailing fields: SD starts there.
 * Returns the index where STRUCTURED-DATA starts (> end when the line ended inside the header).
 */
function walk5424Header(line: string, p: number, end: number): number {
  headerShort = false;
  for (let k = 0; k < 5; k++) {
    if (p > end || (k >= 2 && sdStartsAt(line, p, end))) {
      headerShort = true;
      for (let j = k; j < 5; j++) {
        fieldStart[j] = -1;
        fieldEnd[j] = -1;
      }
      return p;
    }
    const fe = wordEnd(line, p, end);
    fieldStart[k] = p;
    fieldEnd[k] = fe;
    p = fe + 1;
  }
  return p;
}

/** Header field k as a value: undefined when missing, empty, or NILVALUE `-`. */
function headerField(line: string, k: number): string | undefined {
  const s = fieldStart[k];
  const e = fieldEnd[k];
  if (s < 0 || e <= s) return undefined;
  if (e - s === 1 && line.charCodeAt(s) === DASH) return undefined;
  return line.slice(s, e);
}

function parse5424(line: string, p: number, end: number, msg: SyslogMessage, opts: ParseOptions): void {
  msg.format = "rfc5424";
  msg.version = line.charCodeAt(p - 2) - 0x30;
  const sdStart = walk5424Header(line, p, end);
  if (headerShort) msg.flags.push("header_short");
  for (let k = 0; k < 5; k++) {
    if (fieldStart[k] >= 0 && fieldStart[k] === fieldEnd[k]) {
      msg.flags.push("empty_header_field");
      break;
    }
  }
  // Read all fields before anything else can reuse the scratch buffers.
  const tsStart = fieldStart[0];
  const tsEnd = fieldEnd[0];
  const host = headerField(line, 1);
  const appName = headerField(line, 2);
  const procid = headerField(line, 3);
  const msgid = headerField(line, 4);
  if (host !== undefined) msg.host = host;
  if (appName !== undefined) msg.appName = appName;
  if (procid !== undefined) msg.procid = procid;
  if (msgid !== undefined) msg.msgid = msgid;
  if (tsStart >= 0 && tsEnd > tsStart && !(tsEnd - tsStart === 1 && line.charCodeAt(tsStart) === DASH)) {
    applyRfc3339(line, tsStart, tsEnd, msg, opts);
  }
  setMessage(line, parseStructuredData(line, sdStart, end, msg), end, msg);
}

/**
 * Parses STRUCTURED-DATA at `p` into msg.structuredData and returns where MSG starts.
 * Malformed elements are not guessed at: elements parsed so far are kept, the malformed one and everything after
 * it become MSG (nothing is lost) and `sd_malformed` is flagged.
 */
function parseStructuredData(line: string, p: number, end: number, msg: SyslogMessage): number {
  if (p >= end) return end;
  const c = line.charCodeAt(p);
  if (c === DASH && (p + 1 === end || line.charCodeAt(p + 1) === SP)) return p + 2;
  if (c === SP) {
    // An empty SD position (template produced nothing); the message follows the second space.
    if (!msg.flags.includes("empty_header_field")) msg.flags.push("empty_header_field");
    return p + 1;
  }
  if (c !== LBRACKET) {
    msg.flags.push("sd_missing");
    return p;
  }
  while (p < end && line.charCodeAt(p) === LBRACKET) {
    const idEnd = scanSdId(line, p + 1, end);
    const element: SdElement | null = idEnd < 0 ? null : { id: line.slice(p + 1, idEnd), params: [] };
    const next = element === null ? -1 : scanSdParams(line, idEnd, end, element.params, null);
    if (element === null || next < 0) {
      msg.flags.push("sd_malformed");
      return p;
    }
    msg.structuredData.push(element);
    p = next;
  }
  // A single SP separates SD from MSG; a message glued to `]` is accepted as is.
  return line.charCodeAt(p) === SP ? p + 1 : p;
}

/** Sets msg.message = line[s, end) without a leading UTF-8 BOM (RFC 5424 MSG-UTF8; it breaks JSON detection). */
function setMessage(line: string, s: number, end: number, msg: SyslogMessage): void {
  if (s < end && line.charCodeAt(s) === BOM) {
    s++;
    msg.flags.push("bom_stripped");
  }
  msg.message = s < end ? line.slice(s, end) : "";
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 3164 / Cisco
// ---------------------------------------------------------------------------------------------------------------

const MONTHS = "janfebmaraprmayjunjulaugsepoctnovdec";

/** 0-based month for a 3-letter English abbreviation at `q` (any case), or -1. */
function monthAt(line: string, q: number, end: number): number {
  if (q + 3 > end) return -1;
  const a = line.charCodeAt(q) | 0x20;
  const b = line.charCodeAt(q + 1) | 0x20;
  const c = line.charCodeAt(q + 2) | 0x20;
  for (let m = 0; m < 12; m++) {
    const i = m * 3;
    if (MONTHS.charCodeAt(i) === a && MONTHS.charCodeAt(i + 1) === b && MONTHS.charCodeAt(i + 2) === c) return m;
  }
  return -1;
}

/** Result of the last successful parseBsdTime (scratch; see fieldStart for why module-level is fine). */
const bsd = { month: 0, day: 0, year: -1, hour: 0, minute: 0, second: 0, ms: 0, fraction: false, end: 0 };

/**
 * Parses `Mmm dd hh:mm:ss` at `q`, with the variants real devices send: space-padded (`Oct  9`) or unpadded
 * (`Oct 9`) day, a year before the time (Cisco ASA `Sep 14 2016 09:33:47`) and sub-seconds (`14:01:19.115`).
 * The stamp must be followed by SP, `:` (Cisco) or the end of the line. Fills `bsd` and returns true on success.
 */
function parseBsdTime(line: string, q: number, end: number): boolean {
  const month = monthAt(line, q, end);
  if (month < 0 || line.charCodeAt(q + 3) !== SP) return false;
  let r = q + 4;
  const c0 = line.charCodeAt(r);
  const c1 = line.charCodeAt(r + 1);
  let day: number;
  if (c0 === SP && isDigit(c1)) {
    day = c1 - 0x30;
    r += 2;
  } else if (isDigit(c0) && isDigit(c1)) {
    day = (c0 - 0x30) * 10 + (c1 - 0x30);
    r += 2;
  } else if (isDigit(c0) && c1 === SP) {
    day = c0 - 0x30;
    r += 1;
  } else {
    return false;
  }
  if (line.charCodeAt(r) !== SP) return false;
  r++;
  let year = -1;
  const y = readDigits(line, r, 4, end);
  if (y >= 0 && line.charCodeAt(r + 4) === SP) {
    year = y;
    r += 5;
  }
  const hour = readDigits(line, r, 2, end);
  const minute = readDigits(line, r + 3, 2, end);
  const second = readDigits(line, r + 6, 2, end);
  if (
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 60 ||
    day < 1 ||
    day > 31 ||
    line.charCodeAt(r + 2) !== COLON ||
    line.charCodeAt(r + 5) !== COLON
  ) {
    return false;
  }
  r += 8;
  const afterFraction = readFraction(line, r, end);
  const fraction = afterFraction > r;
  r = afterFraction;
  const next = line.charCodeAt(r);
  if (r < end && next !== SP && next !== COLON) return false;
  bsd.month = month;
  bsd.day = day;
  bsd.year = year;
  bsd.hour = hour;
  bsd.minute = minute;
  bsd.second = second;
  bsd.ms = fractionMs;
  bsd.fraction = fraction;
  bsd.end = r;
  return true;
}

/**
 * If line[r] is SP followed by an upper-case zone abbreviation and `:` (Cisco `14:01:19.115 UTC: %...`),
 * returns the index of that `:`; otherwise -1.
 */
function zoneAbbrevEnd(line: string, r: number, end: number): number {
  if (line.charCodeAt(r) !== SP) return -1;
  let q = r + 1;
  while (q < end && q - r <= 6 && isUpper(line.charCodeAt(q))) q++;
  const len = q - r - 1;
  return len >= 2 && len <= 5 && line.charCodeAt(q) === COLON ? q : -1;
}

function isUtcAbbrev(line: string, s: number, e: number): boolean {
  return e - s === 3 && (line.startsWith("UTC", s) || line.startsWith("GMT", s));
}

/** How far after the receive time an inferred year may put a year-less timestamp (clock skew, time zones). */
export const YEAR_INFERENCE_SKEW_MS = 24 * 60 * 60 * 1000;

/** Sets msg.timestamp from `bsd`: explicit year as written, otherwise the latest year not in the future (see below). */
function applyBsdTimestamp(msg: SyslogMessage, opts: ParseOptions, utcKnown: boolean): void {
  const zone = utcKnown ? UTC_ZONE : assumedZone(msg, opts);
  const { month, day, hour, minute, second, ms } = bsd;
  if (bsd.year >= 0) {
    if (dayExists(bsd.year, month, day)) {
      msg.timestamp = wallToUtc(utcMs(bsd.year, month, day, hour, minute, second, ms), zone);
    } else {
      msg.flags.push("timestamp_invalid");
    }
    return;
  }
  // No year (RFC 3164, Cisco): "current year" misdates around New Year (rsyslog#4765), and "nearest year" put a
  // Cisco `*Mar  1 00:00:10` (a clock that never synced, received in December) three months into the future.
  // Take the latest year that does not put the time more than YEAR_INFERENCE_SKEW_MS after the receive time:
  // Dec 31 seen on Jan 1 is last year, Jan 1 00:00:05 seen on Dec 31 23:59:59 is next year, Mar 1 seen in Dec
  // is this year's. A year-less time is never believed to lie far in the future.
  const ref = Number.isFinite(opts.receivedAt) ? opts.receivedAt : Date.now();
  const refYear = new Date(ref).getUTCFullYear();
  const latest = ref + YEAR_INFERENCE_SKEW_MS;
  let best = NaN;
  // Feb 29 may be up to 4 years back (8 across a century that skips a leap year).
  for (let y = refYear + 1; y >= refYear - 8; y--) {
    if (!dayExists(y, month, day)) continue;
    const t = wallToUtc(utcMs(y, month, day, hour, minute, second, ms), zone);
    if (t <= latest) {
      best = t;
      break;
    }
  }
  if (Number.isNaN(best)) {
    msg.flags.push("timestamp_invalid");
    return;
  }
  msg.timestamp = best;
  msg.flags.push("year_inferred");
}

/**
 * End (index after the `:`) of a Cisco message mnemonic `%FACILITY-SEVERITY-MNEMONIC:` at `q`, or -1.
 * Requires a `-<0..7>-` severity segment so that text like `%% It's time...` (RFC example) is not mistaken for one.
 */
function ciscoMnemonicEnd(line: string, q: number, end: number): number {
  if (line.charCodeAt(q) !== PERCENT || !isAlnum(line.charCodeAt(q + 1))) return -1;
  let r = q + 1;
  let severity = false;
  while (r < end && r - q <= 96) {
    const c = line.charCodeAt(r);
    if (c === COLON) break;
    if (c === DASH) {
      const s = line.charCodeAt(r + 1);
      if (s >= 0x30 && s <= 0x37 && line.charCodeAt(r + 2) === DASH) severity = true;
    } else if (!isAlnum(c) && c !== UNDERSCORE) {
      return -1;
    }
    r++;
  }
  if (!severity || line.charCodeAt(r) !== COLON) return -1;
  if (r + 1 < end && line.charCodeAt(r + 1) !== SP) return -1;
  return r + 1;
}

/**
 * Parses an RFC 3164 TAG (`name:`, `name[pid]:` or `name[pid]`) spanning the word line[s, we).
 * Sets appName/procid and returns where CONTENT starts (after one SP), or -1 when the word is not a tag.
 * A host is never tag-shaped (hostnames end neither in `:` nor in `]`), which is how a missing HOSTNAME is told
 * from a present one.
 */
function parseTag(line: string, s: number, we: number, end: number, msg: SyslogMessage): number {
  const len = we - s;
  if (len < 2 || len > 64) return -1;
  const last = line.charCodeAt(we - 1);
  let bracket = -1;
  for (let k = s; k < we; k++) {
    if (line.charCodeAt(k) === LBRACKET) {
      bracket = k;
      break;
    }
  }
  let nameEnd: number;
  let pidEnd = -1;
  if (bracket >= 0) {
    const close = last === COLON ? we - 2 : we - 1;
    if (bracket === s || close <= bracket || line.charCodeAt(close) !== RBRACKET) return -1;
    nameEnd = bracket;
    pidEnd = close;
  } else if (last === COLON) {
    nameEnd = we - 1;
  } else {
    return -1;
  }
  msg.appName = line.slice(s, nameEnd);
  if (pidEnd > bracket + 1) msg.procid = line.slice(bracket + 1, pidEnd);
  return we < end ? we + 1 : end;
}

/**
 * RFC 3164 and Cisco share one walk: [sequence numbers] [*|.] TIMESTAMP [TZ] (`:` | SP HOST [` :`]) [TAG] CONTENT.
 * Nothing is written to `msg` until a timestamp (or a bare Cisco mnemonic) has been recognised, so returning false
 * lets the caller fall back to "pri-only" with the message untouched.
 */
function parseBsdFamily(line: string, p: number, end: number, msg: SyslogMessage, opts: ParseOptions): boolean {
  let q = p;
  let cisco = false;
  // Cisco IOS `service sequence-numbers` (sometimes twice, when relayed): "87117903: 87117909: ".
  for (let n = 0; n < 4; n++) {
    let r = q;
    while (r < end && r - q < 12 && isDigit(line.charCodeAt(r))) r++;
    if (r === q || line.charCodeAt(r) !== COLON || line.charCodeAt(r + 1) !== SP) break;
    q = r + 2;
    cisco = true;
  }
  // IOS time-sync markers: `*` clock not authoritative, `.` authoritative but lost sync since.
  const marker = line.charCodeAt(q);
  const unsynced = (marker === STAR || marker === DOT) && parseBsdTime(line, q + 1, end);
  const tsStart = unsynced ? q + 1 : q;
  let kind = unsynced || parseBsdTime(line, q, end) ? 1 : 0;
  let isoEnd = -1;
  if (kind === 0 && isDigit(line.charCodeAt(q))) {
    // rsyslog's high-precision forward format: `<PRI>2024-04-01T12:00:00.250+02:00 host tag: msg`.
    isoEnd = wordEnd(line, q, end);
    if (!Number.isNaN(parseRfc3339(line, q, isoEnd))) kind = 2;
  }
  if (kind === 0) {
    // ASA/IOS without timestamps: `<166>%ASA-6-302014: ...` or `<189>123: %SYS-5-CONFIG_I: ...`.
    const mnemonicEnd = ciscoMnemonicEnd(line, q, end);
    if (mnemonicEnd < 0) return false;
    msg.format = "cisco";
    msg.appName = line.slice(q + 1, mnemonicEnd - 1);
    setMessage(line, q, end, msg);
    return true;
  }

  let r: number;
  if (kind === 2) {
    applyRfc3339(line, q, isoEnd, msg, opts);
    r = isoEnd;
  } else {
    r = bsd.end;
    if (unsynced) {
      cisco = true;
      msg.flags.push("time_unsynced");
    }
    if (bsd.year >= 0) cisco = true; // RFC 3164 has no year; ASA's `logging timestamp` format does
    let utcKnown = false;
    const zoneEnd = zoneAbbrevEnd(line, r, end);
    if (zoneEnd > 0) {
      const utc = isUtcAbbrev(line, r + 1, zoneEnd);
      // Only trust an abbreviation in a Cisco-looking stamp (or UTC/GMT): `Oct 11 22:14:15 CRON: x` is a tag.
      if (utc || cisco || bsd.fraction) {
        utcKnown = utc;
        r = zoneEnd;
      }
    }
    msg.timestampText = line.slice(tsStart, r);
    applyBsdTimestamp(msg, opts, utcKnown);
  }

  let content: number;
  let tagIsBareWord = false;
  if (r >= end) {
    content = end;
  } else if (line.charCodeAt(r) === COLON) {
    // Cisco `Sep 14 2016 10:07:20: %ASA-...` / `Nov  5 14:01:19.115: %FMANFP-...`: no host configured.
    cisco = true;
    content = line.charCodeAt(r + 1) === SP ? r + 2 : r + 1;
  } else {
    const s = r + 1;
    const we = wordEnd(line, s, end);
    if (ciscoMnemonicEnd(line, s, end) > 0) {
      content = s;
    } else {
      const afterTag = parseTag(line, s, we, end, msg);
      if (afterTag >= 0) {
        // First word is a TAG: the sender left HOSTNAME out (local /dev/log relays, FreeBSD, Zscaler ...).
        content = afterTag;
        tagIsBareWord = msg.procid === undefined;
      } else if (we === s || line.charCodeAt(s) === LBRACKET) {
        // CONTENT right after the timestamp, e.g. `[INFO] ...`: not a host, and never 5424 structured data.
        content = s;
      } else {
        msg.host = line.slice(s, we);
        const h = we + 1;
        if (line.charCodeAt(h) === COLON && (h + 1 >= end || line.charCodeAt(h + 1) === SP)) {
          cisco = true; // ASA `fw01 : %ASA-4-106023: ...`
          content = Math.min(h + 2, end);
        } else if (h >= end) {
          content = end;
        } else {
          const afterHostTag = ciscoMnemonicEnd(line, h, end) > 0 ? -1 : parseTag(line, h, wordEnd(line, h, end), end, msg);
          content = afterHostTag >= 0 ? afterHostTag : h;
        }
      }
    }
  }

  // A Cisco mnemonic at the start of CONTENT names the event; keep it in the message, expose it as appName.
  const mnemonicEnd = ciscoMnemonicEnd(line, content, end);
  if (mnemonicEnd > 0) {
    if (msg.appName === undefined || (tagIsBareWord && msg.host === undefined)) {
      // `Nov  5 14:01:19 router1: %SYS-...`: a bare `word:` before a mnemonic is the device name, not a program.
      if (msg.appName !== undefined) msg.host = msg.appName;
      msg.appName = line.slice(content + 1, mnemonicEnd - 1);
      cisco = true;
    }
  }
  msg.format = cisco ? "cisco" : "rfc3164";
  setMessage(line, content, end, msg);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

function parseUnsafe(line: string, opts: ParseOptions): SyslogMessage {
  const end = contentEnd(line);
  const msg: SyslogMessage = { format: "none", structuredData: [], message: "", flags: [] };
  const gt = priCloseIndex(line, end);
  if (gt < 0) {
    // No (valid) PRI: files written by daemons, FortiGate k=v without PRI, garbage. RFC 3164 §4.3 says a relay
    // would treat the whole packet as CONTENT; we do the same but do not invent a PRI (priority stays absent).
    msg.flags.push("no_pri");
    setMessage(line, 0, end, msg);
  } else {
    applyPriority(msg, readDigits(line, 1, gt - 1, end));
    const p = gt + 1;
    if (looks5424(line, p, end)) {
      parse5424(line, p + 2, end, msg, opts);
    } else if (!parseBsdFamily(line, p, end, msg, opts)) {
      // PRI followed by something that is no known header (`<38>User logged in`, `<189>date=... devname=...`):
      // keep it all as the message. Taking the first word as host/tag is the rsyslog#5098 bug.
      msg.format = "pri-only";
      setMessage(line, p, end, msg);
    }
  }
  if (msg.host === undefined && opts.peerHost) {
    msg.host = opts.peerHost;
    msg.flags.push("host_from_peer");
  }
  return msg;
}

/**
 * Parses one syslog message (framing already removed by the transport). Never throws.
 * See the module comment for the flags; absent fields are absent properties, never `undefined` or `"-"`.
 */
export function parseSyslog(line: string, opts: ParseOptions): SyslogMessage {
  const text = typeof line === "string" ? line : String(line);
  const options: ParseOptions = opts ?? { receivedAt: Date.now() };
  try {
    return parseUnsafe(text, options);
  } catch {
    // Defensive only: the parser is written not to throw, but one bad record must never stop a pipeline.
    return { format: "none", structuredData: [], message: text, flags: ["parse_error"] };
  }
}

/**
 * Fast path used by the collector on every message (must be cheap: no full parse).
 * Finds Loggly's SD element `[TOKEN@41058 tag="a" tag="b"]` in the structured-data position of the line and
 * returns the token and the tag values (unescaped), or null when there is none.
 *
 * Decisions:
 * - Only the RFC 5424 STRUCTURED-DATA position counts (Loggly accepts only RFC 5424 headers:
 *   https://documentation.solarwinds.com/en/success_center/loggly/content/admin/streaming-syslog-without-using-files.htm; also
 *   rsyslog's VERSION 0 lines, see looks5424). The
 *   header is walked exactly like parseSyslog does, so empty template fields (double spaces) and omitted trailing
 *   header fields are tolerated and both functions always agree on where SD is.
 * - RFC 3164 / Cisco / PRI-only lines never yield a token, even if their content starts with `[x@41058 ...]`
 *   right after the header: that text is CONTENT (vector#7796), and honouring it would let any program that logs
 *   a bracketed string choose the tenant.
 * - The Loggly element may be any element of the SD (not only the first); the first `@41058` element wins.
 * - The SD-ID must end in exactly `@41058` with a non-empty token before it; the token is not validated here.
 * - If the Loggly element's params are malformed (e.g. an unterminated quote), the token is still returned with the
 *   tags parsed up to the damage: the SD-ID itself was intact, and dropping the event would lose customer data.
 *   A malformed element *before* the Loggly one ends the scan (its extent is unknown) and yields null.
 * - Tag values are returned verbatim (after unescaping), including empty ones; validating tag syntax is the
 *   caller's job. The line is expected without transport framing (no octet count), like parseSyslog's input.
 */
export function extractLogglySd(line: string): { token: string; tags: string[] } | null {
  try {
    if (typeof line !== "string") return null;
    const end = contentEnd(line);
    const gt = priCloseIndex(line, end);
    if (gt < 0 || !looks5424(line, gt + 1, end)) return null;
    let p = walk5424Header(line, gt + 3, end);
    while (p < end && line.charCodeAt(p) === LBRACKET) {
      const idStart = p + 1;
      const idEnd = scanSdId(line, idStart, end);
      if (idEnd < 0) return null;
      const suffixStart = idEnd - LOGGLY_SD_SUFFIX.length;
      if (suffixStart > idStart && line.startsWith(LOGGLY_SD_SUFFIX, suffixStart)) {
        const tags: string[] = [];
        scanSdParams(line, idEnd, end, null, tags);
        return { token: line.slice(idStart, suffixStart), tags };
      }
      p = scanSdParams(line, idEnd, end, null, null);
      if (p < 0) return null;
    }
    return null;
  } catch {
    return null;
  }
}
