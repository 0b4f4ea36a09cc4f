/**
 * The RFC 5424 header after PRI: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP`, walked the
 * same way by parseSyslog and extractLogglySd so that both agree on where STRUCTURED-DATA starts.
 */
import { DASH, LOWER_T, SP, UPPER_T } from "../chars";
import type { ParseOptions, SyslogMessage } from "./message";
import { parseStructuredData, sdStartsAt } from "./structured-data";
import { readDigits, setMessage, wordEnd } from "./text";
import { applyRfc3339 } from "./timestamp";

/** The five header fields TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID as bounds in the line (-1 = missing). */
export interface Header5424 {
  start: number[];
  end: number[];
  /** The header ended early (line end, or SD where a field was expected). */
  short: boolean;
  /** Where STRUCTURED-DATA starts (> line end when the line ended inside the header). */
  sdStart: number;
}

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
export function looks5424(line: string, p: number, end: number): boolean {
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
    (t === UPPER_T || t === LOWER_T)
  );
}

/**
 * Splits the five header fields after `1 ` strictly at single spaces, so an empty field (double space, as
 * syslog-ng produces for an empty `${PID}`) stays in its position instead of shifting the rest.
 * If APP-NAME, PROCID or MSGID starts with `[SD-ID`, the sender omitted trailing fields: SD starts there.
 * Returns the field bounds and where STRUCTURED-DATA starts.
 */
export function walk5424Header(line: string, p: number, end: number): Header5424 {
  const h: Header5424 = { start: [-1, -1, -1, -1, -1], end: [-1, -1, -1, -1, -1], short: false, sdStart: p };
  for (let k = 0; k < 5; k++) {
    if (p > end || (k >= 2 && sdStartsAt(line, p, end))) {
      h.short = true;
      h.sdStart = p;
      return h;
    }
    const fe = wordEnd(line, p, end);
    h.start[k] = p;
    h.end[k] = fe;
    p = fe + 1;
  }
  h.sdStart = p;
  return h;
}

/** Header field k as a value: undefined when missing, empty, or NILVALUE `-`. */
function headerField(line: string, h: Header5424, k: number): string | undefined {
  const s = h.start[k]!;
  const e = h.end[k]!;
  if (s < 0 || e <= s) return undefined;
  if (e - s === 1 && line.charCodeAt(s) === DASH) return undefined;
  return line.slice(s, e);
}

export function parse5424(line: string, p: number, end: number, msg: SyslogMessage, opts: ParseOptions): void {
  msg.format = "rfc5424";
  msg.version = line.charCodeAt(p - 2) - 0x30;
  const h = walk5424Header(line, p, end);
  if (h.short) msg.flags.push("header_short");
  for (let k = 0; k < 5; k++) {
    if (h.start[k]! >= 0 && h.start[k] === h.end[k]) {
      msg.flags.push("empty_header_field");
      break;
    }
  }
  const tsStart = h.start[0]!;
  const tsEnd = h.end[0]!;
  const host = headerField(line, h, 1);
  const appName = headerField(line, h, 2);
  const procid = headerField(line, h, 3);
  const msgid = headerField(line, h, 4);
  if (host !== undefined) msg.host = host;
  if (appName !== undefined) msg.appName = appName;
  if (procid !== undefined) msg.procid = procid;
  if (msgid !== undefined) msg.msgid = msgid;
  if (tsStart >= 0 && tsEnd > tsStart && !(tsEnd - tsStart === 1 && line.charCodeAt(tsStart) === DASH)) {
    applyRfc3339(line, tsStart, tsEnd, msg, opts);
  }
  setMessage(line, parseStructuredData(line, h.sdStart, end, msg), end, msg);
}
