/**
 * Hand-written syslog parser: RFC 5424, RFC 3164 (BSD), Cisco ASA/IOS, PRI-only and PRI-less lines.
 *
 * Design goals (the formats: RFC 5424 https://www.rfc-editor.org/rfc/rfc5424, RFC 3164
 * https://www.rfc-editor.org/rfc/rfc3164; what real senders emit: test/fixtures/syslog-corpus.json):
 * - never throws: every malformed input degrades to a less specific format and keeps the text in `message`;
 * - cheap: index arithmetic, `indexOf` and `slice` only; no regular expressions, no per-character string building
 *   except when an SD-PARAM value actually contains an escape;
 * - tolerant of what real senders emit (empty template macros, missing HOSTNAME, unescaped `]` in SD values,
 *   Cisco sequence numbers and time-sync markers, FortiGate k=v after PRI), but never invents a host or app
 *   from the first word of a headerless message.
 *
 * Flags that may appear in `SyslogMessage.flags` (order is not significant):
 * - `no_pri`              the line had no valid `<PRI>`; format "none", whole line is the message
 * - `bom_stripped`        a UTF-8 BOM (U+FEFF) at the start of MSG/CONTENT was removed
 * - `year_inferred`       RFC 3164/Cisco timestamp without year; the latest year that puts it at most a day after
 *                         `receivedAt` (never months into the future)
 * - `timezone_assumed`    the timestamp carried no UTC offset; `opts.timeZone` (default UTC) was applied
 * - `timezone_invalid`    `opts.timeZone` is not a zone Intl knows; UTC was used instead
 * - `timestamp_invalid`   a timestamp field was present but unusable; `timestampText` keeps it, `timestamp` absent
 * - `host_from_peer`      the message had no HOSTNAME; `opts.peerHost` was used
 * - `empty_header_field`  an RFC 5424 header field was empty (double space, e.g. syslog-ng `${PID}` empty)
 * - `header_short`        the RFC 5424 header ended early (line ended, or SD started where a field was expected)
 * - `sd_missing`          RFC 5424 line with text where STRUCTURED-DATA (`-` or `[`) must be; taken as MSG
 * - `sd_malformed`        an SD-ELEMENT could not be parsed; it and everything after it became MSG
 * - `time_unsynced`       Cisco `*` / `.` marker: the device clock is not (or no longer) NTP-synchronised
 * - `parse_error`         internal safety net fired (should never happen); message = the raw line
 */

import { LBRACKET } from "../chars";
import { parseBsdFamily } from "./bsd";
import type { ParseOptions, SyslogMessage } from "./message";
import { applyPriority, priCloseIndex } from "./pri";
import { looks5424, parse5424, walk5424Header } from "./rfc5424";
import { LOGGLY_SD_SUFFIX, scanSdId, scanSdParams } from "./structured-data";
import { contentEnd, readDigits, setMessage } from "./text";

export { YEAR_INFERENCE_SKEW_MS } from "./bsd";
export { FACILITY_NAMES, SEVERITY_NAMES } from "./message";
export type { ParseOptions, SdElement, SyslogFormat, SyslogMessage } from "./message";

function parseUnsafe(line: string, opts: ParseOptions): SyslogMessage {
  const end = contentEnd(line);
  const msg: SyslogMessage = { format: "none", structuredData: [], message: "", flags: [] };
  const gt = priCloseIndex(line, end);
  if (gt < 0) {
    // No (valid) PRI: files written by daemons, FortiGate k=v without PRI, garbage. RFC 3164 §4.3 says a relay
    // would treat the whole packet as CONTENT; we do the same but do not invent a PRI (priority stays absent).
    msg.flags.push("no_pri");
    setMessage(line, 0, end, msg);
  } else {
    applyPriority(msg, readDigits(line, 1, gt - 1, end));
    const p = gt + 1;
    if (looks5424(line, p, end)) {
      parse5424(line, p + 2, end, msg, opts);
    } else if (!parseBsdFamily(line, p, end, msg, opts)) {
      // PRI followed by something that is no known header (`<38>User logged in`, `<189>date=... devname=...`):
      // keep it all as the message. Taking the first word as host/tag is the rsyslog#5098 bug.
      msg.format = "pri-only";
      setMessage(line, p, end, msg);
    }
  }
  if (msg.host === undefined && opts.peerHost) {
    msg.host = opts.peerHost;
    msg.flags.push("host_from_peer");
  }
  return msg;
}

/**
 * Parses one syslog message (framing already removed by the transport). Never throws.
 * See the module comment for the flags; absent fields are absent properties, never `undefined` or `"-"`.
 */
export function parseSyslog(line: string, opts: ParseOptions): SyslogMessage {
  const text = typeof line === "string" ? line : String(line);
  const options: ParseOptions = opts ?? { receivedAt: Date.now() };
  try {
    return parseUnsafe(text, options);
  } catch {
    // Defensive only: the parser is written not to throw, but one bad record must never stop a pipeline.
    return { format: "none", structuredData: [], message: text, flags: ["parse_error"] };
  }
}

/**
 * Fast path used by the collector on every message (must be cheap: no full parse).
 * Finds Loggly's SD element `[TOKEN@41058 tag="a" tag="b"]` in the structured-data position of the line and
 * returns the token and the tag values (unescaped), or null when there is none.
 *
 * Decisions:
 * - Only the RFC 5424 STRUCTURED-DATA position counts (Loggly accepts only RFC 5424 headers:
 *   https://documentation.solarwinds.com/en/success_center/loggly/content/admin/streaming-syslog-without-using-files.htm; also
 *   rsyslog's VERSION 0 lines, see looks5424). The
 *   header is walked exactly like parseSyslog does, so empty template fields (double spaces) and omitted trailing
 *   header fields are tolerated and both functions always agree on where SD is.
 * - RFC 3164 / Cisco / PRI-only lines never yield a token, even if their content starts with `[x@41058 ...]`
 *   right after the header: that text is CONTENT (vector#7796), and honouring it would let any program that logs
 *   a bracketed string choose the tenant.
 * - The Loggly element may be any element of the SD (not only the first); the first `@41058` element wins.
 * - The SD-ID must end in exactly `@41058` with a non-empty token before it; the token is not validated here.
 * - If the Loggly element's params are malformed (e.g. an unterminated quote), the token is still returned with the
 *   tags parsed up to the damage: the SD-ID itself was intact, and dropping the event would lose customer data.
 *   A malformed element *before* the Loggly one ends the scan (its extent is unknown) and yields null.
 * - Tag values are returned verbatim (after unescaping), including empty ones; validating tag syntax is the
 *   caller's job. The line is expected without transport framing (no octet count), like parseSyslog's input.
 */
export function extractLogglySd(line: string): { token: string; tags: string[] } | null {
  try {
    if (typeof line !== "string") return null;
    const end = contentEnd(line);
    const gt = priCloseIndex(line, end);
    if (gt < 0 || !looks5424(line, gt + 1, end)) return null;
    let p = walk5424Header(line, gt + 3, end).sdStart;
    while (p < end && line.charCodeAt(p) === LBRACKET) {
      const idStart = p + 1;
      const idEnd = scanSdId(line, idStart, end);
      if (idEnd < 0) return null;
      const suffixStart = idEnd - LOGGLY_SD_SUFFIX.length;
      if (suffixStart > idStart && line.startsWith(LOGGLY_SD_SUFFIX, suffixStart)) {
        const tags: string[] = [];
        scanSdParams(line, idEnd, end, null, tags);
        return { token: line.slice(idStart, suffixStart), tags };
      }
      p = scanSdParams(line, idEnd, end, null, null);
      if (p < 0) return null;
    }
    return null;
  } catch {
    return null;
  }
}
