/**
 * Building queries from what the user clicks: `field:value` clauses, quoted when the query language
 * needs it (packages/core/src/query/parse.ts), appended so that they narrow the search.
 */

/** Field names the query language accepts before `:`. */
const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_.@-]*$/;
/** A value that reads as itself when written bare after `field:`. */
const BARE_VALUE = /^[A-Za-z0-9_@.,/:+=%-]+$/;

/** A value as written after `field:`: bare when safe, else a quoted phrase (`"` and `\` escaped). */
export function quoteValue(value: string | number | boolean): string {
  const text = String(value);
  if (text !== "" && BARE_VALUE.test(text) && !/^[-+]/.test(text)) return text;
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `field:value`, or undefined when the field name cannot be written in a query. */
export function fieldClause(field: string, value: string | number | boolean): string | undefined {
  if (!FIELD_NAME.test(field)) return undefined;
  return `${field}:${quoteValue(value)}`;
}

/**
 * The query narrowed by `clause`: adjacent clauses are ANDed, and a query with a top-level OR is put in
 * parentheses first (AND binds tighter than OR). A clause already present is not added twice.
 */
export function addClause(query: string, clause: string): string {
  const q = query.trim();
  if (q === "" || q === "*") return clause;
  if (q === clause || q.endsWith(` ${clause}`) || q.startsWith(`${clause} `) || q.includes(` ${clause} `)) return q;
  const hasOr = /(^|[\s)])(OR|\|\|)(?=[\s(]|$)/.test(q);
  return hasOr ? `(${q}) ${clause}` : `${q} ${clause}`;
}

/** The clause that leaves out what `clause` matches ("exclude this value"). */
export function excludeClause(clause: string): string {
  return `NOT ${clause}`;
}
