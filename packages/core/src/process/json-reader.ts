/**
 * JSON.parse with bounded work. JSON.parse builds every value of its input, and some inputs are built to
 * hurt: 1 MB of `[[[[…]]]]` took 0.8 s to parse, 1 MB of 70,000 keys 55 ms (and far more downstream). A
 * large text is first scanned (strings skipped with indexOf, no values built) and cut down to what an event
 * keeps anyway (FIELD_LIMITS): objects and arrays nested deeper than the depth limit become `null`, and the
 * values after the first maxFields are left out, with every container closed; only that text is parsed.
 *
 * What is past the field limit is only checked for balanced brackets and closed strings, not parsed: a text
 * that breaks JSON's grammar there (`{"a":1, …70,000 keys…, "z": nope}`) is still read as JSON.
 */
import { FIELD_LIMITS, type FieldLimitReport, type FieldLimits } from "./field-limits";
import { BACKSLASH, COLON, COMMA, CR, DQUOTE, LBRACE, LBRACKET, LF, RBRACE, RBRACKET, SP, TAB } from "../chars";

/** Texts up to this size are parsed as they are (their work is small whatever their shape). */
const SCAN_FROM_CHARS = 4096;

/** The value of a JSON text (already trimmed), within `limits`; undefined when it is not JSON. */
export function readJson(text: string, report: FieldLimitReport, limits: FieldLimits = FIELD_LIMITS): unknown {
  let source = text;
  if (text.length > SCAN_FROM_CHARS) {
    const plan = scan(text, limits);
    if (plan === null) return undefined;
    if (plan.cuts.length > 0 || plan.truncateAt >= 0) source = assemble(text, plan);
    if (plan.depthCuts > 0) report.omit("depth", plan.depthCuts);
    if (plan.dropped > 0) report.omit("fields", plan.dropped);
  }
  try {
    return JSON.parse(source) as unknown;
  } catch {
    return undefined;
  }
}

interface Plan {
  /** [start, end) of containers nested too deep, each to become `null`. */
  cuts: [number, number][];
  depthCuts: number;
  /** Where the kept text ends (after the last value kept), -1 when everything is kept. */
  truncateAt: number;
  /** The containers open at truncateAt, outermost first (LBRACE / LBRACKET). */
  open: number[];
  /** Scalars after truncateAt. */
  dropped: number;
}

function assemble(text: string, plan: Plan): string {
  let out = "";
  let at = 0;
  for (const [start, end] of plan.cuts) {
    out += text.slice(at, start) + "null";
    at = end;
  }
  out += text.slice(at, plan.truncateAt >= 0 ? plan.truncateAt : text.length);
  for (let k = plan.open.length - 1; k >= 0; k--) out += plan.open[k] === LBRACE ? "}" : "]";
  return out;
}

/** Index of the `"` closing a string whose content starts at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    let backslashes = 0;
    for (let k = q - 1; k >= from && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return q;
  }
  return -1;
}

/** Index after the container opened at `i` (strings skipped), or -1 when it is not closed. */
function containerEnd(text: string, i: number): number {
  let depth = 0;
  for (let p = i; p < text.length; p++) {
    const c = text.charCodeAt(p);
    if (c === DQUOTE) {
      p = closingQuote(text, p + 1);
      if (p < 0) return -1;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
    } else if (c === RBRACE || c === RBRACKET) {
      if (--depth === 0) return p + 1;
    }
  }
  return -1;
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === RBRACE || c === RBRACKET || c === SP || c === TAB || c === LF || c === CR || c === COLON;
}

/** Walks the text's structure without building anything; null when brackets or strings do not balance. */
function scan(text: string, limits: FieldLimits): Plan | null {
  const plan: Plan = { cuts: [], depthCuts: 0, truncateAt: -1, open: [], dropped: 0 };
  const stack: number[] = [];
  let expectKey = false;
  let leaves = 0;
  let lastEnd = -1;
  let lastDepth = 0;
  let done = false;
  const completed = (end: number) => {
    if (plan.truncateAt < 0) {
      lastEnd = end;
      lastDepth = stack.length;
    }
    if (stack.length === 0) done = true;
  };
  const leaf = (end: number) => {
    leaves++;
    if (plan.truncateAt < 0 && leaves > limits.maxFields && lastEnd >= 0) {
      plan.truncateAt = lastEnd;
      plan.open = stack.slice(0, lastDepth);
    }
    if (plan.truncateAt >= 0) plan.dropped++;
    completed(end);
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SP || c === TAB || c === LF || c === CR) {
      i++;
      continue;
    }
    if (done) return null; // more after the top-level value
    if (c === DQUOTE) {
      const q = closingQuote(text, i + 1);
      if (q < 0) return null;
      if (expectKey) expectKey = false;
      else leaf(q + 1);
      i = q + 1;
    } else if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= limits.maxDepth) {
        const end = containerEnd(text, i);
        if (end < 0) return null;
        if (plan.truncateAt < 0) {
          plan.cuts.push([i, end]);
          plan.depthCuts++;
        }
        completed(end);
        i = end;
      } else {
        stack.push(c);
        expectKey = c === LBRACE;
        i++;
      }
    } else if (c === RBRACE || c === RBRACKET) {
      const open = stack.pop();
      if (open === undefined || (open === LBRACE) !== (c === RBRACE)) return null;
      expectKey = false;
      completed(i + 1);
      i++;
    } else if (c === COMMA) {
      expectKey = stack[stack.length - 1] === LBRACE;
      i++;
    } else if (c === COLON) {
      i++;
    } else {
      let j = i + 1;
      while (j < n && !isDelimiter(text.charCodeAt(j))) j++;
      // null counts too (it is no field, but building 70,000 of them is the same work)
      leaf(j);
      i = j;
    }
  }
  return done && stack.length === 0 ? plan : null;
}
