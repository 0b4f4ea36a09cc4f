/**
 * `event.json`: a message that is JSON. Nested objects stay nested, as Loggly returns them (queries address
 * them with dots: `json.req.headers.accept`).
 *
 * - An object is the fields.
 * - A top-level array (a batch some loggers send as one event) is one event whose fields are its objects'
 *   fields together: a key in several elements collects their values (`[{"a":1},{"a":2}]` → `json.a` =
 *   [1, 2], found by `json.a:1` and `json.a:2`), the way an array of objects inside an object is searched.
 *   Its scalar elements are no fields (they stay searchable as text).
 * - An object after a text prefix (`INFO 2024-05-01 12:00:00 {"a":1}`, a header some sender put in front)
 *   is the fields too: `findEmbeddedJson`.
 * Large texts are read with bounded work (json-reader.ts).
 */
import { FieldLimitReport } from "./field-limits";
import { setField, type Fields } from "./fields";
import { readJson } from "./json-reader";
import { timestampValue } from "./timestamps";
import type { FieldValue } from "../event";
import { COLON, CR, DASH, DQUOTE, LBRACE, LBRACKET, LF, RBRACE, RBRACKET, SP, TAB } from "../chars";

/** How far into a line an embedded JSON object may start, and how many starts are tried. */
const PREFIX_LIMIT = 1024;
const PREFIX_TRIES = 3;

function firstTokenAfter(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === SP || c === LF || c === CR || c === TAB) c = text.charCodeAt(++i);
  return c;
}

function isPlainObject(v: unknown): v is Fields {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The fields when `text` (already trimmed) is a JSON object or array; null for anything else, including JSON
 * scalars and text that only looks like JSON. Parsing runs only when the first and last characters and the
 * first token fit: brace text that is not JSON (`{level=info}`, Go's `{Name:foo}`, `[INFO] started`) never
 * reaches it, whose SyntaxError costs several µs.
 */
export function parseJsonBody(text: string, report: FieldLimitReport): Fields | null {
  const c0 = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (c0 === LBRACE) {
    if (last !== RBRACE) return null;
    const t = firstTokenAfter(text, 1);
    if (t !== DQUOTE && t !== RBRACE) return null;
    const value = readJson(text, report);
    return isPlainObject(value) ? value : null;
  }
  if (c0 === LBRACKET) {
    if (last !== RBRACKET) return null;
    const t = firstTokenAfter(text, 1);
    const plausible = t === LBRACE || t === LBRACKET || t === DQUOTE || t === RBRACKET || t === DASH || (t >= 0x30 && t <= 0x39) || t === 0x74 || t === 0x66 || t === 0x6e;
    if (!plausible) return null;
    const value = readJson(text, report);
    return Array.isArray(value) ? mergeElements(value as FieldValue[]) : null;
  }
  return null;
}

/** The objects of a top-level array as one set of fields (see the module comment). */
function mergeElements(elements: FieldValue[]): Fields {
  const out: Fields = {};
  const collected = new Set<FieldValue[]>();
  for (const el of elements) {
    if (!isPlainObject(el)) continue;
    for (const key in el) {
      if (!Object.hasOwn(el, key)) continue;
      const v = el[key]!;
      if (!Object.hasOwn(out, key)) {
        setField(out, key, v);
        continue;
      }
      let list = out[key] as FieldValue[];
      if (!collected.has(list)) {
        list = Array.isArray(list) ? [...list] : [list];
        collected.add(list);
        setField(out, key, list);
      }
      if (Array.isArray(v)) for (const x of v) list.push(x);
      else list.push(v);
    }
  }
  return out;
}

/**
 * A JSON object that ends the text after a prefix (`INFO 2024-05-01 {"user":"bob"}`, `payload: {...}`), or
 * null. The object must start after whitespace or `:` within the first PREFIX_LIMIT characters; `k={...}`
 * is left to the key=value parser. At most PREFIX_TRIES starts are tried.
 */
export function findEmbeddedJson(text: string, report: FieldLimitReport): Fields | null {
  if (text.charCodeAt(text.length - 1) !== RBRACE) return null;
  let tries = 0;
  for (let i = text.indexOf("{", 1); i > 0 && i < PREFIX_LIMIT && tries < PREFIX_TRIES; i = text.indexOf("{", i + 1)) {
    const before = text.charCodeAt(i - 1);
    if (before !== SP && before !== TAB && before !== COLON) continue;
    const t = firstTokenAfter(text, i + 1);
    if (t !== DQUOTE && t !== RBRACE) continue;
    tries++;
    const attempt = new FieldLimitReport();
    const value = readJson(text.slice(i), attempt);
    if (isPlainObject(value)) {
      report.merge(attempt);
      return value;
    }
  }
  return null;
}

/** Top-level fields that carry the event time, in order of preference. */
export const TIMESTAMP_KEYS: readonly string[] = ["timestamp", "@timestamp", "time", "ts", "datetime"];

/**
 * The event time named by the first of TIMESTAMP_KEYS that holds a usable timestamp (ISO-8601 string, or epoch
 * seconds/ms as a number or numeric string), or NaN.
 */
export function fieldsTimestamp(fields: Fields, timeZone: string | undefined): number {
  for (const key of TIMESTAMP_KEYS) {
    if (!Object.hasOwn(fields, key)) continue;
    const ms = timestampValue(fields[key], timeZone);
    if (!Number.isNaN(ms)) return ms;
  }
  return NaN;
}
