import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { leadingTimestamp, parseIsoString, timestampValue } from "../../packages/core/src/process/timestamps";
import { parseTime } from "../../packages/core/src/query/time";
import { parseSyslog } from "../../packages/core/src/syslog/parse";

/**
 * Characterization of the three ISO-8601 readers (issue 15): each caller accepts a different dialect, and sharing
 * one scanner must not change what any of them accepts or refuses.
 *
 * test/fixtures/iso8601-callers.json was recorded from the three separate parsers (syslog/parse.ts parseRfc3339,
 * process/timestamps.ts parseIsoAt, query/time.ts parseIso) before they were merged, and its rows were checked by
 * hand against their documented grammars. Per stamp and zone (UTC, America/New_York) it holds:
 * - `isoString`: parseIsoString(stamp) (a field that is nothing but a time);
 * - `leading`: leadingTimestamp(`${stamp} text`) (a time that starts a message);
 * - `syslog5424`: the TIMESTAMP of `<14>1 ${stamp} host app - - - msg`, and the time flags it raised;
 * - `syslogBsd`: format, time and host of rsyslog's ISO-in-3164 line `<14>${stamp} host app: msg`;
 * - `timestampValue`: a JSON field's value; `query`: Loggly's from/until (the time, or the error message).
 * Times are ISO strings; null = refused.
 */
interface Row {
  s: string;
  [key: string]: string | null;
}

const rows = JSON.parse(readFileSync(new URL("../fixtures/iso8601-callers.json", import.meta.url), "utf8")) as Row[];
const RECEIVED = Date.parse("2024-03-16T00:00:00Z");
const show = (ms: number | undefined): string | null => (ms === undefined || Number.isNaN(ms) ? null : new Date(ms).toISOString());
const zones: [key: string, zone: string | undefined][] = [
  ["UTC", undefined],
  ["NY", "America/New_York"],
];

describe("ISO-8601: every caller keeps its dialect", () => {
  it("the fixture covers accepted and refused stamps for every caller", () => {
    expect(rows.length).toBeGreaterThan(60);
    for (const key of ["isoStringUTC", "leadingUTC", "syslog5424UTC", "query"]) {
      expect(rows.some((r) => r[key] === null || r[key]!.startsWith("invalid"))).toBe(true);
      expect(rows.some((r) => r[key] !== null && !r[key]!.startsWith("invalid"))).toBe(true);
    }
  });

  for (const row of rows) {
    it(JSON.stringify(row.s), () => {
      for (const [k, zone] of zones) {
        expect(show(parseIsoString(row.s, zone)), `parseIsoString ${k}`).toBe(row[`isoString${k}`]);
        expect(show(leadingTimestamp(`${row.s} text`, zone)), `leadingTimestamp ${k}`).toBe(row[`leading${k}`]);
        const m = parseSyslog(`<14>1 ${row.s} host app - - - msg`, { receivedAt: RECEIVED, timeZone: zone });
        expect(show(m.timestamp), `syslog 5424 ${k}`).toBe(row[`syslog5424${k}`]);
        expect(m.flags.filter((f) => f.startsWith("time")).sort().join(","), `syslog 5424 flags ${k}`).toBe(row[`syslog5424Flags${k}`]);
        const b = parseSyslog(`<14>${row.s} host app: msg`, { receivedAt: RECEIVED, timeZone: zone });
        expect(`${b.format} ${show(b.timestamp) ?? "-"} ${b.host ?? "-"}`, `syslog 3164 ${k}`).toBe(row[`syslogBsd${k}`]);
      }
      expect(show(timestampValue(row.s, undefined)), "timestampValue").toBe(row.timestampValue);
      let query: string | null;
      try {
        query = show(parseTime(row.s, 0, -1));
      } catch (e) {
        query = (e as Error).message;
      }
      expect(query, "query parseTime").toBe(row.query);
    });
  }
});
