/**
 * RFC 3164 (BSD) headers and the Cisco IOS/ASA variants: `[seq: ] [*|.]Mmm dd [yyyy] hh:mm:ss[.fff] [TZ] HOST TAG:`,
 * with the many ways real devices leave parts out. One walk, parseBsdFamily, for both.
 */
import { COLON, DASH, DOT, isAlnum, isDigit, isUpper, LBRACKET, PERCENT, RBRACKET, SP, STAR, UNDERSCORE } from "../chars";
import { dayExists, utcMs, UTC_ZONE, wallToUtc } from "../time-zone";
import type { ParseOptions, SyslogMessage } from "./message";
import { readDigits, setMessage, wordEnd } from "./text";
import { applyRfc3339, assumedZone, parseRfc3339 } from "./timestamp";

/** A fraction `.ddd…`: truncated to ms, and the index after its digits. */
interface Fraction {
  ms: number;
  end: number;
}

/** Reads `.ddd…` at `r`; null when there is none. */
function readFraction(line: string, r: number, end: number): Fraction | null {
  if (line.charCodeAt(r) !== DOT || !isDigit(line.charCodeAt(r + 1))) return null;
  r++;
  let digits = 0;
  let ms = 0;
  while (r < end && isDigit(line.charCodeAt(r))) {
    if (digits < 3) ms = ms * 10 + (line.charCodeAt(r) - 0x30);
    digits++;
    r++;
  }
  for (let k = digits; k < 3; k++) ms *= 10;
  return { ms, end: r };
}

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

/** A BSD timestamp read by parseBsdTime (month 0-based, year -1 when the stamp has none). */
interface BsdTime {
  month: number;
  day: number;
  year: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  fraction: boolean;
  end: number;
}

/**
 * Parses `Mmm dd hh:mm:ss` at `q`, with the variants real devices send: space-padded (`Oct  9`) or unpadded
 * (`Oct 9`) day, a year before the time (Cisco ASA `Sep 14 2016 09:33:47`) and sub-seconds (`14:01:19.115`).
 * The stamp must be followed by SP, `:` (Cisco) or the end of the line. Returns it, or null.
 */
function parseBsdTime(line: string, q: number, end: number): BsdTime | null {
  const month = monthAt(line, q, end);
  if (month < 0 || line.charCodeAt(q + 3) !== SP) return null;
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
    return null;
  }
  if (line.charCodeAt(r) !== SP) return null;
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
    return null;
  }
  r += 8;
  const fraction = readFraction(line, r, end);
  if (fraction !== null) r = fraction.end;
  const next = line.charCodeAt(r);
  if (r < end && next !== SP && next !== COLON) return null;
  return { month, day, year, hour, minute, second, ms: fraction === null ? 0 : fraction.ms, fraction: fraction !== null, end: r };
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
function applyBsdTimestamp(bsd: BsdTime, msg: SyslogMessage, opts: ParseOptions, utcKnown: boolean): void {
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
export function parseBsdFamily(line: string, p: number, end: number, msg: SyslogMessage, opts: ParseOptions): boolean {
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
  const markedTime = marker === STAR || marker === DOT ? parseBsdTime(line, q + 1, end) : null;
  const unsynced = markedTime !== null;
  const tsStart = unsynced ? q + 1 : q;
  const bsd = markedTime ?? parseBsdTime(line, q, end);
  let kind = bsd !== null ? 1 : 0;
  let isoEnd = -1;
  if (kind === 0 && isDigit(line.charCodeAt(q))) {
    // rsyslog's high-precision forward format: `<PRI>2024-04-01T12:00:00.250+02:00 host tag: msg`.
    isoEnd = wordEnd(line, q, end);
    if (parseRfc3339(line, q, isoEnd) !== null) kind = 2;
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
  if (bsd === null) {
    applyRfc3339(line, q, isoEnd, msg, opts); // kind 2
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
    applyBsdTimestamp(bsd, msg, opts, utcKnown);
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
