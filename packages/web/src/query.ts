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

/**
 * The words and phrases of a query that an event's text is searched for, to highlight in its row: bare
 * words and quoted phrases, and the values of field clauses; not operators, not what a NOT leaves out,
 * not wildcards' stars. A reading for display, not the query's meaning.
 */
export function highlightTerms(query: string): string[] {
  const out: string[] = [];
  const re = /(NOT\s+|-)?(?:[A-Za-z_@][A-Za-z0-9_.@-]*:)?("(?:[^"\\]|\\.)*"|[^\s()"]+)/g;
  for (const m of query.matchAll(re)) {
    if (m[1]) continue;
    let v = m[2]!;
    if (/^(AND|OR|NOT|TO)$/.test(v) || v === "*" || v === "&&" || v === "||") continue;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    v = v.replace(/^[<>]=?/, "").replace(/[*?]/g, "");
    if (v.length >= 2 && !out.includes(v)) out.push(v);
  }
  return out.slice(0, 20);
}

/** `text` cut into pieces, the ones matching a term (case-insensitive) marked; for highlighting. */
export function markTerms(text: string, terms: readonly string[]): { text: string; hit: boolean }[] {
  if (terms.length === 0 || text === "") return [{ text, hit: false }];
  const escaped = [...terms].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(escaped.join("|"), "gi");
  const out: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m[0] === "") continue;
    if (m.index > at) out.push({ text: text.slice(at, m.index), hit: false });
    out.push({ text: m[0], hit: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), hit: false });
  return out;
}

/** Field names the query language answers without a namespace (packages/core/src/query/ast.ts, PSEUDO_FIELDS). */
const PSEUDO = new Set(["tag", "logtype", "id", "timestamp"]);

/**
 * The query with each bare field name that no event has (`level:error`) replaced by the known field it
 * most likely means (`json.level:error`: a known field ending in `.level`, JSON first), or undefined
 * when there is nothing to suggest. Loggly's fields live under namespaces; people type the bare name.
 */
export function suggestFields(query: string, known: readonly string[]): string | undefined {
  const have = new Set(known);
  let changed = false;
  const out = query.replace(/(^|[\s(])([A-Za-z_@][A-Za-z0-9_@-]*):(?=\S)/g, (whole, before: string, name: string) => {
    if (PSEUDO.has(name) || have.has(name)) return whole;
    const candidates = known.filter((f) => f.endsWith(`.${name}`));
    if (candidates.length === 0) return whole;
    const best = candidates.find((f) => f.startsWith("json.")) ?? candidates[0]!;
    changed = true;
    return `${before}${best}:`;
  });
  return changed ? out : undefined;
}

const RECENT_KEY = "unmeltable.recentQueries";
const RECENT_MAX = 10;

/** The part of the Web Storage API used here (the browser's localStorage; tests give a map). */
interface KeyValues {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
const browserStorage = (): KeyValues | undefined => (globalThis as { localStorage?: KeyValues }).localStorage;

/** The queries searched last in this browser, newest first (stored locally; never the token). */
export function recentQueries(storage: Pick<KeyValues, "getItem"> | undefined = browserStorage()): string[] {
  try {
    const list = JSON.parse(storage?.getItem(RECENT_KEY) ?? "[]") as unknown;
    return Array.isArray(list) ? list.filter((q): q is string => typeof q === "string").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

/** Remembers a searched query (a repeated one moves to the front). */
export function rememberQuery(q: string, storage: KeyValues | undefined = browserStorage()): void {
  const text = q.trim();
  if (!storage || text === "" || text === "*" || text.length > 500) return;
  try {
    storage.setItem(RECENT_KEY, JSON.stringify([text, ...recentQueries(storage).filter((x) => x !== text)].slice(0, RECENT_MAX)));
  } catch {
    // storage full or refused: recent queries are a convenience
  }
}
