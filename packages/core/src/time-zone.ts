/**
 * Wall-clock to UTC conversion for timestamps written without a UTC offset (`2024-01-01 10:00:00`), read in
 * an IANA zone (ToEventOptions.timeZone, default UTC).
 *
 * Used by the syslog parser (RFC 3164 stamps) and the event parser. The zone's offset is looked up with Intl
 * once per 15-minute UTC bucket and cached, and DST edges resolve like Temporal's "compatible"
 * disambiguation (a repeated wall time takes the earlier instant, a skipped one moves forward).
 */

export interface Zone {
  /** null for UTC: no Intl round trip needed. */
  fmt: Intl.DateTimeFormat | null;
  /** Offset (ms) per 15-minute UTC bucket. */
  offsets: Map<number, number>;
}

export const UTC_ZONE: Zone = { fmt: null, offsets: new Map() };
const zones = new Map<string, Zone | null>();
const QUARTER_HOUR = 900_000;
const DAY = 86_400_000;

/** Resolves an IANA zone name once (cached); null when Intl rejects it (callers fall back to UTC). */
export function resolveZone(name: string): Zone | null {
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  let zone: Zone | null = UTC_ZONE;
  const upper = name.toUpperCase();
  if (upper !== "UTC" && upper !== "GMT" && upper !== "Z" && upper !== "ETC/UTC" && upper !== "ETC/GMT") {
    try {
      const fmt = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
      zone = { fmt, offsets: new Map() };
    } catch {
      zone = null;
    }
  }
  // Names come from configuration; the cap only guards against misuse with arbitrary strings.
  if (zones.size > 256) zones.clear();
  zones.set(name, zone);
  return zone;
}

/** The zone for an IANA name; UTC for undefined, "", UTC aliases and names Intl rejects. */
export function zoneFor(name: string | undefined): Zone {
  if (name === undefined || name === "") return UTC_ZONE;
  return resolveZone(name) ?? UTC_ZONE;
}

/**
 * Epoch ms of a proleptic-Gregorian wall time read as UTC (`mo` 0-based). Integer arithmetic (H. Hinnant's
 * days_from_civil) instead of Date.UTC: cheaper, and no special case for years < 100.
 */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const m = mo + 1;
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when day `d` exists in month `mo` (0-based) of year `y`. */
export function dayExists(y: number, mo: number, d: number): boolean {
  if (d < 1 || mo < 0 || mo > 11) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (mo === 1 && leap ? 29 : DAYS_IN_MONTH[mo]!);
}

function zoneOffset(zone: Zone, utc: number): number {
  const fmt = zone.fmt;
  if (fmt === null) return 0;
  const bucket = Math.floor(utc / QUARTER_HOUR);
  const cached = zone.offsets.get(bucket);
  if (cached !== undefined) return cached;
  const at = bucket * QUARTER_HOUR;
  let y = 1970;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const part of fmt.formatToParts(at)) {
    const v = Number(part.value);
    if (part.type === "year") y = v;
    else if (part.type === "month") mo = v;
    else if (part.type === "day") d = v;
    else if (part.type === "hour") h = v % 24; // some ICU builds print midnight as "24" even with h23
    else if (part.type === "minute") mi = v;
    else if (part.type === "second") s = v;
  }
  const offset = utcMs(y, mo - 1, d, h, mi, s, 0) - at;
  if (zone.offsets.size > 4096) zone.offsets.clear();
  zone.offsets.set(bucket, offset);
  return offset;
}

/** The UTC instant of wall time `wall` (a wall clock reading expressed as if it were UTC ms) in `zone`. */
export function wallToUtc(wall: number, zone: Zone): number {
  if (zone.fmt === null || !Number.isFinite(wall)) return wall;
  try {
    const before = zoneOffset(zone, wall - DAY);
    const after = zoneOffset(zone, wall + DAY);
    const early = wall - before;
    const earlyOk = zoneOffset(zone, early) === before;
    if (before === after) return earlyOk ? early : wall - zoneOffset(zone, early);
    const late = wall - after;
    const lateOk = zoneOffset(zone, late) === after;
    if (earlyOk && lateOk) return Math.min(early, late);
    if (lateOk && !earlyOk) return late;
    return early; // in the gap: the pre-transition offset lands after the jump
  } catch {
    return wall; // formatToParts rejects instants outside the Date range; such a stamp is read as UTC
  }
}
