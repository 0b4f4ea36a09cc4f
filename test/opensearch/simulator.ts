/**
 * A model of how OpenSearch evaluates the DSL subset compileDsl emits, over documents as this adapter
 * indexes them (the event plus its projection). It lets the query corpus run against compiled queries
 * without a cluster. It is a model, not OpenSearch: it encodes this package's reading of Lucene's
 * keyword term/range/prefix/wildcard semantics (terms compared as UTF-8 bytes = code points, wildcards
 * over code points, ignore_above), and of the `raw` analyzer of mapping.ts, with asciifolding reduced
 * to the Latin letters and the handful of special foldings the tests need. The live contract run
 * (test/contract/index-opensearch.test.ts) is the real check.
 */
import type { LogEvent } from "@unmeltable/core";
import { KEY_CHARS, project, type Projection, type TextAnalysis } from "@unmeltable/index-opensearch";

type Dsl = Record<string, unknown>;

export interface SimDoc {
  event: LogEvent;
  keywords: Record<string, string[]>;
  /** `raw` as analyzed: per position, the tokens indexed there. */
  positions: string[][];
}

const SPECIAL: Record<string, string> = { ß: "ss", æ: "ae", ø: "o", œ: "oe", ł: "l", đ: "d", þ: "th", ð: "d" };

function asciifold(token: string): string {
  let out = "";
  for (const c of token) {
    const cp = c.codePointAt(0)!;
    if (SPECIAL[c]) out += SPECIAL[c];
    else if ((cp >= 0xc0 && cp <= 0x24f) || (cp >= 0x1e00 && cp <= 0x1eff)) out += c.normalize("NFD").replace(/\p{M}+/gu, "");
    else out += c;
  }
  return out;
}

export function analyze(text: string, analysis: TextAnalysis): string[][] {
  const input = (analysis === "icu" ? text.normalize("NFD") : text).replace(/\p{M}+/gu, "");
  return (input.match(/[\p{L}\p{N}]+/gu) ?? []).map((t) => {
    const lower = t.toLowerCase();
    if (analysis === "icu") return [lower];
    const folded = asciifold(lower);
    return folded === lower ? [lower] : [lower, folded];
  });
}

/** A document as the adapter sends it (the event and its projection `f`), as OpenSearch would index it. */
export function simDoc(source: LogEvent & { f: Projection }, analysis: TextAnalysis): SimDoc {
  const { f, ...event } = source;
  const fit = (keys: string[]) => keys.filter((k) => k.length <= KEY_CHARS);
  return {
    event,
    keywords: {
      "f.paths": f.paths,
      "f.term": fit(f.term),
      "f.num": f.num,
      "f.str": fit(f.str),
      "f.glob": fit([f.glob]),
      id: [event.id],
      tenant: [event.tenant],
      "timestamp.keyword": [String(event.timestamp)],
    },
    positions: analyze(event.raw, analysis),
  };
}

export function indexDoc(event: LogEvent, analysis: TextAnalysis): SimDoc {
  return simDoc({ ...event, f: project(event) }, analysis);
}

function cmp(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A Lucene wildcard (`*`, `?`, `\` escapes) as an anchored regular expression over code points. */
function wildcardRe(pattern: string, caseInsensitive: boolean): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") re += (pattern[++i] ?? "").replace(/[.*+?^${}()|[\]\\]/gu, "\\$&");
    else if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += ".";
    else re += c.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&");
  }
  return new RegExp(`^${re}$`, caseInsensitive ? "iu" : "u");
}

function one<T>(o: unknown): [string, T] {
  const [entry] = Object.entries(o as Record<string, T>);
  return entry!;
}

export function matches(dsl: Dsl, doc: SimDoc, analysis: TextAnalysis): boolean {
  const [kind, body] = one<Record<string, unknown>>(dsl);
  const values = (field: string) => doc.keywords[field] ?? [];
  switch (kind) {
    case "match_all":
      return true;
    case "match_none":
      return false;
    case "bool": {
      const b = body as { filter?: Dsl[]; must?: Dsl[]; should?: Dsl[]; must_not?: Dsl[]; minimum_should_match?: number };
      if (![...(b.filter ?? []), ...(b.must ?? [])].every((c) => matches(c, doc, analysis))) return false;
      if (b.should && b.should.filter((c) => matches(c, doc, analysis)).length < (b.minimum_should_match ?? 1)) return false;
      return !(b.must_not ?? []).some((c) => matches(c, doc, analysis));
    }
    case "term": {
      const [field, v] = one<unknown>(body);
      if (field === "timestamp") return doc.event.timestamp === v;
      if (typeof v === "object" && v !== null) {
        const { value, case_insensitive } = v as { value: string; case_insensitive?: boolean };
        return values(field).some((x) => (case_insensitive ? x.toLowerCase() === value.toLowerCase() : x === value));
      }
      return values(field).includes(v as string);
    }
    case "prefix": {
      const [field, v] = one<unknown>(body);
      const value = typeof v === "object" && v !== null ? (v as { value: string }).value : (v as string);
      if (field === "raw") return doc.positions.some((alts) => alts.some((t) => t.startsWith(value)));
      return values(field).some((x) => x.startsWith(value));
    }
    case "wildcard": {
      // On a keyword and on a `wildcard` field (f.glob) alike: the pattern matches a whole value.
      const [field, v] = one<{ value: string; case_insensitive?: boolean }>(body);
      const re = wildcardRe(v.value, v.case_insensitive === true);
      return values(field).some((x) => re.test(x));
    }
    case "range": {
      const [field, r] = one<Record<string, string | number>>(body);
      if (field === "timestamp") {
        const t = doc.event.timestamp;
        return (r.gte === undefined || t >= Number(r.gte)) && (r.lte === undefined || t <= Number(r.lte));
      }
      return values(field).some(
        (x) =>
          (r.gt === undefined || cmp(x, String(r.gt)) > 0) &&
          (r.gte === undefined || cmp(x, String(r.gte)) >= 0) &&
          (r.lt === undefined || cmp(x, String(r.lt)) < 0) &&
          (r.lte === undefined || cmp(x, String(r.lte)) <= 0),
      );
    }
    case "match_phrase": {
      const [, v] = one<{ query: string }>(body);
      const query = analyze(v.query, analysis);
      if (query.length === 0) return true;
      for (let i = 0; i + query.length <= doc.positions.length; i++) {
        if (query.every((alts, j) => alts.some((t) => doc.positions[i + j]!.includes(t)))) return true;
      }
      return false;
    }
    default:
      throw new Error(`the simulator does not know ${kind}`);
  }
}
