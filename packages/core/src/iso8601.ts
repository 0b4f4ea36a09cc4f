/**
 * The one ISO-8601 scanner. Three callers read three dialects of it:
 *
 * - syslog (RFC 5424 TIMESTAMP, rsyslog's stamp in 3164 lines, syslog/timestamp.ts): RFC 3339 as senders write
 *   it: `T`, seconds required, `.` fraction, `Z` or `±hh[:]mm` or nothing, and the stamp is the whole field;
 * - event bodies (process/timestamps.ts): also `YYYY/MM/DD`, a space for `T`, optional seconds, `,` fractions,
 *   `±hh`, and a stamp that may be followed by text (an offset it cannot use is left as text);
 * - search parameters (query/time.ts): also a date alone, seconds 00-59, and an error naming the bad field.
 *
 * So the scanner reads the union of those grammars and checks no ranges; each caller says what it accepts and
 * checks ranges with its own rule (or error message). Grammar, at `i`, not reading at or beyond `end`:
 *
 *   YYYY s MM s DD                       s = `-` or `/`, the same both times
 *   [ (T|t|SP) hh `:` mm                 the time of day, when all of it is there
 *     [ `:` ss [ (.|,) digits… ] ]       a `:` after the minutes must be followed by two digits
 *     [ Z | z | (+|-) hh [ [`:`] mm ] ]  the offset, only after a time
 *   ]
 *
 * Index arithmetic only; never throws. The result goes into a caller-owned IsoScan (bench/parse.md: one object
 * per stamp costs nothing measurable).
 */
import { COLON, COMMA, DASH, DOT, isDigit, LOWER_T, LOWER_Z, PLUS, SLASH, SP, UPPER_T, UPPER_Z } from "./chars";
import { dayExists, utcMs } from "./time-zone";

/** What scanIso read, values as written (not range-checked). */
export interface IsoScan {
  year: number;
  /** 1-12 when valid (as written). */
  month: number;
  day: number;
  /** The date separator's char code (`-` or `/`). */
  dateSep: number;
  /** The char code between date and time (`T`, `t` or SP); 0 when there is no time of day. */
  timeSep: number;
  /** -1 when there is no time of day. */
  hour: number;
  minute: number;
  /** -1 when the seconds were left out. */
  second: number;
  /** The fraction's char code (`.` or `,`), 0 when there is none. */
  fractionSep: number;
  /** The fraction truncated to milliseconds (0 when there is none). */
  ms: number;
  /** Where the offset starts (or would start: the index after the time); -1 when there is no time of day. */
  offsetStart: number;
  /** 0 no offset, 1 `Z`/`z`, 2 `±hh`, 3 `±hhmm` or `±hh:mm`. */
  offsetKind: number;
  /** +1 or -1 (+1 for `Z`). */
  offsetSign: number;
  offsetHours: number;
  offsetMinutes: number;
  /** Index after the last character read. */
  end: number;
}

export function newIsoScan(): IsoScan {
  return {
    year: 0,
    month: 0,
    day: 0,
    dateSep: 0,
    timeSep: 0,
    hour: -1,
    minute: -1,
    second: -1,
    fractionSep: 0,
    ms: 0,
    offsetStart: -1,
    offsetKind: 0,
    offsetSign: 1,
    offsetHours: 0,
    offsetMinutes: 0,
    end: 0,
  };
}

/** Value of two ASCII digits at `i` (below `end`), or -1. */
function twoDigits(s: string, i: number, end: number): number {
  if (i + 2 > end) return -1;
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  return isDigit(a) && isDigit(b) ? (a - 0x30) * 10 + (b - 0x30) : -1;
}

/**
 * Scans an ISO-8601 stamp at `i` into `out` (grammar in the module comment) and returns the index after it, or
 * -1 when there is no date at `i` or a `:` after the minutes is not followed by two digits.
 */
export function scanIso(s: string, i: number, end: number, out: IsoScan): number {
  if (i + 10 > end) return -1;
  const y1 = twoDigits(s, i, end);
  const y2 = twoDigits(s, i + 2, end);
  const sep = s.charCodeAt(i + 4);
  if (y1 < 0 || y2 < 0 || (sep !== DASH && sep !== SLASH) || s.charCodeAt(i + 7) !== sep) return -1;
  const month = twoDigits(s, i + 5, end);
  const day = twoDigits(s, i + 8, end);
  if (month < 0 || day < 0) return -1;
  out.year = y1 * 100 + y2;
  out.month = month;
  out.day = day;
  out.dateSep = sep;
  out.timeSep = 0;
  out.hour = -1;
  out.minute = -1;
  out.second = -1;
  out.fractionSep = 0;
  out.ms = 0;
  out.offsetStart = -1;
  out.offsetKind = 0;
  out.offsetSign = 1;
  out.offsetHours = 0;
  out.offsetMinutes = 0;
  let p = i + 10;
  out.end = p;
  const t = s.charCodeAt(p);
  if (t !== UPPER_T && t !== LOWER_T && t !== SP) return p;
  const hour = twoDigits(s, p + 1, end);
  const minute = twoDigits(s, p + 4, end);
  if (hour < 0 || minute < 0 || s.charCodeAt(p + 3) !== COLON) return p;
  out.timeSep = t;
  out.hour = hour;
  out.minute = minute;
  p += 6;
  if (p < end && s.charCodeAt(p) === COLON) {
    const second = twoDigits(s, p + 1, end);
    if (second < 0) return -1;
    out.second = second;
    p += 3;
    const f = s.charCodeAt(p);
    if ((f === DOT || f === COMMA) && p + 1 < end && isDigit(s.charCodeAt(p + 1))) {
      out.fractionSep = f;
      p++;
      let digits = 0;
      let ms = 0;
      while (p < end && isDigit(s.charCodeAt(p))) {
        if (digits < 3) ms = ms * 10 + (s.charCodeAt(p) - 0x30);
        digits++;
        p++;
      }
      for (; digits < 3; digits++) ms *= 10;
      out.ms = ms;
    }
  }
  out.offsetStart = p;
  out.end = p;
  if (p >= end) return p;
  const c = s.charCodeAt(p);
  if (c === UPPER_Z || c === LOWER_Z) {
    out.offsetKind = 1;
    out.end = p + 1;
  } else if (c === PLUS || c === DASH) {
    const oh = twoDigits(s, p + 1, end);
    if (oh >= 0) {
      out.offsetSign = c === PLUS ? 1 : -1;
      out.offsetHours = oh;
      out.offsetKind = 2;
      let q = p + 3;
      const colon = q < end && s.charCodeAt(q) === COLON;
      const om = twoDigits(s, colon ? q + 1 : q, end);
      if (om >= 0) {
        out.offsetMinutes = om;
        out.offsetKind = 3;
        q += colon ? 3 : 2;
      }
      out.end = q;
    }
  }
  return out.end;
}

/**
 * True when the scan holds a date and a time of day that exist: month 01-12, a day of that month (leap years
 * included), hour 00-23, minute 00-59, second 00-60 (60: a leap second, which RFC 3339 allows; it rolls over).
 */
export function isoDateTimeValid(scan: IsoScan): boolean {
  return (
    scan.hour >= 0 &&
    scan.hour <= 23 &&
    scan.minute <= 59 &&
    scan.second <= 60 &&
    dayExists(scan.year, scan.month - 1, scan.day)
  );
}

/** The wall time scanned, as if it were UTC (ms); the caller has range-checked the fields. */
export function isoWallMs(scan: IsoScan): number {
  return utcMs(scan.year, scan.month - 1, scan.day, scan.hour < 0 ? 0 : scan.hour, scan.minute < 0 ? 0 : scan.minute, scan.second < 0 ? 0 : scan.second, scan.ms);
}

/** The scanned offset in minutes east of UTC; 0 for `Z`, NaN when the stamp has none. */
export function isoOffsetMinutes(scan: IsoScan): number {
  if (scan.offsetKind === 0) return NaN;
  return scan.offsetSign * (scan.offsetHours * 60 + scan.offsetMinutes);
}
