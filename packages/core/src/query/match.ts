/**
 * The reference semantics of a search query: `matchesEvent(q, e)` says whether event `e` is in the result of `q`.
 * Every search engine (the in-memory scan, the SQLite FTS5 index, the OpenSearch compiler) must return exactly
 * the events this function accepts; test/fixtures/query-corpus.json pins them down.
 *
 * TOKENS. `tokenize(s)`: normalise `s` to NFD, delete every combining mark (`\p{M}`), lower-case
 *   (`String.prototype.toLowerCase`, locale-independent), then take the maximal runs of Unicode letters and
 *   digits (`/[\p{L}\p{N}]+/gu`), in order. So `Café` → [cafe], `web-01` → [web, 01], `10.0.0.5:8080` →
 *   [10, 0, 0, 5, 8080], `users_email_key` → [users, email, key] (`_` is punctuation), `日本語 の` → [日本語, の]
 *   (a run of CJK characters is one token), `Grüße` → [gruße] (ß is not a diacritic and is not folded).
 *   This is SQLite FTS5's `unicode61 remove_diacritics 2` tokenizer.
 *
 * all             true.
 * and / or / not  conjunction / disjunction / negation; `not` is plain complement over all events (so
 *                 `-json.level:info` also returns the events that have no `json.level`).
 * text            the token sequence of `value` occurs as consecutive tokens in the tokens of `e.raw`. Words and
 *                 phrases match the same way (`web-01` ≡ "web 01"; `phrase` only records the quotes). A single
 *                 word is a whole-token match, never a substring (`error` does not match `errors`, `日本` does
 *                 not match `日本語`). Decision: a text without any token (`-`, `"--"`) matches every event
 *                 (a no-op, the same as FTS dropping punctuation); the parser already turns it into `all`.
 * textWildcard    (a) `X*` where X, after unescaping, is non-empty and tokenizes to itself-as-one-token (X has
 *                 only letters, digits and combining marks, no other wildcard): token-prefix match, true when
 *                 some token of `e.raw` starts with tokenize(X)[0] (`err*` matches `error`, `ERR*` too,
 *                 `caf*` matches `Café`).
 *                 (b) any other pattern (`*rror`, `e?ror`, `back*sh`, `web-0*`): a glob over the whole `e.raw`,
 *                 case-insensitive (both sides `toLowerCase()`, diacritics NOT removed), unanchored (it may
 *                 match anywhere in raw, so a leading/trailing `*` changes nothing); `*` = any run of
 *                 characters including newlines, `?` = exactly one code point, `\*` `\?` `\\` literal.
 * field values    `resolve(e, field)`:
 *                 `tag` → e.tags, `logtype` → e.logtypes, `id` → e.id, `timestamp` → e.timestamp (epoch ms);
 *                 every other name is a dotted path into `e.event` (`json.a.b` = e.event.json.a.b). Field names
 *                 are case-sensitive. At each object level any run of the remaining segments joined by dots may
 *                 be a key, so `json.a.b` also reaches e.event.json["a.b"] and e.event["json.a"].b (all matches
 *                 are collected). Only own properties count. An array met on the way (or at the end) stands for
 *                 each of its elements, recursively: `json.items.sku` reaches the `sku` of every object in
 *                 `json.items`. The result is a list of leaf values (strings, numbers, booleans, null, objects);
 *                 a field node matches when ANY leaf matches (so `NOT field:x` means no leaf is x).
 * term            a leaf matches when it is a string, number or boolean and `String(leaf).toLowerCase() ===
 *                 value.toLowerCase()` (case-insensitive, diacritics significant: `json.city:münchen` matches
 *                 "München", `json.city:munchen` does not); or when `value` is a numeric literal (see NUMERIC),
 *                 the leaf is a number and `Number(value) === leaf` (`json.ms:1.50` matches 1.5). A numeric
 *                 string leaf only matches by string equality (`json.x:500` does not match "0500"). null and
 *                 objects never match.
 * fieldWildcard   a leaf (string, number or boolean, via String()) matches the glob anchored at both ends,
 *                 case-insensitive (`json.path:/api/*` matches "/api/v1"; `*` any run, `?` one code point).
 * exists          some leaf is a string, number or boolean, or an object with such a value somewhere inside it
 *                 (an empty array, `null`, `{}` or `{a: null}` do not exist). `tag:*` = has at least one tag.
 * range           a leaf matches when it is a finite number or a string and satisfies every bound present.
 *                 Each bound is compared on its own: NUMERICALLY when both the leaf and the bound are numbers
 *                 or numeric strings (`syslog.procid:>1000` matches "1234" but not "999"), otherwise
 *                 LEXICOGRAPHICALLY between `String(leaf)` and `String(bound)`, case-sensitive, in Unicode code
 *                 point order (= UTF-8 byte order, = SQLite BINARY collation), so ISO timestamps compare in
 *                 time order (`json.createdAt:>=2024-03-10` matches "2024-03-10T08:30:00Z") and a non-numeric
 *                 string is compared as text even against a numeric bound (`json.status:>=500` matches "n/a",
 *                 as "n" > "5"). Booleans, null and objects never match.
 * NUMERIC         a numeric literal is /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/ (no spaces, no hex, no
 *                 Infinity/NaN), its value is `Number(s)`.
 */
import type { FieldValue, LogEvent } from "../event";
import type { Query } from "./ast";

const MARKS = /\p{M}+/gu;
const TOKEN = /[\p{L}\p{N}]+/gu;
const ONE_TOKEN = /^[\p{L}\p{N}]+$/u;
const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** NFD, strip combining marks, lower-case: the normalisation tokens go through. */
export function foldText(s: string): string {
  return s.normalize("NFD").replace(MARKS, "").toLowerCase();
}

/** The tokens of a text (see the top of this file). */
export function tokenize(s: string): string[] {
  return foldText(s).match(TOKEN) ?? [];
}

/** Whether `s` is a numeric literal in the query language's sense. */
export function isNumericLiteral(s: string): boolean {
  return NUMERIC.test(s);
}

/** Whether `raw` contains the token sequence `needle` as consecutive tokens (an empty needle: true). */
export function containsTokenSequence(haystack: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return true;
  const last = haystack.length - needle.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Splits a pattern into literal and wildcard parts: `\*` etc. become literal characters. */
function patternParts(pattern: string): ({ lit: string } | { wild: "*" | "?" })[] {
  const parts: ({ lit: string } | { wild: "*" | "?" })[] = [];
  let lit = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) {
      lit += pattern[++i];
    } else if (c === "*" || c === "?") {
      if (lit) parts.push({ lit });
      lit = "";
      parts.push({ wild: c });
    } else {
      lit += c;
    }
  }
  if (lit) parts.push({ lit });
  return parts;
}

/** A compiled glob: literal code points (lower-cased), `STAR` (any run) or `ANY` (one code point). */
const STAR = 0;
const ANY = 1;
export type CompiledGlob = (string | typeof STAR | typeof ANY)[];

/** Compiles a pattern for case-insensitive matching; consecutive `*` collapse. */
export function compileGlob(pattern: string): CompiledGlob {
  const out: CompiledGlob = [];
  for (const p of patternParts(pattern)) {
    if ("lit" in p) out.push(...Array.from(p.lit.toLowerCase()));
    else if (p.wild === "?") out.push(ANY);
    else if (out[out.length - 1] !== STAR) out.push(STAR);
  }
  return out;
}

/**
 * Whether the code points `text` (already lower-cased) match `glob`, anchored at both ends. Iterative, with
 * backtracking to the last `*` only: O(|text| × |glob|) at worst, no catastrophic backtracking.
 */
export function globMatches(glob: CompiledGlob, text: readonly string[]): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const g = glob[p];
    if (p < glob.length && (g === ANY || g === text[t])) {
      p++;
      t++;
    } else if (g === STAR) {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (glob[p] === STAR) p++;
  return p === glob.length;
}

/**
 * For a text wildcard: the token prefix when the pattern is `X*` with X a single token (case a), else null
 * (case b, a glob over raw).
 */
export function tokenPrefixOf(pattern: string): string | null {
  const parts = patternParts(pattern);
  if (parts.length !== 2) return null;
  const [first, second] = parts;
  if (!first || !second || !("lit" in first) || !("wild" in second) || second.wild !== "*") return null;
  const folded = foldText(first.lit);
  return ONE_TOKEN.test(folded) ? folded : null;
}

/** Leaf values of a field in an event (arrays expanded); empty when the field is absent. */
export function resolveField(e: LogEvent, field: string): FieldValue[] {
  const out: FieldValue[] = [];
  switch (field) {
    case "tag":
      pushLeaves(e.tags, out);
      return out;
    case "logtype":
      pushLeaves(e.logtypes, out);
      return out;
    case "id":
      pushLeaves(e.id, out);
      return out;
    case "timestamp":
      pushLeaves(e.timestamp, out);
      return out;
  }
  walk(e.event, field.split("."), 0, out);
  return out;
}

function pushLeaves(v: FieldValue | undefined, out: FieldValue[]): void {
  if (v === undefined) return;
  if (Array.isArray(v)) for (const x of v) pushLeaves(x, out);
  else out.push(v);
}

function walk(node: FieldValue | undefined, segs: readonly string[], i: number, out: FieldValue[]): void {
  if (node === undefined) return;
  if (i === segs.length) {
    pushLeaves(node, out);
    return;
  }
  if (Array.isArray(node)) {
    for (const x of node) walk(x, segs, i, out);
    return;
  }
  if (node === null || typeof node !== "object") return;
  let key = "";
  for (let j = i; j < segs.length; j++) {
    key = j === i ? segs[j]! : `${key}.${segs[j]}`;
    if (Object.prototype.hasOwnProperty.call(node, key)) walk(node[key], segs, j + 1, out);
  }
}

function isScalar(v: FieldValue): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function hasValue(v: FieldValue): boolean {
  if (v === null) return false;
  if (Array.isArray(v)) return v.some(hasValue);
  if (typeof v === "object") return Object.values(v).some(hasValue);
  return true;
}

function termMatches(leaf: FieldValue, value: string): boolean {
  if (!isScalar(leaf)) return false;
  if (String(leaf).toLowerCase() === value.toLowerCase()) return true;
  return typeof leaf === "number" && isNumericLiteral(value) && Number(value) === leaf;
}

/** Compares by Unicode code point (UTF-8 byte order), not UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function asNumber(v: string | number): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  return isNumericLiteral(v) ? Number(v) : undefined;
}

/** Sign of leaf − bound under the per-bound rule (numeric if both are numeric, else code point order). */
function compareToBound(leaf: string | number, bound: string | number): number {
  const a = asNumber(leaf);
  const b = asNumber(bound);
  if (a !== undefined && b !== undefined) return a < b ? -1 : a > b ? 1 : 0;
  return compareCodePoints(String(leaf), String(bound));
}

function rangeMatches(leaf: FieldValue, q: Extract<Query, { type: "range" }>): boolean {
  if (typeof leaf === "number") {
    if (!Number.isFinite(leaf)) return false;
  } else if (typeof leaf !== "string") {
    return false;
  }
  if (q.gt !== undefined && !(compareToBound(leaf, q.gt) > 0)) return false;
  if (q.gte !== undefined && !(compareToBound(leaf, q.gte) >= 0)) return false;
  if (q.lt !== undefined && !(compareToBound(leaf, q.lt) < 0)) return false;
  if (q.lte !== undefined && !(compareToBound(leaf, q.lte) <= 0)) return false;
  return true;
}

const rawTokenCache = new WeakMap<LogEvent, { raw: string; tokens: string[] }>();

function rawTokens(e: LogEvent): string[] {
  const hit = rawTokenCache.get(e);
  if (hit && hit.raw === e.raw) return hit.tokens;
  const tokens = tokenize(e.raw);
  rawTokenCache.set(e, { raw: e.raw, tokens });
  return tokens;
}

const globCache = new Map<string, CompiledGlob>();

/** The compiled glob; unanchored = wrapped in `*`. */
function cachedGlob(pattern: string, anchored: boolean): CompiledGlob {
  const key = `${anchored ? "A" : "U"}${pattern}`;
  let g = globCache.get(key);
  if (!g) {
    if (globCache.size > 1000) globCache.clear();
    g = compileGlob(anchored ? pattern : `*${pattern}*`);
    globCache.set(key, g);
  }
  return g;
}

const queryTokenCache = new Map<string, string[]>();

function queryTokens(value: string): string[] {
  let t = queryTokenCache.get(value);
  if (!t) {
    if (queryTokenCache.size > 1000) queryTokenCache.clear();
    t = tokenize(value);
    queryTokenCache.set(value, t);
  }
  return t;
}

const rawCharsCache = new WeakMap<LogEvent, { raw: string; chars: string[] }>();

/** `e.raw` lower-cased, as code points. */
function rawChars(e: LogEvent): string[] {
  const hit = rawCharsCache.get(e);
  if (hit && hit.raw === e.raw) return hit.chars;
  const chars = Array.from(e.raw.toLowerCase());
  rawCharsCache.set(e, { raw: e.raw, chars });
  return chars;
}

/** Whether event `e` is in the result of query `q` (the reference semantics: see the top of this file). */
export function matchesEvent(q: Query, e: LogEvent): boolean {
  switch (q.type) {
    case "all":
      return true;
    case "and":
      return q.children.every((c) => matchesEvent(c, e));
    case "or":
      return q.children.some((c) => matchesEvent(c, e));
    case "not":
      return !matchesEvent(q.child, e);
    case "text":
      return containsTokenSequence(rawTokens(e), queryTokens(q.value));
    case "textWildcard": {
      const prefix = tokenPrefixOf(q.pattern);
      if (prefix !== null) return rawTokens(e).some((t) => t.startsWith(prefix));
      return globMatches(cachedGlob(q.pattern, false), rawChars(e));
    }
    case "term":
      return resolveField(e, q.field).some((leaf) => termMatches(leaf, q.value));
    case "fieldWildcard": {
      const glob = cachedGlob(q.pattern, true);
      return resolveField(e, q.field).some((leaf) => isScalar(leaf) && globMatches(glob, Array.from(String(leaf).toLowerCase())));
    }
    case "exists":
      return resolveField(e, q.field).some(hasValue);
    case "range":
      return resolveField(e, q.field).some((leaf) => rangeMatches(leaf, q));
  }
}
