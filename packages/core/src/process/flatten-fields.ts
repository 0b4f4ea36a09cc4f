/**
 * The searchable (path, value) pairs of an event, with paths exactly as queries address them:
 * `syslog.host`, `json.req.headers.accept`, `apache.status`, plus the pseudo-fields `tag` and `logtype`.
 */
import type { FieldValue, LogEvent } from "../event";

export type FlatValue = string | number | boolean;

/** Longer paths are not indexed as fields (the text stays searchable). */
export const MAX_FIELD_PATH = 256;
/** Longer string values are not indexed as fields (the text stays searchable). */
export const MAX_FIELD_VALUE = 1024;
/** Nesting deeper than this is not walked (guards the stack against `[[[[...]]]]` bodies). */
const MAX_DEPTH = 64;

/**
 * Every leaf of `event.event` as `[path, value]`: nested objects join keys with dots; an array yields one pair per
 * scalar element under the array's own path (objects inside arrays continue that path); nulls are skipped.
 * Then `["tag", t]` for each tag and `["logtype", l]` for each logtype. Pairs whose path is longer than
 * MAX_FIELD_PATH or whose string value is longer than `limits.maxValue` (default MAX_FIELD_VALUE) are left out;
 * the index passes Infinity, because a long value still makes its field exist.
 */
export function flattenFields(event: LogEvent, limits: { maxValue?: number } = {}): Array<[path: string, value: FlatValue]> {
  const out: Array<[string, FlatValue]> = [];
  const fields = event.event;
  const maxValue = limits.maxValue ?? MAX_FIELD_VALUE;
  // A stored document of another shape (an older version's, a damaged one) gives what it has, never a throw:
  // the index stage would otherwise retry its whole batch for ever.
  if (typeof fields === "object" && fields !== null) {
    for (const ns in fields) {
      if (Object.hasOwn(fields, ns)) walk(fields[ns], ns, out, 0, maxValue);
    }
  }
  if (Array.isArray(event.tags)) for (const t of event.tags) if (typeof t === "string" && t.length <= maxValue) out.push(["tag", t]);
  if (Array.isArray(event.logtypes)) for (const l of event.logtypes) if (typeof l === "string") out.push(["logtype", l]);
  return out;
}

function walk(v: FieldValue | undefined, path: string, out: Array<[string, FlatValue]>, depth: number, maxValue: number): void {
  if (v === null || v === undefined || path.length > MAX_FIELD_PATH) return;
  switch (typeof v) {
    case "string":
      if (v.length <= maxValue) out.push([path, v]);
      return;
    case "number":
      if (Number.isFinite(v)) out.push([path, v]);
      return;
    case "boolean":
      out.push([path, v]);
      return;
    case "object":
      if (depth >= MAX_DEPTH) return;
      if (Array.isArray(v)) {
        for (const el of v) walk(el, path, out, depth + 1, maxValue);
      } else {
        for (const key in v) {
          // A longer path only gets longer below: skip the whole subtree.
          if (Object.hasOwn(v, key) && path.length + 1 + key.length <= MAX_FIELD_PATH) {
            walk(v[key], `${path}.${key}`, out, depth + 1, maxValue);
          }
        }
      }
      return;
    default:
      return;
  }
}
