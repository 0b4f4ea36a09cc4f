import { tokenize, tokenPrefixOf, type Query } from "@unmeltable/core";
import { existsToken, hasValueTokens, keyedValuePrefix, keyedValueToken, MAX_TERM_KEY, queryValueKeys, valueToken } from "./field-tokens";
import type { FtsLayout } from "./schema";

/**
 * Compiles the query AST to an FTS5 MATCH expression over a slice's `fts` table, in its layout
 * (schema.ts FtsLayout): "two" has column `raw` (the event text) and column `f` (the field tokens); "one"
 * and "keyed" have both in one column, field tokens apart by their mark; "keyed" writes them in the
 * "keyed" scheme (field-tokens.ts), where a field exists when it has a value token or an exists token.
 *
 * The expression is always a necessary condition: every matching event satisfies it. When `exact`, it
 * is also sufficient, and the engine counts and pages straight off FTS. Otherwise (ranges, value
 * wildcards, infix wildcards, a NOT with nothing positive beside it) the engine reads the candidates and
 * checks each with `matchesEvent`, the reference semantics. `expr` null means no FTS condition at all:
 * the candidates are every event in the time range.
 */
export interface FtsPlan {
  expr: string | null;
  exact: boolean;
  /** True when the query can match nothing (e.g. a text query without a single token). */
  never?: boolean;
  /**
   * True when `expr` only says that a field exists, for a condition checked on each candidate anyway (a
   * range, a value wildcard, a value too long for a token). In a "keyed" slice that is a prefix query, and
   * FTS5 merges a prefix's terms over the whole slice in each statement whatever its rowid range (at 10M
   * events, `json.status:*` over a day: ~80 ms): beside another condition of an AND it is left out (compileAnd).
   */
  prefilter?: boolean;
}

/** Fields every event has (top-level properties, not in `event`): they have no exists or value tokens
 * (a token per distinct id or time would bloat the FTS dictionary); queries on them check candidates. */
const INTRINSIC = new Set(["timestamp", "id"]);

/**
 * Levels of and/or/not nesting compiled to FTS at most: FTS5's expression parser overflows its stack at
 * about 40 (measured). Deeper parts compile to no condition (expr null): still a necessary condition, the
 * candidates are then checked one by one.
 */
const MAX_FTS_DEPTH = 12;

/** How each kind of condition is written in one FTS layout. */
interface Dialect {
  /** The event text holds these words (at least one), in sequence. */
  text(tokens: string[]): string;
  /** A word of the text begins with `prefix`. */
  prefix(prefix: string): string;
  /** The event has field `path`. */
  exists(path: string): string;
  /** The event's field `path` has a value of this key (field-tokens.ts storedValueKey). */
  value(path: string, key: string): string;
}

/** The text in the one-column layouts: no column filters, field tokens and text words cannot meet (schema.ts FtsLayout). */
const ONE_COLUMN_TEXT: Pick<Dialect, "text" | "prefix"> = {
  text: (tokens) => `"${tokens.join(" ")}"`,
  prefix: (p) => `"${p}" *`,
};

const DIALECTS: Record<FtsLayout, Dialect> = {
  two: {
    text: (tokens) => `raw : "${tokens.join(" ")}"`,
    prefix: (p) => `raw : "${p}" *`,
    exists: (path) => `f : "${existsToken(path)}"`,
    value: (path, key) => `f : "${valueToken(path, key)}"`,
  },
  one: {
    ...ONE_COLUMN_TEXT,
    exists: (path) => `"${existsToken(path)}"`,
    value: (path, key) => `"${valueToken(path, key)}"`,
  },
  keyed: {
    ...ONE_COLUMN_TEXT,
    // Any value of the path (a prefix query over its value tokens), or its exists token (an object, or a
    // leaf without a value token).
    exists: (path) => `("${existsToken(path)}" OR "${keyedValuePrefix(path)}" *)`,
    value: (path, key) => `"${keyedValueToken(path, key)}"`,
  },
};

export function compileFts(q: Query, layout: FtsLayout = "keyed", depth = 0): FtsPlan {
  const d = DIALECTS[layout];
  if (INTRINSIC.has(q.type === "exists" || q.type === "range" || q.type === "fieldWildcard" || q.type === "term" ? q.field : "")) {
    return { expr: null, exact: q.type === "exists" };
  }
  switch (q.type) {
    case "all":
      return { expr: null, exact: true };
    case "text": {
      // The same tokens FTS5's unicode61 tokenizer made of the text; a text without any matches everything.
      const tokens = tokenize(q.value);
      if (tokens.length === 0) return { expr: null, exact: true };
      return { expr: d.text(tokens), exact: true };
    }
    case "textWildcard": {
      // A trailing * on one whole token is a token-prefix query; anything else is a glob over the text.
      const prefix = tokenPrefixOf(q.pattern);
      return prefix === null ? { expr: null, exact: false } : { expr: d.prefix(prefix), exact: true };
    }
    case "term": {
      const keys = queryValueKeys(q.value);
      // A value without a token of its own (too long, or a timestamp): candidates are the events that have the field.
      if (!hasValueTokens(q.field) || keys.every((k) => k.length > MAX_TERM_KEY)) return { expr: d.exists(q.field), exact: false, prefilter: true };
      const tokens = keys.filter((k) => k.length <= MAX_TERM_KEY).map((k) => d.value(q.field, k));
      return { expr: tokens.length === 1 ? tokens[0]! : `(${tokens.join(" OR ")})`, exact: keys.every((k) => k.length <= MAX_TERM_KEY) };
    }
    case "exists":
      return { expr: d.exists(q.field), exact: true };
    case "fieldWildcard":
    case "range":
      // Only events that have the field can match.
      return { expr: d.exists(q.field), exact: false, prefilter: true };
    case "not":
      return { expr: null, exact: false };
    case "and":
      return depth >= MAX_FTS_DEPTH ? { expr: null, exact: false } : compileAnd(q.children, layout, depth + 1);
    case "or": {
      if (depth >= MAX_FTS_DEPTH) return { expr: null, exact: false };
      const parts = q.children.map((c) => compileFts(c, layout, depth + 1));
      if (parts.some((p) => p.expr === null)) return { expr: null, exact: false };
      return { expr: parts.map((p) => `(${p.expr})`).join(" OR "), exact: parts.every((p) => p.exact) };
    }
  }
}

function compileAnd(children: Query[], layout: FtsLayout, depth: number): FtsPlan {
  const positive: FtsPlan[] = [];
  const negative: string[] = [];
  let exact = true;
  for (const child of children) {
    if (child.type === "not") {
      const inner = compileFts(child.child, layout, depth);
      if (inner.expr !== null && inner.exact) negative.push(inner.expr);
      else exact = false;
      continue;
    }
    const p = compileFts(child, layout, depth);
    if (!p.exact) exact = false;
    if (p.expr !== null) positive.push(p);
  }
  // A field's existence as a prefix query costs more than checking the candidates the other conditions leave.
  const kept = layout === "keyed" && positive.some((p) => !p.prefilter) ? positive.filter((p) => !p.prefilter) : positive;
  if (kept.length === 0) return { expr: null, exact: false };
  const expr = kept.map((p) => `(${p.expr})`).join(" AND ");
  const prefilter = kept.every((p) => p.prefilter) ? { prefilter: true } : {};
  if (negative.length === 0) return { expr, exact, ...prefilter };
  // FTS5's NOT is binary: "a NOT b". It needs a positive side, which we have here. All negatives go in one
  // OR (a NOT per negative nests one level each, and FTS5's parser overflows at about a hundred levels).
  return { expr: `(${expr}) NOT (${negative.map((n) => `(${n})`).join(" OR ")})`, exact, ...prefilter };
}
