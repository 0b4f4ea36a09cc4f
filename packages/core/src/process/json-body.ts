/**
 * `event.json`: a message that is a JSON object. Nested objects stay nested, as Loggly returns them
 * (queries address them with dots: `json.req.headers.accept`).
 */
import type { Fields } from "./fields";
import { timestampValue } from "./timestamps";

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const QUOTE = 0x22;

/**
 * The parsed object when `text` (already trimmed) is a JSON object; null for anything else, including JSON
 * arrays and scalars (not `json` events in Loggly) and text that only looks like JSON. JSON.parse runs only when
 * the text starts with `{` and ends with `}`.
 */
export function parseJsonObject(text: string): Fields | null {
  if (text.charCodeAt(0) !== LBRACE || text.charCodeAt(text.length - 1) !== RBRACE) return null;
  // A JSON object's first token is `"` or `}`. Checking it first keeps brace text that is not JSON (`{level=info}`,
  // Go's `{Name:foo}`) away from JSON.parse, whose SyntaxError costs several µs.
  let i = 1;
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  if (c !== QUOTE && c !== RBRACE) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Fields) : null;
  } catch {
    return null;
  }
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
