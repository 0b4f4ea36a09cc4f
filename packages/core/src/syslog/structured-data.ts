/**
 * RFC 5424 STRUCTURED-DATA: `[SD-ID PARAM="value" ...]...`. Shared by parseSyslog (every element) and
 * extractLogglySd (only Loggly's `[token@41058 tag="..."]`, without building what it does not need).
 */
import { BACKSLASH, DASH, DQUOTE, EQUALS, LBRACKET, RBRACKET, SP } from "../chars";
import type { SdElement, SyslogMessage } from "./message";

/** Loggly's private enterprise number as it appears at the end of the customer SD-ID `<token>@41058`. */
export const LOGGLY_SD_SUFFIX = "@41058";

/**
 * End of an SD-ID starting at `s` (just after `[`): index of the terminating SP or `]`, or -1 when the ID is
 * empty, unterminated, or contains `=`/`"` (then this is not structured data).
 */
export function scanSdId(line: string, s: number, end: number): number {
  let q = s;
  while (q < end) {
    const c = line.charCodeAt(q);
    if (c === SP || c === RBRACKET) break;
    if (c === EQUALS || c === DQUOTE || c === LBRACKET) return -1;
    q++;
  }
  return q === s || q >= end ? -1 : q;
}

/**
 * Index of the `"` closing a PARAM-VALUE that starts at `v`, or -1. A quote is escaped when preceded by an odd
 * number of backslashes (`\\` is an escaped backslash). An unescaped `]` inside the quotes is accepted: senders
 * routinely forget to escape it and the quotes make the intent unambiguous.
 */
export function closingQuote(line: string, v: number, end: number): number {
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
export function sdValue(line: string, s: number, e: number): string {
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
      if (n === DQUOTE || n === BACKSLASH || n === RBRACKET) {
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
export function scanSdParams(
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
      if (n === EQUALS || n === SP || n === RBRACKET || n === DQUOTE) break;
      q++;
    }
    if (q === nameStart || line.charCodeAt(q) !== EQUALS || line.charCodeAt(q + 1) !== DQUOTE) return -1;
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
export function sdStartsAt(line: string, p: number, end: number): boolean {
  return line.charCodeAt(p) === LBRACKET && scanSdId(line, p + 1, end) > 0;
}

/**
 * Parses STRUCTURED-DATA at `p` into msg.structuredData and returns where MSG starts.
 * Malformed elements are not guessed at: elements parsed so far are kept, the malformed one and everything after
 * it become MSG (nothing is lost) and `sd_malformed` is flagged.
 */
export function parseStructuredData(line: string, p: number, end: number, msg: SyslogMessage): number {
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
