import { FIELD_MARK } from "./schema";

/**
 * Exact-match terms of an event, as FTS5 tokens. A field's value is indexed as one opaque token derived
 * from (path, value), in the slice's FTS table beside the text (schema.ts FtsLayout), so
 * `json.level:error AND timeout` is one FTS query: both conditions intersect in the same posting lists, and no per-field table is needed.
 *
 * Each token begins with FIELD_MARK (schema.ts), which keeps it apart from the words of the text.
 *
 *   x<hash(path)>                 the field exists (every ancestor path too: `json.req` exists when
 *                                 `json.req.id` does)
 *   v<hash(path = value)>         the field has this value: strings lower-cased (term queries are
 *                                 case-insensitive); numbers as "n:<canonical number>" so that 500,
 *                                 "500" and 500.0 meet where the query semantics say they do
 *
 * The hash is 53 bits (cyrb53): a false match needs a collision between two of the (path, value) pairs
 * a tenant's slice holds — about one in 10^9 for a million distinct pairs.
 *
 * Only keyword-like values get a value token: numbers, booleans and strings of at most MAX_TERM_KEY
 * characters. Field tokens are most of the FTS work per event (measured: 24k events/s without them,
 * 15k with every value), and long texts (messages, stack traces) are searched as text anyway. A term
 * query for a longer value is answered by the exists token plus a check of each candidate.
 */
export const MAX_TERM_KEY = 64;

export function cyrb53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Timestamps get no value token either: every event has a different one, which would add a term to the
 * FTS dictionary per event for queries nobody writes as exact terms (time is the search's range, and
 * `*.timestamp` ranges are checked against the candidates).
 */
export function hasValueTokens(path: string): boolean {
  return !(path === "timestamp" || path.endsWith(".timestamp"));
}

/**
 * Tokens repeat from event to event (the same paths; hosts, apps, levels, statuses): they are memoised
 * per path, so the per-event cost is a few map lookups instead of hashing every pair again.
 */
interface PathTokens {
  exists: string;
  /** Ancestor paths, nearest first: `json.req.id` → [`json.req`, `json`]. */
  ancestors: string[];
  values: Map<string, string>;
}
const byPath = new Map<string, PathTokens>();
let cachedValues = 0;

function pathTokens(path: string): PathTokens {
  let p = byPath.get(path);
  if (!p) {
    if (byPath.size >= 10_000) {
      byPath.clear();
      cachedValues = 0;
    }
    const ancestors: string[] = [];
    for (let i = path.lastIndexOf("."); i > 0; i = path.lastIndexOf(".", i - 1)) ancestors.push(path.slice(0, i));
    p = { exists: existsToken(path), ancestors, values: new Map() };
    byPath.set(path, p);
  }
  return p;
}

function cachedValueToken(p: PathTokens, path: string, key: string): string {
  let t = p.values.get(key);
  if (t === undefined) {
    if (cachedValues >= 100_000) {
      for (const x of byPath.values()) x.values.clear();
      cachedValues = 0;
    }
    t = valueToken(path, key);
    p.values.set(key, t);
    cachedValues++;
  }
  return t;
}

export function existsToken(path: string): string {
  return `${FIELD_MARK}x${cyrb53(path).toString(36)}`;
}

export function valueToken(path: string, normalized: string): string {
  return `${FIELD_MARK}v${cyrb53(`${path}\u0000${normalized}`).toString(36)}`;
}

/** The normalised form a stored value is indexed under. */
export function storedValueKey(value: string | number | boolean): string {
  return typeof value === "number" ? `n:${canonicalNumber(value)}` : String(value).toLowerCase();
}

/** The keys a query value may match: its lower-cased text, and its number when it is numeric. */
export function queryValueKeys(value: string): string[] {
  const keys = [value.toLowerCase()];
  const n = numeric(value);
  if (n !== undefined) keys.push(`n:${canonicalNumber(n)}`);
  return keys;
}

export function numeric(value: string): number | undefined {
  const t = value.trim();
  if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function canonicalNumber(n: number): string {
  return Object.is(n, -0) ? "0" : String(n);
}

/** All FTS tokens for an event's flattened fields, space-separated. */
export function fieldTokens(fields: Iterable<[string, string | number | boolean]>): string {
  let out = "";
  const seen = new Set<string>();
  for (const [path, value] of fields) {
    const p = pathTokens(path);
    if (!seen.has(path)) {
      seen.add(path);
      out += out === "" ? p.exists : ` ${p.exists}`;
      // Ancestors exist too; once one is known, so are the ones above it.
      for (const a of p.ancestors) {
        if (seen.has(a)) break;
        seen.add(a);
        out += ` ${pathTokens(a).exists}`;
      }
    }
    if (!hasValueTokens(path)) continue;
    const key = storedValueKey(value);
    if (key.length <= MAX_TERM_KEY) out += ` ${cachedValueToken(p, path, key)}`;
  }
  return out;
}
