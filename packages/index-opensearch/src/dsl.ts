/**
 * The query AST → OpenSearch query DSL. Every node becomes structured clauses over the fields of
 * mapping.ts and the `path=value` keys of projection.ts; user input is never spliced into a
 * query_string, so no character of it is syntax. The semantics to reproduce are core's match.ts; the
 * places where OpenSearch can still differ are listed in this package's README.
 *
 *   all / and / or / not   match_all / bool filter / bool should (minimum_should_match 1) / bool must_not
 *                          (everything runs in filter context: nothing is scored, clauses are cacheable)
 *   text                   match_phrase on `raw`: the analyzer splits and folds both sides alike
 *   textWildcard X*        prefix on `raw`'s tokens (one token: X lower-cased, and X folded as match.ts does)
 *   textWildcard other     wildcard on f.glob (the lower-cased raw text, a `wildcard` field: mapping.ts),
 *                          unanchored: `*pattern*`; the pattern needs MIN_GLOB_RUN literal characters in a
 *                          row, else QuerySyntaxError (the API answers 400)
 *   term                   term on f.term (`path=value` lower-cased), OR'ed with a term on f.num when
 *                          the value is a numeric literal (numbers only: "0500" is not 500)
 *   fieldWildcard          wildcard on f.term, anchored at both ends by the `path=` prefix and the key end
 *   exists                 term on f.paths = path, OR prefix f.paths `path.` (an object exists when a leaf
 *                          below it does)
 *   range                  key ranges on f.num (numeric bounds against numbers and numeric strings) and
 *                          f.str (lexicographic, code point order = UTF-8 byte order of keyword terms)
 *
 * `id` and `timestamp` are top-level fields of every event, not in the projection (a unique term per
 * event in each f field would bloat the term dictionaries): `id` is a keyword (term and wildcard with
 * case_insensitive, lexicographic range), `timestamp` a date (numeric term/range) with a keyword
 * sub-field `timestamp.keyword` holding its decimal text for wildcards and lexicographic ranges.
 */
import { isNumericLiteral, QuerySyntaxError, tokenPrefixOf, type Query } from "@unmeltable/core";
import { nextChar, sortableHex, TAG, type Tag } from "./projection";

/**
 * How `raw` is analyzed (mapping.ts): "asciifolding" needs no plugin; "icu" (the analysis-icu plugin,
 * present on Amazon OpenSearch Service) decomposes like match.ts's NFD and is exact.
 */
export type TextAnalysis = "asciifolding" | "icu";

export interface DslOptions {
  analysis?: TextAnalysis;
}

type Dsl = Record<string, unknown>;

const MATCH_ALL: Dsl = { match_all: {} };
const MATCH_NONE: Dsl = { match_none: {} };
/** Epoch ms beyond which no Date exists: bounds past it are clamped (a date field rejects huge longs). */
const MAX_TS = 8.64e15;

export function compileDsl(q: Query, options: DslOptions = {}): Dsl {
  const analysis = options.analysis ?? "asciifolding";
  const compile = (n: Query): Dsl => {
    switch (n.type) {
      case "all":
        return MATCH_ALL;
      case "and":
        return { bool: { filter: n.children.map(compile) } };
      case "or":
        return anyOf(n.children.map(compile));
      case "not":
        return n.child.type === "all" ? MATCH_NONE : { bool: { must_not: [compile(n.child)] } };
      case "text":
        // The words as written: the index analyzer tokenizes and folds the query like the raw text.
        return { match_phrase: { raw: { query: n.value } } };
      case "textWildcard":
        return textWildcard(n.pattern, analysis);
      case "term":
        return term(n.field, n.value);
      case "fieldWildcard":
        return fieldWildcard(n.field, n.pattern);
      case "exists":
        if (n.field === "id" || n.field === "timestamp") return MATCH_ALL;
        return anyOf([{ term: { "f.paths": n.field } }, { prefix: { "f.paths": `${n.field}.` } }]);
      case "range":
        return range(n);
    }
  };
  return compile(q);
}

function anyOf(clauses: Dsl[]): Dsl {
  return clauses.length === 1 ? clauses[0]! : { bool: { should: clauses, minimum_should_match: 1 } };
}

/**
 * Literal characters in a row a text wildcard that is not a prefix must have. The `wildcard` field finds
 * candidates by the pattern's substrings of 1–3 characters and then checks each candidate's whole
 * text (https://docs.opensearch.org/latest/mappings/supported-field-types/wildcard/): a single
 * character (or none, `?*`) is in nearly every log line, so such a pattern would check every event of
 * the range. Two characters narrow it to the events holding them.
 */
export const MIN_GLOB_RUN = 2;

function longestLiteralRun(pattern: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" || c === "?") run = 0;
    else {
      if (c === "\\" && i + 1 < pattern.length) i++;
      best = Math.max(best, ++run);
    }
  }
  return best;
}

function textWildcard(pattern: string, analysis: TextAnalysis): Dsl {
  const folded = tokenPrefixOf(pattern);
  if (folded === null) {
    if (longestLiteralRun(pattern) < MIN_GLOB_RUN) {
      throw new QuerySyntaxError(`the wildcard ${JSON.stringify(pattern)} needs at least ${MIN_GLOB_RUN} characters in a row that are not * or ? (it would read every event of the range)`, 0);
    }
    return { wildcard: { "f.glob": { value: `*${luceneGlob(pattern, true)}*` } } };
  }
  if (analysis === "icu") return { prefix: { raw: { value: folded } } };
  // asciifolding keeps each token as written (lower-cased) and folded: the prefix as written finds the
  // first (`й*` → йогурт, which asciifolding leaves alone), the match.ts fold the second (`montre*` →
  // montréal). A prefix query is not analyzed, and Hangul stays composed in this index: hence NFC.
  const written = unescape(pattern.slice(0, -1)).toLowerCase().normalize("NFC");
  const values = [...new Set([written, folded.normalize("NFC")])];
  return anyOf(values.map((value) => ({ prefix: { raw: { value } } })));
}

function term(field: string, value: string): Dsl {
  if (field === "id") return { term: { id: { value, case_insensitive: true } } };
  if (field === "timestamp") {
    // String(timestamp) has only digits, so only a numeric literal can equal it.
    const n = isNumericLiteral(value) ? Number(value) : Number.NaN;
    return Number.isInteger(n) && Math.abs(n) <= MAX_TS ? { term: { timestamp: n } } : MATCH_NONE;
  }
  const text = { term: { "f.term": `${field}=${value.toLowerCase()}` } };
  if (!isNumericLiteral(value)) return text;
  return anyOf([text, { term: { "f.num": `${field}=${TAG.number}${sortableHex(Number(value))}` } }]);
}

function fieldWildcard(field: string, pattern: string): Dsl {
  if (field === "id") return { wildcard: { id: { value: luceneGlob(pattern, false), case_insensitive: true } } };
  if (field === "timestamp") return { wildcard: { "timestamp.keyword": { value: luceneGlob(pattern, true) } } };
  return { wildcard: { "f.term": { value: `${field}=${luceneGlob(pattern, true)}` } } };
}

/**
 * A query pattern (`*`, `?`, `\*`, `\?`, `\\`) as a Lucene wildcard, whose syntax is the same: literal
 * runs are lower-cased one by one, as match.ts's compileGlob does, and their `*?\` escaped.
 */
export function luceneGlob(pattern: string, lower: boolean): string {
  let out = "";
  let lit = "";
  const flush = () => {
    out += (lower ? lit.toLowerCase() : lit).replace(/[*?\\]/g, "\\$&");
    lit = "";
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) lit += pattern[++i];
    else if (c === "*" || c === "?") {
      flush();
      out += c;
    } else lit += c;
  }
  flush();
  return out;
}

function unescape(pattern: string): string {
  return pattern.replace(/\\(.)/gsu, "$1");
}

type Op = "gt" | "gte" | "lt" | "lte";
type Bounds = Partial<Record<Op, string>>;
const OPS: readonly Op[] = ["gt", "gte", "lt", "lte"];

/** match.ts's asNumber: numbers that are finite, strings that are numeric literals. */
function asNumber(b: string | number): number | undefined {
  if (typeof b === "number") return Number.isFinite(b) ? b : undefined;
  return isNumericLiteral(b) ? Number(b) : undefined;
}

/**
 * match.ts compares each bound on its own: numerically when leaf and bound are both numeric, else
 * String(leaf) against String(bound) in code point order. Leaves split by JSON type into the tags of
 * projection.ts, and each tag is one key range, so "any leaf satisfies every bound" holds per clause.
 * The one inexact case: bounds of both kinds (`[200 TO n/z]`) on a field holding several numeric
 * leaves, where the numeric half and the text half may be satisfied by different leaves.
 */
function range(q: Extract<Query, { type: "range" }>): Dsl {
  const numeric: Bounds = {};
  const text: Bounds = {};
  const asText: Bounds = {};
  const numbers: Partial<Record<Op, number>> = {};
  for (const op of OPS) {
    const b = q[op];
    if (b === undefined) continue;
    asText[op] = String(b);
    const n = asNumber(b);
    if (n === undefined) text[op] = String(b);
    else {
      numeric[op] = sortableHex(n);
      numbers[op] = n;
    }
  }
  const hasNumeric = Object.keys(numeric).length > 0;
  const hasText = Object.keys(text).length > 0;
  if (q.field === "id") return keywordRange("id", asText);
  if (q.field === "timestamp") {
    const parts = [...(hasNumeric ? [timestampRange(numbers)] : []), ...(hasText ? [keywordRange("timestamp.keyword", text)] : [])];
    return parts.length === 1 ? parts[0]! : { bool: { filter: parts } };
  }
  const key = (field: string, tag: Tag, b: Bounds) => keyRange(field, q.field, tag, b);
  // Non-numeric strings compare as text against every bound.
  const clauses = [key("f.str", TAG.string, asText)];
  for (const tag of [TAG.number, TAG.numericString]) {
    if (!hasText) clauses.push(key("f.num", tag, numeric));
    else if (!hasNumeric) clauses.push(key("f.str", tag, text));
    else clauses.push({ bool: { filter: [key("f.num", tag, numeric), key("f.str", tag, text)] } });
  }
  return anyOf(clauses);
}

/** The keys `path=<tag><v>` with v within the bounds; a missing side stops at the tag's own keys. */
function keyRange(field: string, path: string, tag: Tag, b: Bounds): Dsl {
  const head = `${path}=${tag}`;
  const r: Record<string, string> = {};
  if (b.gt !== undefined) r.gt = head + b.gt;
  else if (b.gte !== undefined) r.gte = head + b.gte;
  else r.gte = head;
  if (b.lt !== undefined) r.lt = head + b.lt;
  else if (b.lte !== undefined) r.lte = head + b.lte;
  else r.lt = `${path}=${nextChar(tag)}`;
  return { range: { [field]: r } };
}

function keywordRange(field: string, b: Bounds): Dsl {
  return { range: { [field]: { ...b } } };
}

/** Numeric bounds on the date field: timestamps are whole milliseconds, so bounds round inwards. */
function timestampRange(b: Partial<Record<Op, number>>): Dsl {
  let lo = b.gt !== undefined ? Math.floor(b.gt) + 1 : b.gte !== undefined ? Math.ceil(b.gte) : -MAX_TS;
  let hi = b.lt !== undefined ? Math.ceil(b.lt) - 1 : b.lte !== undefined ? Math.floor(b.lte) : MAX_TS;
  if (lo > MAX_TS || hi < -MAX_TS || lo > hi) return MATCH_NONE;
  lo = Math.max(lo, -MAX_TS);
  hi = Math.min(hi, MAX_TS);
  return { range: { timestamp: { gte: lo, lte: hi, format: "epoch_millis" } } };
}

/**
 * The terms aggregation behind a field's numeric aggregates: the keys of its numbers and numeric
 * strings (tags n and q), each bucket a value with its number of events; core's NumericTally computes
 * the statistics from them. At most `size` distinct values (beyond them `sum_other_doc_count` says so).
 */
export function numericAggregation(field: string, size: number): { agg: Dsl; value: (key: string | number) => number | undefined } {
  const head = `${field}=`;
  return {
    agg: { terms: { field: "f.str", size, execution_hint: "map", include: `${regexEscape(head)}[${TAG.number}${TAG.numericString}].*`, order: [{ _count: "desc" }, { _key: "asc" }] } },
    value: (k) => {
      const key = String(k);
      if (!key.startsWith(head)) return undefined;
      const n = Number(key.slice(head.length + 1).trim());
      return Number.isFinite(n) ? n : undefined;
    },
  };
}

/** The terms aggregation of a facet on `field`, and how its bucket keys become facet terms. */
export function facetAggregation(field: string, size: number): { agg: Dsl; term: (key: string | number) => string | number | boolean | undefined } {
  if (field === "id" || field === "timestamp") {
    return { agg: { terms: { field, size, execution_hint: "map", order: [{ _count: "desc" }, { _key: "asc" }] } }, term: (k) => k };
  }
  const head = `${field}=`;
  return {
    // Only this path's keys, all four type tags; the regex is anchored by Lucene (whole term).
    // execution_hint map: the keys of the sampled documents are counted in a hash map, instead of global
    // ordinals over every key of the shard (built again after every refresh) — the sampler bounds the work.
    agg: { terms: { field: "f.str", size, execution_hint: "map", include: `${regexEscape(head)}[${TAG.number}${TAG.numericString}${TAG.string}${TAG.boolean}].*`, order: [{ _count: "desc" }, { _key: "asc" }] } },
    term: (k) => {
      const key = String(k);
      if (!key.startsWith(head)) return undefined;
      const tag = key[head.length];
      const v = key.slice(head.length + 1);
      return tag === TAG.number ? Number(v) : tag === TAG.boolean ? v === "true" : v;
    },
  };
}

/** Lucene regexp: every character that is not a letter or digit escaped with a backslash. */
function regexEscape(s: string): string {
  return s.replace(/[^\p{L}\p{N}]/gu, "\\$&");
}
