import type { FacetTerm } from "../ports/index";

type Term = string | number | boolean;

/**
 * The key a facet counts a value under: what a term query compares (match.ts: `String(leaf)` lower-cased).
 * So `ERROR`, `Error` and `error` are one facet term, as `json.level:error` finds all three, and clicking a
 * facet term finds the events it counted.
 */
export function facetKey(term: Term): string {
  return String(term).toLowerCase();
}

interface Entry {
  count: number;
  /** The spellings seen (`500` and `"500"` are two), each with its count: the most frequent one is shown. */
  spellings: { term: Term; count: number }[];
}

/** Spellings remembered per term; any further one is counted in the term but never shown. */
const MAX_SPELLINGS = 8;

export interface FacetTallyLimits {
  /** Distinct terms counted at most; a value that would be one more is turned away (see `complete`). */
  maxTerms: number;
  /** Characters of distinct terms kept at most (values can be long texts). */
  maxChars: number;
}

export const FACET_TALLY_LIMITS: FacetTallyLimits = { maxTerms: 100_000, maxChars: 16 * 1024 * 1024 };

/** Counts facet terms by `facetKey`, in bounded memory. */
export class FacetTally {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  /** False once a value was turned away because the tally was full: `distinct` is then a lower bound. */
  complete = true;

  constructor(private readonly limits: FacetTallyLimits = FACET_TALLY_LIMITS) {}

  add(term: Term, count = 1): void {
    const key = facetKey(term);
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.limits.maxTerms || this.chars + key.length > this.limits.maxChars) {
        this.complete = false;
        return;
      }
      e = { count: 0, spellings: [] };
      this.entries.set(key, e);
      this.chars += key.length;
    }
    e.count += count;
    const s = e.spellings.find((x) => x.term === term);
    if (s) s.count += count;
    else if (e.spellings.length < MAX_SPELLINGS) e.spellings.push({ term, count });
  }

  /** Distinct terms counted. */
  get distinct(): number {
    return this.entries.size;
  }

  /** The `size` biggest terms, biggest first (ties in key order), each in its most frequent spelling. */
  top(size: number): FacetTerm[] {
    const all = [...this.entries].sort(([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0));
    return all.slice(0, size).map(([, e]) => {
      let best = e.spellings[0]!;
      for (const s of e.spellings) if (s.count > best.count) best = s;
      return { term: best.term, count: e.count };
    });
  }
}
