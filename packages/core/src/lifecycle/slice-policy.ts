/**
 * Index time slices follow volume (Loggly's lesson: indices are time series per customer, sliced by
 * volume): each slice should come out near a target size — 30-50 GB per shard on OpenSearch — so a
 * 100,000 events/s tenant gets hourly slices and a 10 events/s tenant weekly ones. Retention then
 * deletes whole slices, and a query opens only the slices its time range overlaps.
 */
export type SliceLength = "hour" | "day" | "week";

export const SLICE_MS: Record<SliceLength, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

export interface SlicePlanInput {
  /** Observed volume in bytes per day (index size growth, or events/day × average event size). */
  bytesPerDay: number;
  /** The size one slice should reach, in bytes. */
  targetBytes: number;
}

/** The longest slice length whose expected size stays within the target; hour at the least. */
export function planSliceLength({ bytesPerDay, targetBytes }: SlicePlanInput): SliceLength {
  if (!(bytesPerDay > 0)) return "week";
  if (bytesPerDay * 7 <= targetBytes) return "week";
  if (bytesPerDay <= targetBytes) return "day";
  return "hour";
}

/** Slice starts of a length covering [from, until): weeks start on Monday (UTC). */
export function sliceStart(ts: number, length: SliceLength): number {
  const size = SLICE_MS[length];
  const origin = length === "week" ? 4 * 86_400_000 : 0; // 1970-01-05 was a Monday
  return Math.floor((ts - origin) / size) * size + origin;
}

/** Whether a slice ending at `end` is past a retention of `retentionDays` at time `now`. */
export function isExpired(end: number, retentionDays: number, now: number): boolean {
  return end <= now - retentionDays * 86_400_000;
}
