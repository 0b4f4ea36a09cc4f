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

/** An invalid `from` / `until` value, or `from` after `until`. */
export class TimeRangeError extends Error {
  override readonly name = "TimeRangeError";
  /** Which parameter was wrong, when it is one of them. */
  readonly param: "from" | "until" | undefined;
  constructor(message: string, param?: "from" | "until") {
    super(message);
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
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

const FORMS = "use now, -<n>s|m|h|d|w (e.g. -10m, -24h, -7d), epoch milliseconds or an ISO-8601 date/time (e.g. 2024-03-10T12:00:00Z)";

function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function parseIso(v: string, m: RegExpExecArray): number {
  const [, ys, mos, ds, hs, mis, ss, frac, z, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
  const bad = (what: string): never => {
    throw new TimeRangeError(`invalid time '${v}': ${what}`);
  };
  if (month < 1 || month > 12) bad(`month ${mos} is not 01-12`);
  if (day < 1 || day > daysInMonth(year, month)) bad(`day ${ds} does not exist in ${ys}-${mos}`);
  if (hour > 23) bad(`hour ${hs} is not 00-23`);
  if (minute > 59) bad(`minute ${mis} is not 00-59`);
  if (second > 59) bad(`second ${ss} is not 00-59`);
  let offsetMin = 0;
  if (z === undefined && sign !== undefined) {
    const oh = Number(ohs);
    const om = oms === undefined ? 0 : Number(oms);
    if (oh > 23 || om > 59) bad(`offset ${sign}${ohs}${oms ?? ""} is out of range`);
    offsetMin = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime() - offsetMin * 60_000;
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
  const iso = ISO.exec(v);
  if (iso) return parseIso(v, iso);
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
