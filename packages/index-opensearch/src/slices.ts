/**
 * Index names: one index per tier domain, tenant and time slice, so a query reads only the indices its
 * time range overlaps and retention deletes whole indices.
 *
 *   <prefix>-<tier>.<tenant>.<length>-<start>      e.g. logs-default.acme.day-20260105
 *                                                       logs-hot.acme-eu.hour-2026010512
 *                                                       logs-default.quiet.week-20260105 (weeks start on Monday, UTC)
 *
 * Dots separate tier, tenant and slice because tenant names may contain "-" and "_" but never "."
 * (core's validateTenantName): with "-" as the separator, `logs-hot-acme-*` would also match the indices
 * of tenant "acme-eu" — wrong for refreshes and deadly for deletes. With dots, `logs-hot.acme.*` is
 * exactly one tenant and `logs-hot.*` exactly one tier (the index template's pattern).
 *
 * Slice lengths are a tenant setting that may change: a name carries its own length and start, so a
 * search computes the names of every length overlapping its range (missing ones are ignored).
 */
import { SLICE_MS, sliceStart, type SliceLength } from "@unmeltable/core";
import { OpenSearchConfigError } from "./errors";

export { SLICE_MS, sliceStart, type SliceLength };

/**
 * The name part of pooled indices where dedicated ones have the tenant: a tenant name never starts with
 * "_" (core's validateTenantName), so `<prefix>-<tier>._pool-…` is no tenant's and `<prefix>-<tier>.*`
 * still matches the whole tier.
 */
export const POOL = "_pool";

export const SLICE_LENGTHS: readonly SliceLength[] = ["hour", "day", "week"];

/** `day-20260105`, `hour-2026010512`, `week-20260105` (the Monday). */
export function sliceName(length: SliceLength, start: number): string {
  const iso = new Date(start).toISOString();
  const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  return length === "hour" ? `hour-${day}${iso.slice(11, 13)}` : `${length}-${day}`;
}

/** Names of tiers and prefixes: lowercase, no dots (see above), valid in an index name. */
const NAME_PART = /^[a-z0-9][a-z0-9_-]*$/;

export class IndexNames {
  constructor(
    readonly prefix: string,
    readonly tier: string,
  ) {
    for (const [what, v] of [
      ["prefix", prefix],
      ["tier", tier],
    ] as const) {
      if (!NAME_PART.test(v)) throw new OpenSearchConfigError(`invalid OpenSearch index ${what} "${v}": lowercase letters, digits, '-' and '_' only`);
    }
  }

  /** The index template's pattern: every index of this tier. */
  get tierPattern(): string {
    return `${this.prefix}-${this.tier}.*`;
  }

  /** Every pooled index of this tier (the pooled index template's pattern). */
  get poolPattern(): string {
    return `${this.prefix}-${this.tier}.${POOL}-*`;
  }

  /** The pooled index of retention class `retentionClass` (days) for the day holding `ts`. */
  poolIndex(retentionClass: number, ts: number): string {
    return `${this.prefix}-${this.tier}.${POOL}-r${retentionClass}.${sliceName("day", sliceStart(ts, "day"))}`;
  }

  /** The pooled indices of every retention class for the day starting at `day` (a tenant's retention, hence its class, may have changed). */
  poolDay(day: number): string {
    return `${this.prefix}-${this.tier}.${POOL}-r*.${sliceName("day", day)}`;
  }

  /** Every index of one tenant. */
  tenantPattern(tenant: string): string {
    return `${this.prefix}-${this.tier}.${tenant}.*`;
  }

  /** The index an event of `tenant` at `ts` goes to. */
  indexFor(tenant: string, ts: number, length: SliceLength): string {
    return `${this.prefix}-${this.tier}.${tenant}.${sliceName(length, sliceStart(ts, length))}`;
  }

  /**
   * The indices a search over [from, until] reads: the names of every slice length overlapping the
   * range, as one comma-separated path part; when that gets longer than an HTTP request line allows
   * (OpenSearch's http.max_initial_line_length is 4 KB: a month of hourly names is ~25 KB), the
   * tenant's pattern instead — the timestamp filter then narrows it and the can_match phase skips the
   * shards outside the range.
   */
  searchTarget(tenant: string, from: number, until: number, maxChars = 2000): { target: string; pattern: boolean } {
    const names: string[] = [];
    let chars = 0;
    for (const length of SLICE_LENGTHS) {
      for (let s = sliceStart(from, length); s <= until; s += SLICE_MS[length]) {
        const name = `${this.prefix}-${this.tier}.${tenant}.${sliceName(length, s)}`;
        chars += name.length + 1;
        if (chars > maxChars) return { target: this.tenantPattern(tenant), pattern: true };
        names.push(name);
      }
    }
    return { target: names.join(","), pattern: false };
  }
}
