/**
 * `event.kv`: key=value pairs (logfmt, FortiGate/FortiOS, `user=alice action=login`, ...).
 *
 * Grammar (hand-written scanner, one pass, no regular expressions):
 * - a pair starts at the beginning of the text or after whitespace: KEY `=` VALUE, KEY = `[A-Za-z_][A-Za-z0-9_.-]*`;
 * - VALUE is `"…"` or `'…'` (backslash escapes the quote and itself; other backslashes stay literal), or runs to
 *   the next whitespace (one trailing `,` or `;` is dropped: `host=a, port=1`); an empty value is "";
 * - anything else is a word of prose.
 * Unquoted values that are plain decimal numbers (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, within float precision)
 * become numbers; quoted values stay strings (the sender quoted them). A repeated key collects an array.
 *
 * Threshold (so prose with one stray `=` is not turned into fields): at least 2 pairs, or exactly 1 pair when
 * the text is nothing but that pair. "retrying in a=b style" → not kv; "user=alice" → kv; "login user=alice
 * ip=1.2.3.4" → kv. A form-urlencoded body (`a=1&b=2`, one token) is text, not kv.
 *
 * Only the first KV_SCAN_LIMIT characters are scanned and at most KV_MAX_PAIRS pairs kept: the work per event
 * is bounded, and pairs beyond that are still searchable as text.
 */
import { addField, type Fields } from "./fields";
import { fieldsTimestamp } from "./json-body";
import { parseIsoString } from "./timestamps";
import { BACKSLASH, COMMA, CR, DASH, DOT, DQUOTE, EQUALS, LF, SEMI, SP, SQUOTE, TAB, UNDERSCORE, isDigit } from "../chars";

export const KV_SCAN_LIMIT = 4096;
/** At most this many pairs become fields (FortiGate lines carry ~40); the rest stay searchable as text. */
export const KV_MAX_PAIRS = 256;

function isSpace(c: number): boolean {
  return c === SP || c === TAB || c === LF || c === CR;
}

function isKeyStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === UNDERSCORE;
}

function isKeyChar(c: number): boolean {
  return isKeyStart(c) || (c >= 0x30 && c <= 0x39) || c === DOT || c === DASH;
}

/** The number for a plain decimal literal, or NaN (leading zeros, exponents, hex, >15 significant digits...). */
function plainNumber(s: string): number {
  const n = s.length;
  if (n === 0 || n > 16) return NaN;
  let i = s.charCodeAt(0) === DASH ? 1 : 0;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  const intLen = i - intStart;
  if (intLen === 0 || (intLen > 1 && s.charCodeAt(intStart) === 0x30)) return NaN;
  if (i < n) {
    if (s.charCodeAt(i) !== DOT || i + 1 === n) return NaN;
    i++;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i < n) return NaN;
  }
  return Number(s);
}

/** A quoted value: the unescaped text and the index after the closing quote. */
interface Quoted {
  value: string;
  end: number;
}

/** Reads a quoted value whose opening quote is at `q`; null when it is not closed before `end`. */
function readQuoted(s: string, q: number, end: number): Quoted | null {
  const quote = s.charCodeAt(q);
  let out = "";
  let from = q + 1;
  for (let i = q + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === quote) {
      return { value: out + s.slice(from, i), end: i + 1 };
    }
    if (c === BACKSLASH && i + 1 < end) {
      const n = s.charCodeAt(i + 1);
      if (n === quote || n === BACKSLASH) {
        out += s.slice(from, i);
        from = i + 1; // keep the escaped char, drop the backslash
        i++;
      }
    }
  }
  return null;
}

/** The pairs of `text` as fields, or null when it does not meet the threshold above. */
export function parseKeyValue(text: string): Fields | null {
  const end = Math.min(text.length, KV_SCAN_LIMIT);
  if (text.lastIndexOf("=", end - 1) < 1) return null;
  const out: Fields = {};
  let pairs = 0;
  let words = 0;
  let i = 0;
  while (i < end && pairs < KV_MAX_PAIRS) {
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    if (i >= end) break;
    const keyStart = i;
    if (isKeyStart(text.charCodeAt(i))) {
      i++;
      while (i < end && isKeyChar(text.charCodeAt(i))) i++;
    }
    if (i > keyStart && text.charCodeAt(i) === EQUALS && text.charCodeAt(i + 1) !== EQUALS) {
      const key = text.slice(keyStart, i);
      const v = i + 1;
      const c = text.charCodeAt(v);
      const quoted = c === DQUOTE || c === SQUOTE ? readQuoted(text, v, end) : null;
      if (quoted !== null) {
        addField(out, key, quoted.value);
        pairs++;
        i = quoted.end;
        continue;
      }
      let e = v;
      while (e < end && !isSpace(text.charCodeAt(e))) e++;
      let ve = e;
      const last = text.charCodeAt(ve - 1);
      if (ve > v && (last === COMMA || last === SEMI)) ve--;
      const value = text.slice(v, ve);
      const num = c === DASH || isDigit(c) ? plainNumber(value) : NaN;
      addField(out, key, Number.isNaN(num) ? value : num);
      pairs++;
      i = e;
      continue;
    }
    words++;
    while (i < end && !isSpace(text.charCodeAt(i))) i++;
  }
  if (pairs === 1 && words === 0) {
    // A lone token `a=1&b=2` is a form-urlencoded body: text, not one pair with value "1&b=2".
    for (const key in out) if (typeof out[key] === "string" && (out[key]).includes("&")) return null;
    return out;
  }
  return pairs >= 2 ? out : null;
}

const TZ_OFFSET_LENGTH = 5; // FortiOS `tz="-0700"`

/**
 * The event time of a kv event: the fields named like JSON timestamps (`timestamp`, `time`, `ts`, ... holding
 * ISO-8601 or epoch values), else FortiGate's `date=2023-10-11 time=15:44:14` (with its `tz="-0700"` when present,
 * otherwise read in `timeZone`). NaN when there is none.
 */
export function kvTimestamp(kv: Fields, timeZone: string | undefined): number {
  const ms = fieldsTimestamp(kv, timeZone);
  if (!Number.isNaN(ms)) return ms;
  const date = kv.date;
  const time = kv.time;
  if (typeof date !== "string" || date.length !== 10) return NaN;
  if (typeof time !== "string" || time.length < 5 || time.length > 15) return NaN;
  const tz = kv.tz;
  const offset =
    typeof tz === "string" && tz.length === TZ_OFFSET_LENGTH && (tz[0] === "+" || tz[0] === "-") ? tz : "";
  return parseIsoString(`${date}T${time}${offset}`, timeZone);
}
