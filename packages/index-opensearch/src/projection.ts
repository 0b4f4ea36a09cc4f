/**
 * The searchable projection of an event: the `f` object added to every indexed document (and excluded
 * from `_source`). The event's own `event` object is stored but not indexed at all.
 *
 * Why not map `event.*` itself (dynamic templates, one OpenSearch field per path)? Because the reference
 * semantics (core's match.ts) cannot be reproduced that way:
 *  - a path's type varies between events: `json.status` is 503 in one event, "200" and "n/a" in others
 *    (the query corpus has all three in one slice). A dynamically mapped `long` rejects "n/a" with a
 *    mapper_parsing_exception; a keyword loses numeric ranges;
 *  - `json.latency:500` must not match the string "0500" while `json.ms:1.50` must match the number 1.5:
 *    term equality depends on the JSON type of each leaf, which no single field keeps;
 *  - `{"a": "x"}` in one event and `{"a": {"b": 1}}` in another are an object/leaf mapping conflict
 *    (the second event is rejected); string values that look like dates get a `date` mapping;
 *  - every new key is a mapping update in the cluster state, and key-rich JSON explodes the mapping.
 *
 * So, like Elasticsearch's `flattened` type, every leaf becomes a `path=value` keyword in a handful of
 * fixed fields (the mapping never changes; no conflict can reject an event):
 *
 *   f.paths  `json.status`                 the leaf paths: exists (`json.user:*` is a path `json.user`
 *                                           or one below `json.user.`) and fields()
 *   f.term   `json.status=n/a`             String(leaf) lower-cased with JS toLowerCase (as match.ts):
 *                                           term equality and anchored field wildcards
 *   f.num    `json.status=n<16 hex>`       numbers (tag n) and numeric strings (tag q) as 16 hex digits
 *                                           that sort like the numbers: numeric terms (tag n only) and ranges
 *   f.str    `json.status=sn/a`            String(leaf) behind a type tag, case kept: n number, q numeric
 *                                           string, s other string, b boolean: lexicographic ranges, and
 *                                           facets (the tag gives each facet term back its JSON type)
 *   f.glob   the raw text lower-cased       unanchored globs over the whole raw text (`*rror`)
 *
 * Paths are the ones core's flattenFields yields (what the embedded index uses too): nested keys joined
 * with dots (so `{"a.b": 1}` and `{"a": {"b": 1}}` both give `json.a.b`, as match.ts resolves them),
 * arrays expanded, nulls skipped, `tag` and `logtype` for the event's tags and log types.
 * A path containing "=" is left out: no query can name it (FIELD_NAME_RE), and its keys would blur into
 * those of a shorter path.
 */
import { flattenFields, isNumericLiteral, type LogEvent } from "@unmeltable/core";

export interface Projection {
  paths: string[];
  term: string[];
  num: string[];
  str: string[];
  glob: string;
}

/** Type tags of f.num / f.str keys; the character after each tag bounds its key range. */
export const TAG = { number: "n", numericString: "q", string: "s", boolean: "b" } as const;
export type Tag = (typeof TAG)[keyof typeof TAG];

export function nextChar(c: string): string {
  return String.fromCharCode(c.charCodeAt(0) + 1);
}

const view = new DataView(new ArrayBuffer(8));

/**
 * A number as 16 lowercase hex digits whose byte order is the numeric order (the IEEE 754 bits with the
 * sign bit flipped for positives and every bit flipped for negatives; -0 is 0). Infinity sorts last,
 * which is where match.ts puts the numeric string "1e999".
 */
export function sortableHex(n: number): string {
  view.setFloat64(0, n === 0 ? 0 : n);
  let hi = view.getUint32(0);
  let lo = view.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

export function project(event: LogEvent): Projection {
  const paths = new Set<string>();
  const term = new Set<string>();
  const num = new Set<string>();
  const str = new Set<string>();
  for (const [path, v] of flattenFields(event, { maxValue: Number.POSITIVE_INFINITY })) {
    if (path.includes("=")) continue;
    paths.add(path);
    const s = String(v);
    term.add(`${path}=${s.toLowerCase()}`);
    if (typeof v === "number") {
      num.add(`${path}=${TAG.number}${sortableHex(v)}`);
      str.add(`${path}=${TAG.number}${s}`);
    } else if (typeof v === "boolean") {
      str.add(`${path}=${TAG.boolean}${s}`);
    } else if (isNumericLiteral(v)) {
      num.add(`${path}=${TAG.numericString}${sortableHex(Number(v))}`);
      str.add(`${path}=${TAG.numericString}${s}`);
    } else {
      str.add(`${path}=${TAG.string}${s}`);
    }
  }
  return { paths: [...paths], term: [...term], num: [...num], str: [...str], glob: event.raw.toLowerCase() };
}
