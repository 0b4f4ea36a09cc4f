/**
 * Numeric aggregates of a field (min, max, average, sum, percentiles) over the events of a search: what
 * the field browser shows beside a numeric field's top values and a dashboard's single value draws.
 *
 * Both index engines hand this tally each event's distinct numeric values of the field (a JSON number,
 * or a string that reads as one, as ranges compare them: `json.ms:>500` and the average agree); the
 * statistics are computed here, once, so both answer alike. An event counts once per distinct value,
 * which is what OpenSearch's terms aggregation counts too. Percentiles are nearest-rank: the smallest
 * value that at least p % of the values are at or below (always a value that occurs).
 */
import type { NumericStats } from "../event";
export type { NumericStats } from "../event";

export class NumericTally {
  private readonly counts = new Map<number, number>();
  private total = 0;

  /** `n` events with this value (a finite number). */
  add(value: number, n = 1): void {
    if (!Number.isFinite(value) || n <= 0) return;
    const v = value === 0 ? 0 : value; // -0 and 0 are one value
    this.counts.set(v, (this.counts.get(v) ?? 0) + n);
    this.total += n;
  }

  /** Adds another tally's values (the tiers of one search). */
  merge(other: NumericTally): void {
    for (const [v, n] of other.counts) this.add(v, n);
  }

  get distinct(): number {
    return this.counts.size;
  }

  stats(exact: boolean): NumericStats {
    if (this.total === 0) return { count: 0, min: null, max: null, avg: null, sum: null, p50: null, p95: null, p99: null, exact };
    const values = [...this.counts.keys()].sort((a, b) => a - b);
    let sum = 0;
    for (const v of values) sum += v * this.counts.get(v)!;
    const percentile = (p: number): number => {
      const rank = Math.max(1, Math.ceil((p / 100) * this.total));
      let seen = 0;
      for (const v of values) {
        seen += this.counts.get(v)!;
        if (seen >= rank) return v;
      }
      return values[values.length - 1]!;
    };
    return { count: this.total, min: values[0]!, max: values[values.length - 1]!, avg: sum / this.total, sum, p50: percentile(50), p95: percentile(95), p99: percentile(99), exact };
  }
}

/** A field value as a number for the aggregates: numbers, and strings that read as numbers; else undefined. */
export function numericValue(v: unknown, isNumericText: (s: string) => boolean): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && isNumericText(v.trim())) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
