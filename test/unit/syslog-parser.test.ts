import { seededRandom } from "../helpers/seeded";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  extractLogglySd,
  FACILITY_NAMES,
  parseSyslog,
  SEVERITY_NAMES,
  type ParseOptions,
  type SyslogMessage,
} from "../../packages/core/src/syslog/parse";

/**
 * Corpus entry. In `expect`, `null` means "this property must be absent", and `timestamp` is written as an ISO
 * string (worked out by hand) that the test converts to epoch ms. `flags` are compared as a set (order is not part
 * of the contract). `loggly` is what extractLogglySd must return; when omitted it must return null.
 */
interface CorpusEntry {
  name: string;
  line: string;
  receivedAt: string;
  peerHost?: string;
  timeZone?: string;
  expect: Record<string, unknown>;
  loggly?: { token: string; tags: string[] } | null;
}

const corpus = JSON.parse(
  readFileSync(new URL("../fixtures/syslog-corpus.json", import.meta.url), "utf8"),
) as CorpusEntry[];

const at = (iso: string): number => Date.parse(iso);

function parse(line: string, receivedAt = "2024-01-02T03:04:05Z", extra: Partial<ParseOptions> = {}): SyslogMessage {
  return parseSyslog(line, { receivedAt: at(receivedAt), ...extra });
}

/** The Loggly element as parseSyslog sees it, shaped like extractLogglySd's answer (for agreement checks). */
function logglyFromParse(msg: SyslogMessage): { token: string; tags: string[] } | null {
  if (msg.format !== "rfc5424") return null;
  for (const el of msg.structuredData) {
    if (el.id.length > 6 && el.id.endsWith("@41058")) {
      return { token: el.id.slice(0, -6), tags: el.params.filter(([n]) => n === "tag").map(([, v]) => v) };
    }
  }
  return null;
}

describe("syslog corpus (test/fixtures/syslog-corpus.json)", () => {
  it("has at least 40 entries with unique names", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((e) => e.name)).size).toBe(corpus.length);
  });

  it.each(corpus)("$name", (entry) => {
    const opts: ParseOptions = { receivedAt: at(entry.receivedAt) };
    if (entry.peerHost !== undefined) opts.peerHost = entry.peerHost;
    if (entry.timeZone !== undefined) opts.timeZone = entry.timeZone;
    const result = parseSyslog(entry.line, opts);

    const { flags, ...fields } = entry.expect;
    const expected: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === null) {
        expect(result, `${key} must be absent`).not.toHaveProperty(key);
      } else {
        expected[key] = key === "timestamp" && typeof value === "string" ? at(value) : value;
      }
    }
    expect(result).toMatchObject(expected);
    if (flags !== undefined) expect([...result.flags].sort()).toEqual([...(flags as string[])].sort());

    expect(extractLogglySd(entry.line)).toEqual(entry.loggly ?? null);
  });

  it("extractLogglySd agrees with parseSyslog on every corpus line", () => {
    for (const entry of corpus) {
      const parsed = parseSyslog(entry.line, { receivedAt: at(entry.receivedAt) });
      expect(extractLogglySd(entry.line), entry.name).toEqual(logglyFromParse(parsed));
    }
  });
});

describe("priority", () => {
  it("exposes Loggly's severity names and the facility keywords", () => {
    // The spec, written out apart from the tables it checks: Loggly's severity names, RFC 5424's facility keywords (section 6.2.1).
    expect(SEVERITY_NAMES).toEqual(["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]);
    expect(FACILITY_NAMES).toHaveLength(24);
    expect(FACILITY_NAMES.slice(0, 16)).toEqual(["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron"]);
    expect(FACILITY_NAMES[16]).toBe("local0");
    expect(FACILITY_NAMES[23]).toBe("local7");
  });

  it("splits PRI into facility and severity at both ends of the range", () => {
    expect(parse("<0>x")).toMatchObject({ priority: 0, facility: 0, severity: 0, facilityName: "kern", severityName: "Emergency" });
    expect(parse("<191>x")).toMatchObject({ priority: 191, facility: 23, severity: 7, facilityName: "local7", severityName: "Debug" });
  });

  it("tolerates leading zeros in PRI", () => {
    expect(parse("<013>hello")).toMatchObject({ format: "pri-only", priority: 13, message: "hello" });
  });

  it.each(["<999>", "<>", "<12", "<1a>", "<192>", "<1234>", "<-1>", "< 13>", "13>"])(
    "treats invalid PRI %j as no PRI and keeps the whole line",
    (pri) => {
      const line = `${pri}Oct 11 22:14:15 host app: x`;
      const m = parse(line);
      expect(m.format).toBe("none");
      expect(m.message).toBe(line);
      expect(m.flags).toContain("no_pri");
      for (const key of ["priority", "facility", "severity", "facilityName", "severityName", "host", "appName", "timestamp"]) {
        expect(m).not.toHaveProperty(key);
      }
    },
  );

  it("PRI with nothing after it is pri-only with an empty message", () => {
    expect(parse("<13>")).toMatchObject({ format: "pri-only", priority: 13, message: "", flags: [] });
  });
});

describe("RFC 5424", () => {
  it("NILVALUEs are absent properties, never '-'", () => {
    const m = parse("<14>1 - - - - - -");
    expect(m).toMatchObject({ format: "rfc5424", version: 1, structuredData: [], message: "", flags: [] });
    for (const key of ["timestamp", "timestampText", "host", "appName", "procid", "msgid"]) expect(m).not.toHaveProperty(key);
  });

  it("keeps milliseconds of fractional seconds (truncated, up to 6 digits)", () => {
    expect(parse("<13>1 2024-01-01T00:00:00.999999Z h a - - -").timestamp).toBe(at("2024-01-01T00:00:00.999Z"));
    expect(parse("<13>1 2024-01-01T00:00:00.1Z h a - - -").timestamp).toBe(at("2024-01-01T00:00:00.100Z"));
    expect(parse("<13>1 2024-01-01T00:00:00.12Z h a - - -").timestamp).toBe(at("2024-01-01T00:00:00.120Z"));
    expect(parse("<13>1 2024-01-01T00:00:00Z h a - - -").timestamp).toBe(at("2024-01-01T00:00:00.000Z"));
  });

  it("applies Z and ±hh:mm offsets", () => {
    const instant = at("2024-06-01T10:00:00Z");
    expect(parse("<13>1 2024-06-01T10:00:00Z h a - - -").timestamp).toBe(instant);
    expect(parse("<13>1 2024-06-01T15:30:00+05:30 h a - - -").timestamp).toBe(instant);
    expect(parse("<13>1 2024-06-01T03:00:00-07:00 h a - - -").timestamp).toBe(instant);
    expect(parse("<13>1 2024-06-01T12:00:00+0200 h a - - -").timestamp).toBe(instant);
    const m = parse("<13>1 2024-06-01T15:30:00+05:30 h a - - -");
    expect(m.timestampText).toBe("2024-06-01T15:30:00+05:30");
    expect(m.flags).toEqual([]);
  });

  it("reads a timestamp without offset in opts.timeZone and flags it", () => {
    const m = parse("<13>1 2024-01-15T10:00:00 h a - - -", "2024-01-15T09:00:00Z", { timeZone: "Europe/Berlin" });
    expect(m.timestamp).toBe(at("2024-01-15T09:00:00Z"));
    expect(m.flags).toEqual(["timezone_assumed"]);
  });

  it("keeps an unusable timestamp as text only", () => {
    const m = parse("<13>1 2024-13-45T99:00:00Z h a - - - msg");
    expect(m).not.toHaveProperty("timestamp");
    expect(m).toMatchObject({ timestampText: "2024-13-45T99:00:00Z", host: "h", appName: "a", message: "msg" });
    expect(m.flags).toEqual(["timestamp_invalid"]);
  });

  it("rejects Feb 29 in a non-leap year instead of rolling it into March", () => {
    const m = parse("<13>1 2023-02-29T00:00:00Z h a - - -");
    expect(m).not.toHaveProperty("timestamp");
    expect(m.flags).toContain("timestamp_invalid");
  });

  it("parses several SD elements concatenated without spaces", () => {
    const m = parse('<13>1 - h a - - [a@1 x="1"][b@2 y="2" z=""][c] tail');
    expect(m.structuredData).toEqual([
      { id: "a@1", params: [["x", "1"]] },
      { id: "b@2", params: [["y", "2"], ["z", ""]] },
      { id: "c", params: [] },
    ]);
    expect(m.message).toBe("tail");
  });

  it('unescapes only \\" \\\\ and \\] in PARAM-VALUE; other backslashes stay literal', () => {
    const m = parse(String.raw`<13>1 - h a - - [x@1 q="say \"hi\"" b="back\\slash" r="a\]b" n="\n\t\x" end="dir\\"] m`);
    expect(m.structuredData[0]!.params).toEqual([
      ["q", 'say "hi"'],
      ["b", String.raw`back\slash`],
      ["r", "a]b"],
      ["n", String.raw`\n\t\x`],
      ["end", "dir\\"],
    ]);
    expect(m.message).toBe("m");
    expect(m.flags).toEqual([]);
  });

  it("does not end an element at a ] inside a value (escaped or not)", () => {
    const m = parse(String.raw`<13>1 - h a - - [x@1 a="[1\]" b="arr[2]"][y@1 c="3"] after`);
    expect(m.structuredData).toEqual([
      { id: "x@1", params: [["a", "[1]"], ["b", "arr[2]"]] },
      { id: "y@1", params: [["c", "3"]] },
    ]);
    expect(m.message).toBe("after");
  });

  it("strips a BOM only at the start of MSG and flags it", () => {
    const m = parse("<13>1 - h a - - - \uFEFFhello \uFEFF world");
    expect(m.message).toBe("hello \uFEFF world");
    expect(m.flags).toEqual(["bom_stripped"]);
    expect(parse("<13>1 - h a - - - hello").flags).toEqual([]);
  });

  it("accepts a message with no MSG part at all", () => {
    expect(parse("<13>1 - h a - -")).toMatchObject({ message: "", structuredData: [] });
    expect(parse('<13>1 - h a - - [x@1 a="1"]')).toMatchObject({ message: "", structuredData: [{ id: "x@1" }] });
    expect(parse('<13>1 - h a - - [x@1 a="1"]\r\n')).toMatchObject({ message: "", structuredData: [{ id: "x@1" }] });
  });

  it("keeps fields in place when template macros expand to nothing (double spaces)", () => {
    const m = parse('<13>1 2024-01-02T03:04:05Z host app  - [tok@41058 tag="x"] msg');
    expect(m).toMatchObject({
      format: "rfc5424",
      host: "host",
      appName: "app",
      structuredData: [{ id: "tok@41058", params: [["tag", "x"]] }],
      message: "msg",
    });
    expect(m).not.toHaveProperty("procid");
    expect(m).not.toHaveProperty("msgid");
    expect(m.flags).toEqual(["empty_header_field"]);

    const empties = parse('<13>1 2024-01-02T03:04:05Z host    [tok@41058] msg');
    expect(empties).toMatchObject({ host: "host", structuredData: [{ id: "tok@41058" }], message: "msg" });
    expect(empties).not.toHaveProperty("appName");
  });

  it("finds SD where a sender omitted trailing header fields", () => {
    const m = parse('<13>1 2024-01-02T03:04:05Z host app - [tok@41058 tag="t"] msg');
    expect(m).toMatchObject({ host: "host", appName: "app", structuredData: [{ id: "tok@41058" }], message: "msg" });
    expect(m).not.toHaveProperty("msgid");
    expect(m.flags).toEqual(["header_short"]);
    expect(extractLogglySd('<13>1 2024-01-02T03:04:05Z host app - [tok@41058 tag="t"] msg')).toEqual({ token: "tok", tags: ["t"] });
  });

  it("keeps good elements and turns a malformed one into MSG", () => {
    const m = parse('<13>1 - h a - - [ok@1 a="1"][bad a=1] rest');
    expect(m.structuredData).toEqual([{ id: "ok@1", params: [["a", "1"]] }]);
    expect(m.message).toBe("[bad a=1] rest");
    expect(m.flags).toEqual(["sd_malformed"]);
  });

  it("falls back to the peer address when HOSTNAME is NILVALUE", () => {
    const m = parse("<13>1 - - a - - - x", undefined, { peerHost: "198.51.100.9" });
    expect(m.host).toBe("198.51.100.9");
    expect(m.flags).toEqual(["host_from_peer"]);
    expect(parse("<13>1 - h a - - - x", undefined, { peerHost: "198.51.100.9" })).toMatchObject({ host: "h", flags: [] });
  });

  it("reads rsyslog's VERSION 0 lines (Loggly's template over imfile / RFC 3164 input) as RFC 5424", () => {
    const line = '<134>0 2026-12-04T16:09:41.687457+00:00 vm myapp - - [tok@41058 tag="rsyslog" tag="file"] hello from imfile';
    expect(parse(line, "2026-12-04T16:09:42Z")).toMatchObject({
      format: "rfc5424",
      version: 0,
      priority: 134,
      timestamp: at("2026-12-04T16:09:41.687Z"),
      host: "vm",
      appName: "myapp",
      structuredData: [{ id: "tok@41058", params: [["tag", "rsyslog"], ["tag", "file"]] }],
      message: "hello from imfile",
      flags: [],
    });
    expect(extractLogglySd(line)).toEqual({ token: "tok", tags: ["rsyslog", "file"] });
    expect(parse("<13>1 2024-01-02T03:04:05Z h a - - - x").version).toBe(1);
  });

  it("takes VERSION 0 only with an RFC 3339 date: other text after '0 ' stays PRI-only", () => {
    expect(parse("<13>0 - h a - - - x")).toMatchObject({ format: "pri-only", message: "0 - h a - - - x" });
    expect(parse("<13>0 2023-10-11 backup done")).toMatchObject({ format: "pri-only", message: "0 2023-10-11 backup done" });
    expect(parse("<13>0 errors found")).toMatchObject({ format: "pri-only", message: "0 errors found" });
    expect(extractLogglySd('<13>0 - h a - - [tok@41058 tag="x"] msg')).toBeNull();
  });

  it("does not take PRI-only text that merely starts with '1 ' for RFC 5424", () => {
    expect(parse("<13>1 2023-10-11 backup done")).toMatchObject({ format: "pri-only", message: "1 2023-10-11 backup done" });
    expect(parse("<13>1 user logged in")).toMatchObject({ format: "pri-only", message: "1 user logged in" });
  });
});

describe("RFC 3164", () => {
  it("reads space-padded and unpadded days", () => {
    const padded = parse("<13>Oct  9 07:05:03 h app: x", "2023-10-09T08:00:00Z");
    expect(padded).toMatchObject({ timestamp: at("2023-10-09T07:05:03Z"), timestampText: "Oct  9 07:05:03", host: "h" });
    const unpadded = parse("<13>Oct 9 07:05:03 h app: x", "2023-10-09T08:00:00Z");
    expect(unpadded).toMatchObject({ timestamp: at("2023-10-09T07:05:03Z"), timestampText: "Oct 9 07:05:03", host: "h" });
  });

  it("infers the year from receivedAt across New Year", () => {
    const lastYear = parse("<13>Dec 31 23:59:59 h app: x", "2024-01-01T00:00:10Z");
    expect(lastYear.timestamp).toBe(at("2023-12-31T23:59:59Z"));
    expect(lastYear.flags).toContain("year_inferred");
    expect(parse("<13>Jan  1 00:00:01 h app: x", "2024-12-31T23:59:50Z").timestamp).toBe(at("2025-01-01T00:00:01Z"));
    expect(parse("<13>Jun 15 12:00:00 h app: x", "2024-06-15T12:00:05Z").timestamp).toBe(at("2024-06-15T12:00:00Z"));
    // Feb 29 only exists in 2024 among 2024..2026.
    expect(parse("<13>Feb 29 12:00:00 h app: x", "2025-03-01T00:00:00Z").timestamp).toBe(at("2024-02-29T12:00:00Z"));
  });

  it("never puts a year-less timestamp more than a day after the receive time", () => {
    // Mar 1 seen in December is this year's, not next year's (three months ahead).
    expect(parse("<13>Mar  1 00:00:10 h app: x", "2024-12-04T10:00:00Z").timestamp).toBe(at("2024-03-01T00:00:10Z"));
    // A day of clock skew (or a sender's zone ahead of UTC) is still believed.
    expect(parse("<13>Dec  5 08:00:00 h app: x", "2024-12-04T10:00:00Z").timestamp).toBe(at("2024-12-05T08:00:00Z"));
    expect(parse("<13>Dec  5 11:00:00 h app: x", "2024-12-04T10:00:00Z").timestamp).toBe(at("2023-12-05T11:00:00Z"));
    // Feb 29 received on Feb 28 of a year after a leap year: the last Feb 29 that was not in the future.
    expect(parse("<13>Feb 29 12:00:00 h app: x", "2027-02-28T00:00:00Z").timestamp).toBe(at("2024-02-29T12:00:00Z"));
    const rnd = seededRandom(11);
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    for (let i = 0; i < 2000; i++) {
      const receivedAt = at("2020-01-01T00:00:00Z") + Math.floor(rnd() * 10 * 365 * 86_400_000);
      const month = Math.floor(rnd() * 12);
      const day = 1 + Math.floor(rnd() * 28);
      const hh = String(Math.floor(rnd() * 24)).padStart(2, "0");
      const line = `<13>${months[month]} ${String(day).padStart(2, " ")} ${hh}:30:00 h app: x`;
      const m = parseSyslog(line, { receivedAt });
      expect(m.timestamp! - receivedAt, line).toBeLessThanOrEqual(86_400_000);
      expect(receivedAt - m.timestamp!, line).toBeLessThan(366 * 86_400_000);
    }
  });

  it("uses UTC by default and opts.timeZone (IANA, DST-aware) when given", () => {
    const line = "<13>Jan 15 10:00:00 h app: x";
    expect(parse(line, "2024-01-15T10:00:00Z").timestamp).toBe(at("2024-01-15T10:00:00Z"));
    expect(parse(line, "2024-01-15T10:00:00Z", { timeZone: "America/New_York" }).timestamp).toBe(at("2024-01-15T15:00:00Z"));
    const summer = "<13>Jul 15 10:00:00 h app: x";
    expect(parse(summer, "2024-07-15T10:00:00Z", { timeZone: "America/New_York" }).timestamp).toBe(at("2024-07-15T14:00:00Z"));
    expect(parse(summer, "2024-07-15T10:00:00Z", { timeZone: "Europe/Berlin" }).timestamp).toBe(at("2024-07-15T08:00:00Z"));
    expect(parse(summer, "2024-07-15T10:00:00Z", { timeZone: "Asia/Kolkata" }).timestamp).toBe(at("2024-07-15T04:30:00Z"));
    expect(parse(line, "2024-01-15T10:00:00Z", { timeZone: "UTC" }).flags).toContain("timezone_assumed");
  });

  it("resolves DST edges like Temporal's 'compatible': earlier instant in an overlap, forward across a gap", () => {
    const ny = { timeZone: "America/New_York" };
    // 01:30 happens twice on 2024-11-03 in New York (EDT, then EST): take the first (EDT, UTC-4).
    expect(parse("<13>Nov  3 01:30:00 h app: x", "2024-11-03T06:00:00Z", ny).timestamp).toBe(at("2024-11-03T05:30:00Z"));
    // 02:30 does not exist on 2024-03-10 in New York: pushed forward to 03:30 EDT.
    expect(parse("<13>Mar 10 02:30:00 h app: x", "2024-03-10T07:00:00Z", ny).timestamp).toBe(at("2024-03-10T07:30:00Z"));
    // Berlin repeats 02:30 on 2024-10-27 (CEST, then CET): the first one is CEST, UTC+2.
    const berlin = { timeZone: "Europe/Berlin" };
    expect(parse("<13>Oct 27 02:30:00 h app: x", "2024-10-27T01:00:00Z", berlin).timestamp).toBe(at("2024-10-27T00:30:00Z"));
    // Ordinary times right next to a transition are unaffected.
    expect(parse("<13>Oct 27 03:30:00 h app: x", "2024-10-27T02:30:00Z", berlin).timestamp).toBe(at("2024-10-27T02:30:00Z"));
    expect(parse("<13>Oct 27 01:30:00 h app: x", "2024-10-27T00:00:00Z", berlin).timestamp).toBe(at("2024-10-26T23:30:00Z"));
  });

  it("falls back to UTC for an unknown time zone and says so", () => {
    const m = parse("<13>Jan 15 10:00:00 h app: x", "2024-01-15T10:00:00Z", { timeZone: "Mars/Olympus_Mons" });
    expect(m.timestamp).toBe(at("2024-01-15T10:00:00Z"));
    expect(m.flags).toEqual(expect.arrayContaining(["timezone_assumed", "timezone_invalid", "year_inferred"]));
  });

  it("takes appName from TAG and procid from [PID]", () => {
    expect(parse("<13>Oct 11 22:14:15 h sshd[4242]: Accepted")).toMatchObject({ appName: "sshd", procid: "4242", message: "Accepted" });
    expect(parse("<13>Oct 11 22:14:15 h sshd: Accepted")).toMatchObject({ appName: "sshd", message: "Accepted" });
    expect(parse("<13>Oct 11 22:14:15 h sshd[4242] Accepted")).toMatchObject({ appName: "sshd", procid: "4242", message: "Accepted" });
    expect(parse("<13>Oct 11 22:14:15 h sshd:")).toMatchObject({ appName: "sshd", message: "" });
  });

  it("tells a missing HOSTNAME from a present one by the tag's trailing ':' or '['", () => {
    const noHost = parse("<13>Oct 11 22:14:15 su[123]: msg", undefined, { peerHost: "192.0.2.5" });
    expect(noHost).toMatchObject({ format: "rfc3164", host: "192.0.2.5", appName: "su", procid: "123", message: "msg" });
    expect(noHost.flags).toContain("host_from_peer");

    const noHostNoPeer = parse("<13>Oct 11 22:14:15 cron: job done");
    expect(noHostNoPeer).toMatchObject({ appName: "cron", message: "job done" });
    expect(noHostNoPeer).not.toHaveProperty("host");

    // An upper-case tag is a tag, not a Cisco zone abbreviation, when the stamp is plain RFC 3164.
    const upperTag = parse("<13>Oct 11 22:14:15 CRON: job done");
    expect(upperTag).toMatchObject({ format: "rfc3164", timestampText: "Oct 11 22:14:15", appName: "CRON", message: "job done" });
    expect(upperTag).not.toHaveProperty("host");

    const withHost = parse("<13>Oct 11 22:14:15 web01 su[123]: msg", undefined, { peerHost: "192.0.2.5" });
    expect(withHost).toMatchObject({ host: "web01", appName: "su", procid: "123" });
    expect(withHost.flags).not.toContain("host_from_peer");
  });

  it("accepts IP addresses as HOSTNAME", () => {
    expect(parse("<13>Oct 11 22:14:15 10.1.2.3 app: x")).toMatchObject({ host: "10.1.2.3", appName: "app", message: "x" });
    expect(parse("<13>Oct 11 22:14:15 fe80::1 app: x")).toMatchObject({ host: "fe80::1", appName: "app", message: "x" });
  });

  it("never takes CONTENT starting with [ for RFC 5424 structured data", () => {
    const m = parse('<13>Oct 11 22:14:15 h app: [exampleSDID@32473 iut="3"] msg');
    expect(m).toMatchObject({ format: "rfc3164", appName: "app", structuredData: [], message: '[exampleSDID@32473 iut="3"] msg' });
    const direct = parse('<13>Oct 11 22:14:15 h [x@41058 tag="a"] msg');
    expect(direct).toMatchObject({ host: "h", structuredData: [], message: '[x@41058 tag="a"] msg' });
    expect(direct).not.toHaveProperty("appName");
    const noHost = parse('<13>Oct 11 22:14:15 [x@41058 tag="a"] msg');
    expect(noHost).toMatchObject({ structuredData: [], message: '[x@41058 tag="a"] msg' });
    expect(noHost).not.toHaveProperty("host");
  });

  it("does not invent a host from text after an invalid timestamp", () => {
    expect(parse("<13>Oct 32 22:14:15 h app: x")).toMatchObject({ format: "pri-only", message: "Oct 32 22:14:15 h app: x" });
    expect(parse("<13>Oct 11 25:14:15 h app: x")).toMatchObject({ format: "pri-only" });
    expect(parse("<13>Foo 11 22:14:15 h app: x")).toMatchObject({ format: "pri-only" });
  });
});

describe("Cisco ASA / IOS", () => {
  it("uses the year written inside the timestamp (no inference)", () => {
    const m = parse("<166>Sep 14 2016 09:33:47 fw01 : %ASA-6-302013: Built", "2024-05-05T00:00:00Z");
    expect(m).toMatchObject({ format: "cisco", timestamp: at("2016-09-14T09:33:47Z"), host: "fw01", appName: "ASA-6-302013" });
    expect(m.message).toBe("%ASA-6-302013: Built");
    expect(m.flags).not.toContain("year_inferred");
  });

  it("handles 'host : %ASA', no host, sequence numbers, sub-seconds and sync markers", () => {
    expect(parse("<166>Sep 14 2016 10:07:20: %ASA-6-302013: Built")).toMatchObject({ format: "cisco", appName: "ASA-6-302013", message: "%ASA-6-302013: Built" });
    expect(parse("<166>Sep 14 2016 10:07:20: %ASA-6-302013: Built")).not.toHaveProperty("host");

    const ios = parse("<189>87117903: 87117909: Nov  5 14:01:19.115: %FMANFP-6-IPACCESSLOGP: SIP0: denied", "2023-11-05T14:01:20Z");
    expect(ios).toMatchObject({ format: "cisco", timestamp: at("2023-11-05T14:01:19.115Z"), appName: "FMANFP-6-IPACCESSLOGP" });
    expect(ios.message).toBe("%FMANFP-6-IPACCESSLOGP: SIP0: denied");

    for (const marker of ["*", "."]) {
      const m = parse(`<189>12: ${marker}Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured`, "2024-03-01T18:46:12Z");
      expect(m).toMatchObject({ format: "cisco", timestamp: at("2024-03-01T18:46:11.123Z"), timestampText: "Mar  1 18:46:11.123" });
      expect(m.flags).toContain("time_unsynced");
    }
  });

  it("dates an unsynced '*Mar  1' clock (no year) in the past, not three months ahead", () => {
    const m = parse("<189>27: *Mar  1 00:01:42.123: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up", "2024-12-04T10:00:00Z");
    expect(m).toMatchObject({ format: "cisco", timestamp: at("2024-03-01T00:01:42.123Z"), appName: "LINK-3-UPDOWN" });
    expect(m.flags).toEqual(expect.arrayContaining(["time_unsynced", "year_inferred"]));
  });

  it("honours an explicit UTC zone and applies opts.timeZone to other abbreviations", () => {
    const utc = parse("<189>1: Jun 21 09:00:01.456 UTC: %LINK-3-UPDOWN: down", "2024-06-21T09:00:02Z", { timeZone: "Europe/Berlin" });
    expect(utc.timestamp).toBe(at("2024-06-21T09:00:01.456Z"));
    expect(utc.flags).not.toContain("timezone_assumed");

    const est = parse("<189>1: Jan 21 09:00:01.456 EST: %LINK-3-UPDOWN: down", "2024-01-21T14:00:02Z", { timeZone: "America/New_York" });
    expect(est).toMatchObject({ timestamp: at("2024-01-21T14:00:01.456Z"), timestampText: "Jan 21 09:00:01.456 EST", appName: "LINK-3-UPDOWN" });
    expect(est.flags).toContain("timezone_assumed");
  });

  it("treats a bare 'name:' before a mnemonic as the device name", () => {
    const m = parse("<189>Nov  5 14:01:19 router1: %SYS-5-CONFIG_I: Configured", "2023-11-05T14:01:20Z");
    expect(m).toMatchObject({ format: "cisco", host: "router1", appName: "SYS-5-CONFIG_I", message: "%SYS-5-CONFIG_I: Configured" });
  });

  it("does not mistake '%%' or a program's own %-text for a mnemonic", () => {
    const m = parse("<13>Oct 11 22:14:15 h myproc[10]: %% done");
    expect(m).toMatchObject({ format: "rfc3164", appName: "myproc", message: "%% done" });
    expect(parse("<13>%% not cisco")).toMatchObject({ format: "pri-only", message: "%% not cisco" });
  });
});

describe("PRI-only and PRI-less input", () => {
  it("keeps headerless text whole and invents no host/app", () => {
    const m = parse("<38>User logged into the appliance");
    expect(m).toMatchObject({ format: "pri-only", priority: 38, message: "User logged into the appliance", flags: [] });
    for (const key of ["host", "appName", "procid", "timestamp", "version"]) expect(m).not.toHaveProperty(key);
  });

  it("keeps FortiGate k=v text whole, with or without PRI", () => {
    const kv = 'date=2023-10-11 time=15:44:14 devname="FG" devid="FGT60E" logid="0000000013" type="traffic"';
    expect(parse(`<189>${kv}`)).toMatchObject({ format: "pri-only", priority: 189, message: kv });
    const bare = parse(kv);
    expect(bare).toMatchObject({ format: "none", message: kv, flags: ["no_pri"] });
    expect(bare).not.toHaveProperty("priority");
  });

  it("uses the peer as host for PRI-less lines", () => {
    expect(parse("plain text", undefined, { peerHost: "192.0.2.1" })).toMatchObject({
      format: "none",
      host: "192.0.2.1",
      flags: ["no_pri", "host_from_peer"],
    });
  });

  it("strips trailing CR/LF/NUL but keeps inner and leading whitespace", () => {
    expect(parse("  indented\tline\r\n").message).toBe("  indented\tline");
    expect(parse("<13>a\nb\n\0").message).toBe("a\nb");
    expect(parse("\r\n")).toMatchObject({ format: "none", message: "" });
    expect(parse("")).toMatchObject({ format: "none", message: "", flags: ["no_pri"] });
  });
});

describe("extractLogglySd", () => {
  const TOKEN = "8bf8cc10-4140-4c3e-a2b4-e6f5324f1aea";

  it("returns the token and tags from the SD position of an RFC 5424 line", () => {
    expect(extractLogglySd(`<34>1 2003-10-11T22:14:15.003Z server1.com sudo - - [${TOKEN}@41058 tag="Rsyslog" tag="prod"] msg`)).toEqual({
      token: TOKEN,
      tags: ["Rsyslog", "prod"],
    });
    expect(extractLogglySd(`<34>1 2003-10-11T22:14:15.003Z server1.com sudo - - [${TOKEN}@41058]`)).toEqual({ token: TOKEN, tags: [] });
  });

  it("tolerates empty header fields from template macros", () => {
    expect(extractLogglySd('<13>1 2024-01-02T03:04:05Z host app  - [tok@41058 tag="x"] msg')).toEqual({ token: "tok", tags: ["x"] });
    expect(extractLogglySd('<13>1 2024-01-02T03:04:05+00:00 host app   [tok@41058 tag="x"] msg')).toEqual({ token: "tok", tags: ["x"] });
    expect(extractLogglySd("<13>1  host app - - [tok@41058] msg")).toEqual({ token: "tok", tags: [] });
  });

  it("finds the Loggly element among other SD elements, ignoring non-tag params", () => {
    const line = '<13>1 - h a - - [timeQuality isSynced="1"][tok@41058 tag="a" env="prod" tag="b"][origin ip="1.2.3.4"] m';
    expect(extractLogglySd(line)).toEqual({ token: "tok", tags: ["a", "b"] });
  });

  it("unescapes tag values", () => {
    expect(extractLogglySd(String.raw`<13>1 - h a - - [tok@41058 tag="a\"b" tag="c\\d" tag="e\]f" tag="g\h"] m`)).toEqual({
      token: "tok",
      tags: ['a"b', String.raw`c\d`, "e]f", String.raw`g\h`],
    });
  });

  it("returns null when there is no @41058 SD-ID", () => {
    expect(extractLogglySd('<13>1 - h a - - [exampleSDID@32473 iut="3"] m')).toBeNull();
    expect(extractLogglySd("<13>1 - h a - - - m")).toBeNull();
    expect(extractLogglySd("<13>1 - h a - - [tok@410580] m")).toBeNull();
    expect(extractLogglySd("<13>1 - h a - - [tok41058] m")).toBeNull();
    expect(extractLogglySd("<13>1 - h a - - [@41058] m")).toBeNull();
    expect(extractLogglySd("")).toBeNull();
  });

  it("only counts the SD position: a token in MSG or in 3164 CONTENT is not a token", () => {
    // The Loggly SD-ID appears only inside MSG after a NILVALUE SD.
    expect(extractLogglySd('<13>1 - h a - - - [tok@41058 tag="x"] m')).toBeNull();
    // RFC 3164 line whose CONTENT starts with the SD right after the header: still CONTENT (decision documented
    // on extractLogglySd: Loggly accepts only RFC 5424 headers, and logged text must not pick the tenant).
    expect(extractLogglySd('<13>Oct 11 22:14:15 h app: [tok@41058 tag="x"] m')).toBeNull();
    expect(extractLogglySd('<13>Oct 11 22:14:15 h [tok@41058 tag="x"] m')).toBeNull();
    expect(extractLogglySd('<13>Oct 11 22:14:15 h app: later text [tok@41058 tag="x"]')).toBeNull();
    // PRI-only, no PRI, and an octet-count frame prefix that the transport should have removed.
    expect(extractLogglySd('<13>[tok@41058 tag="x"] m')).toBeNull();
    expect(extractLogglySd('[tok@41058 tag="x"] m')).toBeNull();
    expect(extractLogglySd('42 <13>1 - h a - - [tok@41058 tag="x"] m')).toBeNull();
  });

  it("returns the token with the tags read so far when the Loggly element itself is damaged", () => {
    expect(extractLogglySd('<13>1 - h a - - [tok@41058 tag="a" tag="b] m')).toEqual({ token: "tok", tags: ["a"] });
    expect(extractLogglySd('<13>1 - h a - - [tok@41058 tag=b] m')).toEqual({ token: "tok", tags: [] });
  });

  it("stops at a malformed element before the Loggly one", () => {
    expect(extractLogglySd('<13>1 - h a - - [x@1 a="1][tok@41058 tag="t"] m')).toBeNull();
  });

  it("ignores framing leftovers at the end of the line", () => {
    expect(extractLogglySd('<13>1 - h a - - [tok@41058 tag="t"]\r\n')).toEqual({ token: "tok", tags: ["t"] });
  });
});

describe("robustness", () => {
  const rng = seededRandom;

  const ALPHABET = [
    ..."<>[]\"\\=@:%*.- 0123456789TZ+",
    ..."abcxyzOctJanDec",
    "\uFEFF",
    "\r",
    "\n",
    "\0",
    "\t",
    "\uD800", // lone surrogate
    "é",
    "1 ",
    "@41058",
    'tag="',
    "Oct 11 22:14:15 ",
    "2024-01-02T03:04:05Z ",
    "%ASA-4-106023: ",
    "123: ",
  ];
  const SEEDS = [...corpus.map((e) => e.line), "<13>1 - - - - - -", '<13>1 2024-01-02T03:04:05Z host app  - [tok@41058 tag="x"] msg'];
  const ZONES = [undefined, "UTC", "America/New_York", "Asia/Kathmandu", "Not/AZone", ""];
  const FORMATS = new Set(["rfc5424", "rfc3164", "cisco", "pri-only", "none"]);

  function mutate(line: string, next: () => number): string {
    const pick = (n: number) => Math.floor(next() * n);
    let out = line;
    const ops = 1 + pick(4);
    for (let i = 0; i < ops; i++) {
      const pos = pick(out.length + 1);
      switch (pick(5)) {
        case 0:
          out = out.slice(0, pos) + ALPHABET[pick(ALPHABET.length)] + out.slice(pos);
          break;
        case 1:
          out = out.slice(0, pos) + out.slice(pos + 1 + pick(8));
          break;
        case 2:
          out = out.slice(0, pos);
          break;
        case 3:
          out = out.slice(0, pos) + ALPHABET[pick(ALPHABET.length)] + out.slice(pos + 1);
          break;
        default:
          out = out.slice(0, pos) + out.slice(pick(out.length + 1)) + out.slice(pos);
      }
    }
    return out;
  }

  function randomLine(next: () => number): string {
    const parts: string[] = [];
    const n = Math.floor(next() * 40);
    for (let i = 0; i < n; i++) parts.push(ALPHABET[Math.floor(next() * ALPHABET.length)]!);
    return parts.join("");
  }

  it("never throws on 5,000 random and mutated lines, and results stay well-formed", () => {
    const next = rng(0x5eed);
    for (let i = 0; i < 5000; i++) {
      const line =
        i % 2 === 0 ? mutate(SEEDS[Math.floor(next() * SEEDS.length)]!, next) : randomLine(next);
      const opts: ParseOptions = { receivedAt: at("2024-06-15T12:00:00Z") + Math.floor(next() * 1e10) - 5e9 };
      const zone = ZONES[Math.floor(next() * ZONES.length)];
      if (zone !== undefined) opts.timeZone = zone;
      if (next() < 0.3) opts.peerHost = "192.0.2.77";

      let m: SyslogMessage;
      let sd: ReturnType<typeof extractLogglySd>;
      try {
        m = parseSyslog(line, opts);
        sd = extractLogglySd(line);
      } catch (err) {
        throw new Error(`threw on ${JSON.stringify(line)}: ${String(err)}`);
      }
      const ctx = JSON.stringify(line);
      expect(FORMATS.has(m.format), ctx).toBe(true);
      expect(typeof m.message, ctx).toBe("string");
      expect(Array.isArray(m.flags) && Array.isArray(m.structuredData), ctx).toBe(true);
      if (m.priority !== undefined) expect(m.priority >= 0 && m.priority <= 191, ctx).toBe(true);
      if (m.timestamp !== undefined) expect(Number.isFinite(m.timestamp), ctx).toBe(true);
      if (m.format === "none") expect(m.priority, ctx).toBeUndefined();
      for (const key of ["host", "appName", "procid", "msgid"] as const) {
        if (m[key] !== undefined && m.format === "rfc5424") expect(m[key], ctx).not.toBe("-");
      }
      if (sd !== null) {
        expect(typeof sd.token === "string" && sd.token.length > 0, ctx).toBe(true);
        expect(Array.isArray(sd.tags), ctx).toBe(true);
      }
      // Whenever the parser read the SD cleanly, the fast path must agree with it.
      if (!m.flags.includes("sd_malformed")) expect(sd, ctx).toEqual(logglyFromParse(m));
    }
  });

  it("never throws on non-string input or missing options", () => {
    expect(() => parseSyslog(undefined as unknown as string, undefined as unknown as ParseOptions)).not.toThrow();
    expect(() => parseSyslog(12345 as unknown as string, { receivedAt: Number.NaN })).not.toThrow();
    expect(extractLogglySd(null as unknown as string)).toBeNull();
    expect(parseSyslog("<13>Oct 11 22:14:15 h a: x", { receivedAt: Number.NaN }).format).toBe("rfc3164");
  });
});
