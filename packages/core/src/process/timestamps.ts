/**
 * Timestamp readers for the texts events carry: ISO-8601 (and the `YYYY-MM-DD HH:MM:SS[.,fff]` variants log
 * libraries print), epoch numbers, and the Apache/nginx `[10/Oct/2000:13:55:36 -0700]` date. All hand-written
 * (index arithmetic, no regular expressions) and NaN-returning, never throwing.
 */
import { isoDateTimeValid, isoOffsetMinutes, isoWallMs, newIsoScan, scanIso } from "../iso8601";
import { dayExists, utcMs, wallToUtc, zoneFor } from "../time-zone";
import { COLON, DASH, DOT, isDigit, LBRACKET, PLUS, SLASH, SP } from "../chars";

/** Value of `count` ASCII digits at `i`, or -1. */
function digits(s: string, i: number, count: number): number {
  let v = 0;
  for (let k = i; k < i + count; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Where the last successful parseIsoAt / parseClfDateAt stopped (scratch; parsing is synchronous). */
export const scanned = { end: 0 };

/**
 * Parses `YYYY-MM-DD(T|t|SP)hh:mm[:ss[(.|,)fff…]][Z|±hh[:mm]|±hhmm]` starting at `i` (the date may also use `/`,
 * as nginx's error log does). Fractions are truncated to ms. Without an offset the wall time is read in
 * `timeZone`; an offset out of range (`+25:00`) is not one, and stays text after the stamp. The stamp must not be
 * followed directly by another digit. Returns epoch ms (end in `scanned.end`) or NaN.
 */
export function parseIsoAt(s: string, i: number, timeZone: string | undefined): number {
  const iso = newIsoScan();
  if (scanIso(s, i, s.length, iso) < 0 || !isoDateTimeValid(iso)) return NaN;
  let p = iso.end;
  let offsetMin = isoOffsetMinutes(iso);
  if (iso.offsetKind >= 2 && (iso.offsetHours > 23 || iso.offsetMinutes > 59)) {
    offsetMin = NaN;
    p = iso.offsetStart;
  }
  if (isDigit(s.charCodeAt(p))) return NaN;
  scanned.end = p;
  const wall = isoWallMs(iso);
  return Number.isNaN(offsetMin) ? wallToUtc(wall, zoneFor(timeZone)) : wall - offsetMin * 60_000;
}

/** An ISO-8601 string that is nothing but a timestamp (surrounding whitespace allowed), or NaN. */
export function parseIsoString(s: string, timeZone: string | undefined): number {
  let i = 0;
  let e = s.length;
  while (i < e && s.charCodeAt(i) === SP) i++;
  while (e > i && s.charCodeAt(e - 1) === SP) e--;
  const ms = parseIsoAt(s, i, timeZone);
  return !Number.isNaN(ms) && scanned.end === e ? ms : NaN;
}

/**
 * Epoch number → ms, telling the unit apart by magnitude. Only instants from 2001-09-09 to year 5138 are believed:
 *   seconds      1e9  ≤ v < 1e11
 *   milliseconds 1e12 ≤ v < 1e14
 *   microseconds 1e15 ≤ v < 1e17
 *   nanoseconds  1e18 ≤ v < 1e20
 * Anything else (durations, counters, the gaps between the ranges) is not a timestamp: NaN.
 */
export function epochToMs(v: number): number {
  if (!Number.isFinite(v) || v < 1e9) return NaN;
  if (v < 1e11) return Math.round(v * 1000);
  if (v < 1e12) return NaN;
  if (v < 1e14) return Math.round(v);
  if (v < 1e15) return NaN;
  if (v < 1e17) return Math.round(v / 1e3);
  if (v < 1e18) return NaN;
  if (v < 1e20) return Math.round(v / 1e6);
  return NaN;
}

/** A timestamp field's value (ISO string, epoch number, or epoch number written as a string) → ms, or NaN. */
export function timestampValue(v: unknown, timeZone: string | undefined): number {
  if (typeof v === "number") return epochToMs(v);
  if (typeof v !== "string" || v.length < 10 || v.length > 64) return NaN;
  const c = v.charCodeAt(0);
  if (!isDigit(c)) return parseIsoString(v, timeZone);
  if (v.charCodeAt(4) === DASH || v.charCodeAt(4) === SLASH) return parseIsoString(v, timeZone);
  // "1700000000" / "1700000000.123": digits with at most one dot.
  let dots = 0;
  for (let k = 0; k < v.length; k++) {
    const d = v.charCodeAt(k);
    if (d === DOT) dots++;
    else if (!isDigit(d)) return NaN;
  }
  return dots <= 1 ? epochToMs(Number(v)) : NaN;
}

/**
 * A timestamp at the very start of a message: ISO-8601 or `YYYY-MM-DD HH:MM:SS[.,mmm]`, optionally inside `[`.
 * Cheap first-character check before any parsing.
 */
export function leadingTimestamp(text: string, timeZone: string | undefined): number {
  const i = text.charCodeAt(0) === LBRACKET ? 1 : 0;
  if (!isDigit(text.charCodeAt(i))) return NaN;
  return parseIsoAt(text, i, timeZone);
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/** Parses the common log format date `dd/Mon/yyyy:HH:MM:SS ±hhmm` (26 chars) at `i`; NaN if it is not one. */
export function parseClfDateAt(s: string, i: number): number {
  if (i + 26 > s.length) return NaN;
  if (s.charCodeAt(i + 2) !== SLASH || s.charCodeAt(i + 6) !== SLASH || s.charCodeAt(i + 11) !== COLON) return NaN;
  if (s.charCodeAt(i + 14) !== COLON || s.charCodeAt(i + 17) !== COLON || s.charCodeAt(i + 20) !== SP) return NaN;
  const mon = MONTHS.indexOf(s.slice(i + 3, i + 6));
  const d = digits(s, i, 2);
  const y = digits(s, i + 7, 4);
  const h = digits(s, i + 12, 2);
  const mi = digits(s, i + 15, 2);
  const sec = digits(s, i + 18, 2);
  const sign = s.charCodeAt(i + 21);
  const oh = digits(s, i + 22, 2);
  const om = digits(s, i + 24, 2);
  if (mon < 0 || mon % 3 !== 0 || y < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return NaN;
  if ((sign !== PLUS && sign !== DASH) || oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
  const month = mon / 3;
  if (!dayExists(y, month, d)) return NaN;
  scanned.end = i + 26;
  return utcMs(y, month, d, h, mi, sec, 0) - (sign === PLUS ? 1 : -1) * (oh * 60 + om) * 60_000;
}
