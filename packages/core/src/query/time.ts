/**
 * Loggly's `from` / `until` search parameters → epoch milliseconds.
 *
 * Accepted forms (surrounding whitespace ignored):
 *  - `now` (any case);
 *  - relative, in the past: `-<n><unit>` with unit `s` seconds, `m` minutes, `h` hours, `d` days (24 h),
 *    `w` weeks (7 d); e.g. `-30s`, `-10m`, `-2h`, `-24h`, `-1d`, `-7d`, `-1w`. Units are lower case only (`-1M`,
 *    months, is rejected: months have no fixed length);
 *  - epoch milliseconds: digits only (`1710072000000`);
 *  - ISO-8601: `YYYY-MM-DD`, optionally followed by `T` (or a space) and `HH:MM`, `HH:MM:SS` or
 *    `HH:MM:SS.fraction` (digits beyond milliseconds are truncated), optionally followed by `Z` or an offset
 *    `±HH:MM` / `±HHMM` / `±HH`. Without an offset the time is UTC. Fields are range-checked (no 2024-02-30).
 * A missing or blank value takes the default: `from` = `-24h`, `until` = `now`.
 */

import { DASH } from "../chars";
import { CodedError, ERROR_CODES } from "../http/coded-error";
import { isoOffsetMinutes, isoWallMs, newIsoScan, scanIso } from "../iso8601";
import { dayExists } from "../time-zone";

/** An invalid `from` / `until` value, or `from` after `until`: answered 400 `UNM_TIME_RANGE` everywhere. */
export class TimeRangeError extends CodedError {
  override name = "TimeRangeError";
  /** Which parameter was wrong, when it is one of them. */
  readonly param: "from" | "until" | undefined;
  constructor(message: string, param?: "from" | "until") {
    super(ERROR_CODES.TIME_RANGE, 400, message);
    this.param = param;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
});

/** The largest time a JS Date can hold. */
const MAX_TIME = 8.64e15;

const RELATIVE = /^-(\d+)([A-Za-z]*)$/;
const EPOCH_MS = /^\d+$/;
const FORMS = "use now, -<n>s|m|h|d|w (e.g. -10m, -24h, -7d), epoch milliseconds or an ISO-8601 date/time (e.g. 2024-03-10T12:00:00Z)";

const two = (n: number): string => String(n).padStart(2, "0");

/**
 * `v` read as an ISO-8601 search time (the forms in the module comment), NaN when it is not one; throws
 * TimeRangeError naming the field when it has the shape but a field is out of range (`2024-02-30`).
 */
function parseIso(v: string): number {
  const iso = newIsoScan();
  if (scanIso(v, 0, v.length, iso) !== v.length || iso.dateSep !== DASH) return NaN;
  const { year, month, day, hour, minute, second } = iso;
  const ys = String(year).padStart(4, "0");
  const bad = (what: string): never => {
    throw new TimeRangeError(`invalid time '${v}': ${what}`);
  };
  if (month < 1 || month > 12) bad(`month ${two(month)} is not 01-12`);
  if (!dayExists(year, month - 1, day)) bad(`day ${two(day)} does not exist in ${ys}-${two(month)}`);
  if (hour > 23) bad(`hour ${two(hour)} is not 00-23`);
  if (minute > 59) bad(`minute ${two(minute)} is not 00-59`);
  if (second > 59) bad(`second ${two(second)} is not 00-59`);
  let offsetMin = 0;
  if (iso.offsetKind >= 2) {
    const { offsetHours: oh, offsetMinutes: om } = iso;
    if (oh > 23 || om > 59) {
      const sign = iso.offsetSign < 0 ? "-" : "+";
      bad(`offset ${sign}${two(oh)}${iso.offsetKind === 3 ? two(om) : ""} is out of range`);
    }
    offsetMin = isoOffsetMinutes(iso);
  }
  return isoWallMs(iso) - offsetMin * 60_000;
}

function parseValue(v: string, now: number): number {
  if (v.toLowerCase() === "now") return now;
  const rel = RELATIVE.exec(v);
  if (rel) {
    const unit = rel[2]!;
    if (unit === "") throw new TimeRangeError(`invalid time '${v}': missing unit; ${FORMS}`);
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) {
      const hint = unit === "M" ? " (m is minutes; months are not supported)" : "";
      throw new TimeRangeError(`invalid time '${v}': unknown unit '${unit}'${hint}; use s, m, h, d or w`);
    }
    const t = now - Number(rel[1]) * unitMs;
    if (!Number.isFinite(t) || Math.abs(t) > MAX_TIME) throw new TimeRangeError(`invalid time '${v}': too far in the past`);
    return t;
  }
  if (EPOCH_MS.test(v)) {
    const t = Number(v);
    if (!Number.isSafeInteger(t) || t > MAX_TIME) throw new TimeRangeError(`invalid time '${v}': epoch milliseconds out of range`);
    return t;
  }
  const ms = parseIso(v);
  if (!Number.isNaN(ms)) return ms;
  throw new TimeRangeError(`invalid time '${v}': ${FORMS}`);
}

/**
 * One time value → epoch ms. `now` is the reference for `now` and relative forms; `fallback` is returned for a
 * missing or blank value. Throws `TimeRangeError` for anything else it cannot read.
 */
export function parseTime(value: string | undefined, now: number, fallback: number): number {
  if (value === undefined) return fallback;
  const v = value.trim();
  if (v === "") return fallback;
  return parseValue(v, now);
}

/**
 * Loggly's `from` (default `-24h`) and `until` (default `now`) → `{ from, until }` in epoch ms, `from <= until`.
 * Throws `TimeRangeError` (with `param`) for an invalid value or when `from` is after `until`.
 */
export function parseTimeRange(from?: string, until?: string, now: number = Date.now()): { from: number; until: number } {
  const one = (param: "from" | "until", value: string | undefined, fallback: number): number => {
    try {
      return parseTime(value, now, fallback);
    } catch (err) {
      if (err instanceof TimeRangeError) throw new TimeRangeError(`${param}: ${err.message}`, param);
      throw err;
    }
  };
  const f = one("from", from, now - UNIT_MS.d!);
  const u = one("until", until, now);
  if (f > u) {
    throw new TimeRangeError(`from (${new Date(f).toISOString()}) is after until (${new Date(u).toISOString()})`, "from");
  }
  return { from: f, until: u };
}
