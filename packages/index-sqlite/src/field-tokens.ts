import { FIELD_MARK } from "./schema";

/**
 * Exact-match terms of an event, as FTS5 tokens. A field's value is indexed as one opaque token derived
 * from (path, value), in the slice's FTS table beside the text (schema.ts FtsLayout), so
 * `json.level:error AND timeout` is one FTS query: both conditions intersect in the same posting lists, and no per-field table is needed.
 *
 * Each token begins with FIELD_MARK (schema.ts), which keeps it apart from the words of the text. There are
 * two schemes (TokenScheme), one per kind of slice:
 *
 * "keyed" (slices of FtsLayout "keyed", the new ones):
 *   v<key(path)><hash(value)>     the field has this value; key(path) is PATH_KEY_LENGTH characters, so the
 *                                 values of one path share a prefix and `path:*` is an FTS5 prefix query
 *   x<hash(path)>                 the field exists, only where no value token says so: for objects (the
 *                                 ancestors of a leaf: `json.req` exists when `json.req.id` does) and for
 *                                 leaves without a value token (long texts, timestamps)
 * "exists" (slices made before):
 *   x<hash(path)>                 for every path and all its ancestors
 *   v<hash(path = value)>         the field has this value
 *
 * Values are strings lower-cased (term queries are case-insensitive), numbers "n:<canonical number>", so
 * that 500, "500" and 500.0 meet where the query semantics say they do.
 *
 * Why "keyed": the exists token of a leaf that has a value token repeats what the value token says, and
 * every event carries ~13 of them (dense posting lists, a position each). Measured: bench/RESULTS.md,
 * issue 16 §2, "value tokens keyed by their path".
 *
 * The hashes are 53 bits (cyrb53), the path key 41: a false match needs a collision between two of the
 * (path, value) pairs a tenant's slice holds — about one in 10^9 for a million distinct pairs — or two of
 * its paths sharing a key (one in 10^4 for 10,000 paths, and then only `path:*` finds both).
 *
 * Only keyword-like values get a value token: numbers, booleans and strings of at most MAX_TERM_KEY
 * characters. Field tokens are most of the FTS work per event (measured: 24k events/s without them,
 * 15k with every value), and long texts (messages, stack traces) are searched as text anyway. A term
 * query for a longer value is answered by the exists token plus a check of each candidate.
 */
export type TokenScheme = "keyed" | "exists";

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
 * per path and per value as the event has it, so the per-event cost is a few map lookups instead of
 * normalising and hashing every pair again (measured on 100,000 events of the seeded corpus: 0.95 µs per
 * event, against 2.5 with a cache keyed by the normalised value and a set of seen paths per event).
 */
interface PathTokens {
  exists: string;
  /** Ancestor paths, nearest first: `json.req.id` → [`json.req`, `json`]. */
  ancestors: PathTokens[];
  /** Whether the path's values get value tokens (hasValueTokens). */
  valued: boolean;
  /** Value tokens by value as flattened (500 and "500" apart), of each scheme. */
  keyed: Map<string | number | boolean, string>;
  hashed: Map<string | number | boolean, string>;
  /** The call of fieldTokens that gave the path an exists token, and that walked its ancestors. */
  existsIn: number;
  walkedIn: number;
}
const byPath = new Map<string, PathTokens>();
let cachedValues = 0;
/** Numbers each call of fieldTokens: a path's marks from another call mean "not in this event". */
let call = 0;

function pathTokens(path: string): PathTokens {
  let p = byPath.get(path);
  if (!p) {
    const ancestors: PathTokens[] = [];
    const cut = path.lastIndexOf(".");
    if (cut > 0) {
      const parent = pathTokens(path.slice(0, cut));
      ancestors.push(parent, ...parent.ancestors);
    }
    p = { exists: existsToken(path), ancestors, valued: hasValueTokens(path), keyed: new Map(), hashed: new Map(), existsIn: 0, walkedIn: 0 };
    byPath.set(path, p);
  }
  return p;
}

function valueTokenOf(p: PathTokens, path: string, value: string | number | boolean, scheme: TokenScheme): string | null {
  const cache = scheme === "keyed" ? p.keyed : p.hashed;
  let t = cache.get(value);
  if (t === undefined) {
    const key = storedValueKey(value);
    // Not kept: long values are many, and big.
    if (key.length > MAX_TERM_KEY) return null;
    t = scheme === "keyed" ? keyedValueToken(path, key) : valueToken(path, key);
    cache.set(value, t);
    cachedValues++;
  }
  return t;
}

export function existsToken(path: string): string {
  return `${FIELD_MARK}x${cyrb53(path).toString(36)}`;
}

/** A value token of the "exists" scheme. */
export function valueToken(path: string, normalized: string): string {
  return `${FIELD_MARK}v${cyrb53(`${path}\u0000${normalized}`).toString(36)}`;
}

/** Characters of a path's key in the "keyed" scheme: base 36, 41 bits. */
export const PATH_KEY_LENGTH = 8;

/** What every value token of `path` begins with, in the "keyed" scheme. */
export function keyedValuePrefix(path: string): string {
  return `${FIELD_MARK}v${(cyrb53(path) % 36 ** PATH_KEY_LENGTH).toString(36).padStart(PATH_KEY_LENGTH, "0")}`;
}

/** A value token of the "keyed" scheme. */
export function keyedValueToken(path: string, normalized: string): string {
  return `${keyedValuePrefix(path)}${cyrb53(normalized).toString(36)}`;
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

/** All FTS tokens for an event's flattened fields in a scheme (see TokenScheme), space-separated. */
export function fieldTokens(fields: Iterable<[string, string | number | boolean]>, scheme: TokenScheme = "keyed"): string {
  // The caches are bounded between events only: a path's marks must last the whole event (a 70,000-key
  // body may grow them past the bound for one call).
  if (byPath.size >= 10_000) {
    byPath.clear();
    cachedValues = 0;
  }
  if (cachedValues >= 100_000) {
    for (const x of byPath.values()) {
      x.keyed.clear();
      x.hashed.clear();
    }
    cachedValues = 0;
  }
  const now = ++call;
  let out = "";
  for (const [path, value] of fields) {
    const p = pathTokens(path);
    const token = p.valued ? valueTokenOf(p, path, value, scheme) : null;
    if ((scheme === "exists" || token === null) && p.existsIn !== now) {
      p.existsIn = now;
      out += out === "" ? p.exists : ` ${p.exists}`;
    }
    if (p.walkedIn !== now) {
      p.walkedIn = now;
      // Ancestors exist too. A path with an exists token of this event has its ancestors' already.
      for (const a of p.ancestors) {
        if (a.existsIn === now) break;
        a.existsIn = now;
        out += out === "" ? a.exists : ` ${a.exists}`;
      }
    }
    if (token !== null) out += out === "" ? token : ` ${token}`;
  }
  return out;
}
