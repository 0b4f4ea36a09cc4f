/**
 * The search query AST: what `parseQuery` produces, `matchesEvent` evaluates (the reference semantics), and the
 * SQLite FTS5 and OpenSearch compilers translate. Small and explicit on purpose.
 *
 * Invariants of a parsed query (see `parseQuery`):
 *  - `and` / `or` have at least two children, and no child of the same type (nested ones are flattened);
 *  - `all` appears only as the whole query, or as the child of a `not` (`NOT *` matches nothing);
 *    `and` never contains it and an `or` containing it is itself `all`;
 *  - `text.value` contains at least one token (see `tokenize` in match.ts): a word or phrase without any letter
 *    or digit (`-`, `"--"`) is parsed as `all`;
 *  - `range` has at least one bound, never both `gt` and `gte` nor both `lt` and `lte`; a bound is a `number`
 *    when it was written as an unquoted numeric literal (`500`, `1.5`, `-3`, `1e3`), else a `string`
 *    (`2024-03-10`, `"500"`);
 *  - `term.value` is unescaped (backslashes removed);
 *  - `pattern` (textWildcard, fieldWildcard) keeps wildcard syntax: `*` = any run of characters, `?` = exactly one
 *    character (a Unicode code point), and `\*`, `\?`, `\\` stand for a literal `*`, `?`, `\`. No other character
 *    is escaped. A pattern always contains at least one unescaped `*` or `?` and is never only `*`s.
 */
export type Query =
  /** `*` or an empty query. */
  | { type: "all" }
  | { type: "and"; children: Query[] }
  | { type: "or"; children: Query[] }
  | { type: "not"; child: Query }
  /** Free text: a word (`error`, `web-01`) or a "quoted phrase"; `phrase` records only how it was written. */
  | { type: "text"; value: string; phrase: boolean }
  /** Free text with `*` or `?`: `err*`, `*rror`, `e?ror`. */
  | { type: "textWildcard"; pattern: string }
  /** `field:value`, `field:"value with spaces"`. */
  | { type: "term"; field: string; value: string }
  /** `field:val*`, `field:*val?`. */
  | { type: "fieldWildcard"; field: string; pattern: string }
  /** `field:*`. */
  | { type: "exists"; field: string }
  /** `field:>=500`, `field:<3`, `field:[500 TO 599]`, `field:{a TO b}`, `field:[x TO *]`. */
  | { type: "range"; field: string; gt?: string | number; gte?: string | number; lt?: string | number; lte?: string | number };

export type QueryType = Query["type"];

/** The node of the given type. */
export type QueryOf<T extends QueryType> = Extract<Query, { type: T }>;

/** Field names accepted before `:`. */
export const FIELD_NAME_RE = /^[A-Za-z_@][A-Za-z0-9_.@-]*$/;

/** Pseudo-fields that do not live under `event`: `tag` → `tags`, `logtype` → `logtypes`, `id`, `timestamp`. */
export const PSEUDO_FIELDS: readonly string[] = Object.freeze(["tag", "logtype", "id", "timestamp"]);
