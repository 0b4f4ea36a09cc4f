/**
 * Syslog timestamps that are not BSD's `Mmm dd hh:mm:ss` (bsd.ts): the RFC 3339 TIMESTAMP of RFC 5424, which
 * rsyslog also puts into 3164-style lines, read with the shared ISO-8601 scanner (../iso8601.ts); and the zone
 * assumed for a stamp without an offset.
 */
import { COMMA, DASH, SP } from "../chars";
import { isoDateTimeValid, isoOffsetMinutes, isoWallMs, newIsoScan, scanIso, type IsoScan } from "../iso8601";
import { resolveZone, UTC_ZONE, wallToUtc, type Zone } from "../time-zone";
import type { ParseOptions, SyslogMessage } from "./message";

/** Zone for timestamps without an offset: opts.timeZone (default UTC); an unknown name is flagged and treated as UTC. */
export function assumedZone(msg: SyslogMessage, opts: ParseOptions): Zone {
  msg.flags.push("timezone_assumed");
  const name = opts.timeZone;
  if (name === undefined || name === "") return UTC_ZONE;
  const zone = resolveZone(name);
  if (zone === null) {
    msg.flags.push("timezone_invalid");
    return UTC_ZONE;
  }
  return zone;
}

/**
 * Parses `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm|±hhmm)?` spanning exactly line[s, e).
 * Returns the scan (wall time: isoWallMs, offset: isoOffsetMinutes, NaN when none), or null when invalid.
 * Lenient where real senders deviate harmlessly: lowercase `t`/`z`, more than 6 fraction digits (.NET emits 7),
 * `±hhmm` without colon, and no offset at all (caller applies the assumed zone). Not RFC 3339: a space for `T`,
 * `/` in the date, a `,` fraction, missing seconds, `±hh` alone.
 */
export function parseRfc3339(line: string, s: number, e: number): IsoScan | null {
  const iso = newIsoScan();
  if (
    scanIso(line, s, e, iso) !== e ||
    iso.dateSep !== DASH ||
    iso.timeSep === SP ||
    iso.second < 0 ||
    iso.fractionSep === COMMA ||
    iso.offsetKind === 2 ||
    iso.offsetHours > 23 ||
    iso.offsetMinutes > 59 ||
    !isoDateTimeValid(iso)
  ) {
    return null;
  }
  return iso;
}

/** Stores an RFC 3339 timestamp field line[s, e) on the message (text always, epoch ms when usable). */
export function applyRfc3339(line: string, s: number, e: number, msg: SyslogMessage, opts: ParseOptions): void {
  msg.timestampText = line.slice(s, e);
  const iso = parseRfc3339(line, s, e);
  if (iso === null) {
    msg.flags.push("timestamp_invalid");
    return;
  }
  const wall = isoWallMs(iso);
  const offset = isoOffsetMinutes(iso);
  msg.timestamp = Number.isNaN(offset) ? wallToUtc(wall, assumedZone(msg, opts)) : wall - offset * 60_000;
}
