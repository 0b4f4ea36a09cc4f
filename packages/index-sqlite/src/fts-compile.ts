import { tokenize, tokenPrefixOf, type Query } from "@unmeltable/core";
import { existsToken, hasValueTokens, MAX_TERM_KEY, queryValueKeys, valueToken } from "./field-tokens";

/**
 * Compiles the query AST to an FTS5 MATCH expression over the slice's `fts` table (column `raw`: the
 * event text; column `f`: the field tokens).
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

export function compileFts(q: Query, depth = 0): FtsPlan {
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
      return { expr: `raw : "${tokens.join(" ")}"`, exact: true };
    }
    case "textWildcard": {
      // A trailing * on one whole token is a token-prefix query; anything else is a glob over the text.
      const prefix = tokenPrefixOf(q.pattern);
      return prefix === null ? { expr: null, exact: false } : { expr: `raw : "${prefix}" *`, exact: true };
    }
    case "term": {
      const keys = queryValueKeys(q.value);
      // A value without a token of its own (too long, or a timestamp): candidates are the events that have the field.
      if (!hasValueTokens(q.field) || keys.every((k) => k.length > MAX_TERM_KEY)) return { expr: `f : ${existsToken(q.field)}`, exact: false };
      return { expr: `f : (${keys.filter((k) => k.length <= MAX_TERM_KEY).map((k) => valueToken(q.field, k)).join(" OR ")})`, exact: keys.every((k) => k.length <= MAX_TERM_KEY) };
    }
    case "exists":
      return { expr: `f : ${existsToken(q.field)}`, exact: true };
    case "fieldWildcard":
    case "range":
      // Only events that have the field can match.
      return { expr: `f : ${existsToken(q.field)}`, exact: false };
    case "not":
      return { expr: null, exact: false };
    case "and":
      return depth >= MAX_FTS_DEPTH ? { expr: null, exact: false } : compileAnd(q.children, depth + 1);
    case "or": {
      if (depth >= MAX_FTS_DEPTH) return { expr: null, exact: false };
      const parts = q.children.map((c) => compileFts(c, depth + 1));
      if (parts.some((p) => p.expr === null)) return { expr: null, exact: false };
      return { expr: parts.map((p) => `(${p.expr})`).join(" OR "), exact: parts.every((p) => p.exact) };
    }
  }
}

function compileAnd(children: Query[], depth: number): FtsPlan {
  const positive: string[] = [];
  const negative: string[] = [];
  let exact = true;
  for (const child of children) {
    if (child.type === "not") {
      const inner = compileFts(child.child, depth);
      if (inner.expr !== null && inner.exact) negative.push(inner.expr);
      else exact = false;
      continue;
    }
    const p = compileFts(child, depth);
    if (!p.exact) exact = false;
    if (p.expr !== null) positive.push(p.expr);
  }
  if (positive.length === 0) return { expr: null, exact: false };
  const expr = positive.map((e) => `(${e})`).join(" AND ");
  if (negative.length === 0) return { expr, exact };
  // FTS5's NOT is binary: "a NOT b". It needs a positive side, which we have here. All negatives go in one
  // OR (a NOT per negative nests one level each, and FTS5's parser overflows at about a hundred levels).
  return { expr: `(${expr}) NOT (${negative.map((n) => `(${n})`).join(" OR ")})`, exact };
}
