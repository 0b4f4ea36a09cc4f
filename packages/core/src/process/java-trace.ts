/**
 * `event.java`: a Java (JVM) exception with its stack trace, kept as one multi-line event (HTTP /inputs bodies and
 * octet-counted syslog carry it whole):
 *
 *   2024-01-01 10:00:00 ERROR [main] Boom                     <- optional log line(s) before the trace
 *   java.lang.IllegalStateException: cannot start            <- exception header (optionally `Exception in thread "x" `)
 *   	at com.example.Foo.bar(Foo.java:42)                      <- frames: whitespace + `at `
 *   	... 12 more
 *   Caused by: java.io.IOException: disk full
 *
 * Fields: exception (class name), message? (text after `: `, with any continuation lines before the first frame),
 * frames (number of `at ...` lines in the whole trace, causes included), topFrame (the first frame, without `at `),
 * causedBy? (class names of the `Caused by:` lines, outermost first).
 *
 * The header is the nearest line above the first frame that reads as `qualified.ClassName[: message]`; without
 * such a line the text is not a java event. Only the first JAVA_SCAN_LIMIT characters are examined.
 */
import type { Fields } from "./fields";
import { COLON, CR, DOLLAR, DOT, SP, TAB, UNDERSCORE, isUpper } from "../chars";

const JAVA_SCAN_LIMIT = 256 * 1024;
/** How many lines above the first frame the header may be (multi-line exception messages). */
const HEADER_LOOKBACK = 16;

function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || isUpper(c) || (c >= 0x30 && c <= 0x39) || c === UNDERSCORE || c === DOLLAR;
}

/** Start of the frame text (after `at `) when line [s, e) is `<whitespace>at <frame>`, else -1. */
function frameStart(text: string, s: number, e: number): number {
  let p = s;
  while (p < e && (text.charCodeAt(p) === TAB || text.charCodeAt(p) === SP)) p++;
  if (p === s || p + 4 > e || text.charCodeAt(p) !== 0x61 || text.charCodeAt(p + 1) !== 0x74 || text.charCodeAt(p + 2) !== SP) {
    return -1;
  }
  return isIdentChar(text.charCodeAt(p + 3)) ? p + 3 : -1;
}

let classEnd = 0;

/** True when a qualified class name (`a.b.C`, `a.b.Outer$Inner`) starts at `p`; its end in classEnd. */
function readClassName(text: string, p: number, e: number): boolean {
  let q = p;
  let segStart = p;
  let dots = 0;
  while (q < e) {
    const c = text.charCodeAt(q);
    if (c === DOT) {
      if (q === segStart) return false;
      dots++;
      segStart = q + 1;
    } else if (!isIdentChar(c)) {
      break;
    }
    q++;
  }
  if (dots === 0 || q === segStart || !isUpper(text.charCodeAt(segStart))) return false;
  classEnd = q;
  return true;
}

interface Header {
  exception: string;
  message?: string;
}

/** The exception header on line [s, e), or null. */
function parseHeader(text: string, s: number, e: number): Header | null {
  let p = s;
  if (text.startsWith("Exception in thread \"", p)) {
    const q = text.indexOf("\" ", p + 21);
    if (q < 0 || q >= e) return null;
    p = q + 2;
  }
  if (!readClassName(text, p, e)) return null;
  const exception = text.slice(p, classEnd);
  const q = classEnd;
  if (q === e) return { exception };
  if (text.charCodeAt(q) !== COLON) return null;
  const message = text.slice(text.charCodeAt(q + 1) === SP ? q + 2 : q + 1, e);
  return message === "" ? { exception } : { exception, message };
}

/** Cheap gate before any line splitting: some line after `from` is `<whitespace>at <ident>`. */
function hasFrameLine(text: string, from: number, limit: number): boolean {
  let i = text.indexOf("at ", from);
  while (i >= 0 && i < limit) {
    let p = i - 1;
    while (p > from && (text.charCodeAt(p) === TAB || text.charCodeAt(p) === SP)) p--;
    if (p < i - 1 && text.charCodeAt(p) === 0x0a && isIdentChar(text.charCodeAt(i + 3))) return true;
    i = text.indexOf("at ", i + 3);
  }
  return false;
}

/** Parses a Java stack trace, or returns null when `text` does not contain one. */
export function parseJavaTrace(input: string): Fields | null {
  // Bound every indexOf below by the text it may search.
  const text = input.length > JAVA_SCAN_LIMIT ? input.slice(0, JAVA_SCAN_LIMIT) : input;
  const limit = text.length;
  const firstLf = text.indexOf("\n");
  if (firstLf < 0) return null;
  if (!hasFrameLine(text, firstLf, limit)) return null;

  const starts: number[] = [];
  const ends: number[] = [];
  let firstFrame = -1;
  let frames = 0;
  let topFrame = "";
  let causedBy: string[] | undefined;
  let s = 0;
  while (s < limit) {
    let e = text.indexOf("\n", s);
    if (e < 0 || e > limit) e = limit;
    const next = e + 1;
    if (e > s && text.charCodeAt(e - 1) === CR) e--;
    const f = frameStart(text, s, e);
    if (f >= 0) {
      frames++;
      if (firstFrame < 0) {
        firstFrame = starts.length;
        topFrame = text.slice(f, e).trim();
      }
    } else if (firstFrame >= 0 && text.startsWith("Caused by: ", s) && readClassName(text, s + 11, e)) {
      (causedBy ??= []).push(text.slice(s + 11, classEnd));
    }
    if (firstFrame < 0) {
      starts.push(s);
      ends.push(e);
    }
    s = next;
  }
  if (firstFrame < 1) return null;
  for (let k = firstFrame - 1; k >= 0 && k >= firstFrame - HEADER_LOOKBACK; k--) {
    const header = parseHeader(text, starts[k]!, ends[k]!);
    if (header === null) continue;
    const fields: Fields = { exception: header.exception };
    let message = header.message;
    if (k < firstFrame - 1) {
      const more = text.slice(starts[k + 1], ends[firstFrame - 1]);
      message = message === undefined ? more : `${message}\n${more}`;
    }
    if (message !== undefined) fields.message = message;
    fields.frames = frames;
    fields.topFrame = topFrame;
    if (causedBy !== undefined) fields.causedBy = causedBy;
    return fields;
  }
  return null;
}
