/**
 * Loggly / Lucene query syntax → `Query` (see ast.ts).
 *
 *   query    := orExpr?                                   blank or `*` → all
 *   orExpr   := andExpr ( ("OR" | "||") andExpr )*
 *   andExpr  := unary ( ("AND" | "&&")? unary )*           adjacent clauses are ANDed
 *   unary    := ("NOT" | "!") unary | "-" unary | "+" unary | primary
 *   primary  := "(" orExpr ")" | clause
 *   clause   := "phrase" | word | field ":" value
 *   value    := "phrase" | word | "*" | "(" orExpr-of-values ")" | ("[" | "{") bound "TO" bound ("]" | "}")
 *             | (">" | ">=" | "<" | "<=") bound
 *
 * Precedence NOT > AND > OR. Details:
 *  - `AND` `OR` `NOT` are operators only in upper case and as whole words (delimited by whitespace, parentheses,
 *    a quote or the ends); `and`, `ANDROID` are words. `&&` `||` likewise only standing alone (`a&&b` is a word).
 *    `!` at the start of a clause is NOT (`!x`, `! x`).
 *  - `-x` is NOT x and `+x` is x, when the sign is directly followed by the clause; a lone `-` or `+` (followed by
 *    a space, `)` or the end) is a word, and a word without letters or digits is `all` (`a - b` = `a b`).
 *  - A word runs until whitespace, `(`, `)`, `"` or the end. `\` escapes the next character (`\:` `\(` `\-` `\*`
 *    `\"` `\\` `\ ` ...): escaped characters are plain characters, never operators, wildcards or separators.
 *  - `name:` starts a field clause when `name` matches [A-Za-z_@][A-Za-z0-9_.@-]* and is followed by an
 *    unescaped `:`; otherwise the colon is part of a free-text word (`12:30:00`, `level\:error`). No space is
 *    allowed after the colon. In a value, further colons are literal (`json.peer:10.0.0.5:5432`).
 *  - `field:(a OR b -c)`: every clause inside the group is a value of `field` (words, phrases, wildcards, `*`,
 *    ranges, comparisons, nested parentheses and operators); colons inside are literal.
 *  - Unescaped `*` / `?` in a word make a wildcard; a word of only `*`s is `all` (free text) or `exists`
 *    (field value). Inside quotes `*` and `?` are literal.
 *  - Range bounds: an unquoted numeric literal becomes a number, anything else a string; `*` is an open end;
 *    `[* TO *]` and `>=*` are `exists`. `[` `]` include, `{` `}` exclude, and they may be mixed.
 *  - The result is normalised: nested and/or flattened, `all` dropped from `and`, an `or` with `all` is `all`,
 *    one-child and/or collapsed.
 */
import { CodedError, ERROR_CODES } from "../http/coded-error";
import { type Query } from "./ast";
import { isNumericLiteral, tokenize } from "./match";

/**
 * A syntax error in a query; `position` is the 0-based index in the query string where the problem is.
 * Every surface answers it 400 `UNM_QUERY_SYNTAX` with the position in the body.
 */
export class QuerySyntaxError extends CodedError {
  override name = "QuerySyntaxError";
  readonly position: number;
  /** What is wrong, without the "query syntax error: " the message starts with. */
  readonly detail: string;
  constructor(detail: string, position: number) {
    super(ERROR_CODES.QUERY_SYNTAX, 400, `query syntax error: ${detail}`, { details: { position } });
    this.position = position;
    this.detail = detail;
  }
}

const MAX_DEPTH = 100;
/** Longest query text accepted (characters). */
export const MAX_QUERY_LENGTH = 10_000;
/** Most clauses (words, phrases, field conditions) in one query: Lucene's default maxClauseCount. */
export const MAX_QUERY_CLAUSES = 1024;
const FIELD_PREFIX = /[A-Za-z_@][A-Za-z0-9_.@-]*:/y;
const WS = /\s/u;

interface Piece {
  ch: string;
  esc: boolean;
}

type Bound = { value: string | number } | null; // null = open end (`*`)

function isWs(c: string | undefined): boolean {
  return c !== undefined && WS.test(c);
}

function andOf(children: Query[]): Query {
  const flat: Query[] = [];
  for (const c of children) {
    if (c.type === "and") flat.push(...c.children);
    else if (c.type !== "all") flat.push(c);
  }
  if (flat.length === 0) return { type: "all" };
  if (flat.length === 1) return flat[0]!;
  return { type: "and", children: flat };
}

function orOf(children: Query[]): Query {
  const flat: Query[] = [];
  for (const c of children) {
    if (c.type === "all") return { type: "all" };
    if (c.type === "or") flat.push(...c.children);
    else flat.push(c);
  }
  if (flat.length === 1) return flat[0]!;
  return { type: "or", children: flat };
}

function isWild(p: Piece): boolean {
  return !p.esc && (p.ch === "*" || p.ch === "?");
}

function onlyStars(pieces: Piece[]): boolean {
  return pieces.length > 0 && pieces.every((p) => !p.esc && p.ch === "*");
}

function plain(pieces: Piece[]): string {
  return pieces.map((p) => p.ch).join("");
}

function patternOf(pieces: Piece[]): string {
  return pieces.map((p) => (p.esc && (p.ch === "*" || p.ch === "?" || p.ch === "\\") ? `\\${p.ch}` : p.ch)).join("");
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly src: string) {}

  parse(): Query {
    this.skipWs();
    if (this.atEnd()) return { type: "all" };
    const q = this.parseOr(null);
    this.skipWs();
    if (!this.atEnd()) {
      // parseOr stops only at the end or at a ')'.
      throw new QuerySyntaxError(`unmatched ')' at ${this.pos}: there is no '(' before it`, this.pos);
    }
    return q;
  }

  // ---- scanning helpers ----

  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private skipWs(): void {
    while (!this.atEnd() && isWs(this.src[this.pos])) this.pos++;
  }

  /** Whether position `i` ends an operator word. */
  private isDelimAt(i: number): boolean {
    const c = this.src[i];
    return c === undefined || isWs(c) || c === "(" || c === ")" || c === '"';
  }

  /** The operator at the current position, if any. */
  private peekOperator(): { kind: "AND" | "OR" | "NOT"; text: string } | null {
    const s = this.src;
    const p = this.pos;
    for (const [text, kind] of [
      ["AND", "AND"],
      ["OR", "OR"],
      ["NOT", "NOT"],
      ["&&", "AND"],
      ["||", "OR"],
    ] as const) {
      if (s.startsWith(text, p) && this.isDelimAt(p + text.length)) return { kind, text };
    }
    if (s[p] === "!") return { kind: "NOT", text: "!" };
    return null;
  }

  /** After an operator: there must be a clause next. */
  private expectOperand(op: string, opPos: number): void {
    this.skipWs();
    if (this.atEnd()) {
      throw new QuerySyntaxError(`${op} at ${opPos} is not followed by anything: add a search term after it or remove it`, opPos);
    }
    if (this.peek() === ")") {
      throw new QuerySyntaxError(`${op} at ${opPos} is followed by ')' at ${this.pos}: add a search term after it`, opPos);
    }
    const next = this.peekOperator();
    if (next && next.kind !== "NOT") {
      throw new QuerySyntaxError(`${op} at ${opPos} is followed by ${next.text} at ${this.pos}: add a search term between them`, opPos);
    }
  }

  private enter(at: number): void {
    if (++this.depth > MAX_DEPTH) {
      throw new QuerySyntaxError(`query nested too deeply at ${at} (more than ${MAX_DEPTH} levels of parentheses or negations)`, at);
    }
  }

  private leave(): void {
    this.depth--;
  }

  // ---- grammar ----

  private parseOr(field: string | null): Query {
    const children = [this.parseAnd(field)];
    for (;;) {
      this.skipWs();
      const op = this.peekOperator();
      if (op?.kind !== "OR") break;
      const opPos = this.pos;
      this.pos += op.text.length;
      this.expectOperand(op.text, opPos);
      children.push(this.parseAnd(field));
    }
    return orOf(children);
  }

  private parseAnd(field: string | null): Query {
    const children = [this.parseUnary(field)];
    for (;;) {
      this.skipWs();
      if (this.atEnd() || this.peek() === ")") break;
      const op = this.peekOperator();
      if (op?.kind === "OR") break;
      if (op?.kind === "AND") {
        const opPos = this.pos;
        this.pos += op.text.length;
        this.expectOperand(op.text, opPos);
      }
      children.push(this.parseUnary(field));
    }
    return andOf(children);
  }

  private parseUnary(field: string | null): Query {
    this.skipWs();
    const start = this.pos;
    const op = this.peekOperator();
    if (op?.kind === "NOT") {
      this.pos += op.text.length;
      this.expectOperand(op.text, start);
      this.enter(start);
      const child = this.parseUnary(field);
      this.leave();
      return { type: "not", child };
    }
    if (op) {
      throw new QuerySyntaxError(`${op.text} at ${start} has no search term before it: add one or remove the ${op.text}`, start);
    }
    const c = this.peek();
    if ((c === "-" || c === "+") && !this.isSignDelim(this.pos + 1)) {
      this.pos++;
      this.enter(start);
      const child = this.parseUnary(field);
      this.leave();
      return c === "-" ? { type: "not", child } : child;
    }
    return this.parsePrimary(field);
  }

  /** A `-`/`+` followed by one of these is a plain word, not a prefix operator. */
  private isSignDelim(i: number): boolean {
    const c = this.src[i];
    return c === undefined || isWs(c) || c === ")";
  }

  private parsePrimary(field: string | null): Query {
    const start = this.pos;
    const c = this.peek();
    if (c === "(") return this.parseParens(field, null);
    if (c === ")") throw new QuerySyntaxError(`unmatched ')' at ${start}: there is no '(' before it`, start);
    if (field !== null) return this.parseValue(field, false);
    if (c === '"') {
      const value = this.scanPhrase();
      return tokenize(value).length === 0 ? { type: "all" } : { type: "text", value, phrase: true };
    }
    FIELD_PREFIX.lastIndex = start;
    const m = FIELD_PREFIX.exec(this.src);
    if (m) {
      this.pos += m[0].length;
      return this.parseValue(m[0].slice(0, -1), true);
    }
    const pieces = this.scanWord(false);
    if (pieces.some(isWild)) {
      return onlyStars(pieces) ? { type: "all" } : { type: "textWildcard", pattern: patternOf(pieces) };
    }
    const value = plain(pieces);
    return tokenize(value).length === 0 ? { type: "all" } : { type: "text", value, phrase: false };
  }

  /** `( orExpr )`; `groupField` is set for `field:( ... )`. */
  private parseParens(field: string | null, groupField: string | null): Query {
    const open = this.pos;
    this.pos++;
    this.enter(open);
    this.skipWs();
    if (this.atEnd()) {
      throw new QuerySyntaxError(`unbalanced parenthesis: '(' at ${open} is never closed: add a ')'`, open);
    }
    if (this.peek() === ")") {
      const what = groupField !== null ? `empty group after '${groupField}:'` : "empty parentheses";
      throw new QuerySyntaxError(`${what} at ${open}: put a search term inside or remove them`, open);
    }
    const q = this.parseOr(field);
    this.skipWs();
    if (this.peek() !== ")") {
      throw new QuerySyntaxError(`unbalanced parenthesis: '(' at ${open} is never closed: add a ')'`, open);
    }
    this.pos++;
    this.leave();
    return q;
  }

  /** A value of `field`: after `field:` (afterColon) or as a clause inside `field:( ... )`. */
  private parseValue(field: string, afterColon: boolean): Query {
    const start = this.pos;
    const c = this.peek();
    if (c === undefined || isWs(c) || c === ")") {
      const hint = isWs(c) ? " (no space is allowed after ':'; quote values that contain spaces)" : "";
      throw new QuerySyntaxError(`missing value after '${field}:' at ${start}${hint}`, start);
    }
    if (c === '"') return { type: "term", field, value: this.scanPhrase() };
    if (c === "(" && afterColon) return this.parseParens(field, field);
    if (c === "[" || c === "{") return this.parseRange(field);
    if (c === ">" || c === "<") return this.parseComparison(field);
    const pieces = this.scanWord(false);
    if (pieces.length === 0) {
      throw new QuerySyntaxError(`missing value after '${field}:' at ${start}`, start);
    }
    if (onlyStars(pieces)) return { type: "exists", field };
    if (pieces.some(isWild)) return { type: "fieldWildcard", field, pattern: patternOf(pieces) };
    return { type: "term", field, value: plain(pieces) };
  }

  private parseComparison(field: string): Query {
    const op = this.peek(1) === "=" ? `${this.peek()}=` : this.peek()!;
    this.pos += op.length;
    const c = this.peek();
    if (c === undefined || isWs(c) || c === ")" || c === "(") {
      throw new QuerySyntaxError(`missing value after '${field}:${op}' at ${this.pos}`, this.pos);
    }
    let bound: Bound;
    if (c === '"') {
      bound = { value: this.scanPhrase() };
    } else {
      const pieces = this.scanWord(false);
      if (pieces.length === 0) throw new QuerySyntaxError(`missing value after '${field}:${op}' at ${this.pos}`, this.pos);
      bound = this.boundOf(pieces);
    }
    if (bound === null) return { type: "exists", field };
    switch (op) {
      case ">":
        return { type: "range", field, gt: bound.value };
      case ">=":
        return { type: "range", field, gte: bound.value };
      case "<":
        return { type: "range", field, lt: bound.value };
      default:
        return { type: "range", field, lte: bound.value };
    }
  }

  private parseRange(field: string): Query {
    const open = this.pos;
    const lowerInclusive = this.peek() === "[";
    this.pos++;
    this.skipWs();
    const lower = this.scanBound(open, "lower");
    this.skipWs();
    if (this.atEnd()) this.unterminatedRange(open);
    const afterTo = this.src[this.pos + 2];
    if (!(this.src.startsWith("TO", this.pos) && (afterTo === undefined || isWs(afterTo) || afterTo === "]" || afterTo === "}"))) {
      throw new QuerySyntaxError(`expected 'TO' at ${this.pos} in the range starting at ${open} (write [from TO to])`, this.pos);
    }
    this.pos += 2;
    this.skipWs();
    const upper = this.scanBound(open, "upper");
    this.skipWs();
    if (this.atEnd()) this.unterminatedRange(open);
    const close = this.peek();
    if (close !== "]" && close !== "}") {
      throw new QuerySyntaxError(`expected ']' or '}' at ${this.pos} to close the range starting at ${open}`, this.pos);
    }
    this.pos++;
    if (lower === null && upper === null) return { type: "exists", field };
    const q: Extract<Query, { type: "range" }> = { type: "range", field };
    if (lower !== null) {
      if (lowerInclusive) q.gte = lower.value;
      else q.gt = lower.value;
    }
    if (upper !== null) {
      if (close === "]") q.lte = upper.value;
      else q.lt = upper.value;
    }
    return q;
  }

  private unterminatedRange(open: number): never {
    throw new QuerySyntaxError(`unterminated range starting at ${open}: expected '[from TO to]' closed by ']' or '}'`, open);
  }

  private scanBound(open: number, which: "lower" | "upper"): Bound {
    if (this.atEnd()) this.unterminatedRange(open);
    const c = this.peek();
    if (c === '"') return { value: this.scanPhrase() };
    const pieces = this.scanWord(true);
    if (pieces.length === 0) {
      throw new QuerySyntaxError(`missing ${which} bound at ${this.pos} in the range starting at ${open} (use * for an open end)`, this.pos);
    }
    return this.boundOf(pieces);
  }

  private boundOf(pieces: Piece[]): Bound {
    if (pieces.length === 1 && pieces[0]!.ch === "*" && !pieces[0]!.esc) return null;
    const s = plain(pieces);
    if (!pieces.some((p) => p.esc) && isNumericLiteral(s)) return { value: Number(s) };
    return { value: s };
  }

  /** A quoted phrase starting at the current `"`; returns its unescaped content. */
  private scanPhrase(): string {
    const start = this.pos;
    this.pos++;
    let out = "";
    for (;;) {
      if (this.atEnd()) {
        throw new QuerySyntaxError(`unterminated quoted phrase starting at ${start}: add a closing '"'`, start);
      }
      const c = this.src[this.pos]!;
      if (c === "\\") {
        if (this.pos + 1 >= this.src.length) {
          throw new QuerySyntaxError(`unterminated quoted phrase starting at ${start}: add a closing '"'`, start);
        }
        out += this.src[this.pos + 1];
        this.pos += 2;
      } else if (c === '"') {
        this.pos++;
        return out;
      } else {
        out += c;
        this.pos++;
      }
    }
  }

  /** A word: up to whitespace, `(`, `)`, `"` (or, in a range, whitespace, `]`, `}`), with `\` escapes. */
  private scanWord(inRange: boolean): Piece[] {
    const pieces: Piece[] = [];
    while (!this.atEnd()) {
      const c = this.src[this.pos]!;
      if (isWs(c)) break;
      if (inRange ? c === "]" || c === "}" : c === "(" || c === ")" || c === '"') break;
      if (c === "\\") {
        if (this.pos + 1 >= this.src.length) {
          throw new QuerySyntaxError(`dangling '\\' at ${this.pos}: a backslash must be followed by the character it escapes`, this.pos);
        }
        pieces.push({ ch: this.src[this.pos + 1]!, esc: true });
        this.pos += 2;
      } else {
        pieces.push({ ch: c, esc: false });
        this.pos++;
      }
    }
    return pieces;
  }
}

/**
 * Parses a Loggly/Lucene query string (see the top of this file). Throws `QuerySyntaxError` on invalid syntax,
 * and on a query longer than MAX_QUERY_LENGTH or with more than MAX_QUERY_CLAUSES clauses (its work is bounded:
 * linear in the text, at most MAX_DEPTH levels of nesting); never throws anything else.
 */
export function parseQuery(q: string): Query {
  if (q.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(`query too long: ${q.length} characters, at most ${MAX_QUERY_LENGTH} are accepted`, MAX_QUERY_LENGTH);
  }
  const query = new Parser(q).parse();
  const clauses = clauseCount(query);
  if (clauses > MAX_QUERY_CLAUSES) {
    throw new QuerySyntaxError(`query too complex: ${clauses} clauses, at most ${MAX_QUERY_CLAUSES} are accepted`, 0);
  }
  return query;
}

/** Leaf conditions of a parsed query (its depth is bounded by the parser, so recursion is safe). */
function clauseCount(q: Query): number {
  switch (q.type) {
    case "and":
    case "or":
      return q.children.reduce((n, c) => n + clauseCount(c), 0);
    case "not":
      return clauseCount(q.child);
    case "all":
      return 0;
    default:
      return 1;
  }
}
