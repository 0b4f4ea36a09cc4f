/**
 * Time slices: each tenant's events live in one SQLite file per slice of time, so that a query opens only
 * the files its time range overlaps and retention is deleting whole files. The slice length is a tenant
 * setting (hour for busy tenants, week for quiet ones) and may change over time: a file's name carries
 * its own length and start, so old and new slices coexist.
 *
 *   <root>/<tenant>/hour-2026112605.db   day-20261126.db   week-20261123.db (weeks start on Monday, UTC)
 */
import { SLICE_MS, sliceStart, type SliceLength } from "@unmeltable/core";

export { SLICE_MS, sliceStart, type SliceLength };

export interface Slice {
  length: SliceLength;
  /** Inclusive start and exclusive end, epoch ms. */
  start: number;
  end: number;
  name: string;
}

export function sliceFor(ts: number, length: SliceLength): Slice {
  const start = sliceStart(ts, length);
  return { length, start, end: start + SLICE_MS[length], name: sliceName(length, start) };
}

function sliceName(length: SliceLength, start: number): string {
  const iso = new Date(start).toISOString(); // 2026-11-26T05:00:00.000Z
  const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  return length === "hour" ? `hour-${day}${iso.slice(11, 13)}` : `${length}-${day}`;
}

const NAME = /^(hour|day|week)-(\d{4})(\d{2})(\d{2})(\d{2})?$/;

/** Parses a slice file's base name (without ".db"); undefined when it is not one. */
export function parseSliceName(name: string): Slice | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const length = m[1] as SliceLength;
  if ((length === "hour") !== (m[5] !== undefined)) return undefined;
  const start = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), m[5] ? Number(m[5]) : 0);
  if (Number.isNaN(start)) return undefined;
  return { length, start, end: start + SLICE_MS[length], name };
}

/** Slices among `all` that overlap [from, until] (inclusive), newest first. */
export function overlapping(all: Slice[], from: number, until: number): Slice[] {
  return all.filter((s) => s.start <= until && s.end > from).sort((a, b) => b.start - a.start);
}
