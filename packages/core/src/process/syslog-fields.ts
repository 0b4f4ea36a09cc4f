/**
 * `event.syslog`: the syslog header as Loggly exposes it (`syslog.host`, `syslog.appName`, `syslog.severity`, ...).
 */
import type { SyslogMessage } from "../syslog/parse";
import { addField, isoString, setField, type Fields } from "./fields";

/** Loggly's private enterprise number, the suffix of the customer SD-ID `<token>@41058`. */
const LOGGLY_SD_SUFFIX = "@41058";

/**
 * Builds the syslog fields from a parsed header. Absent header values are absent properties (never "-" or null).
 * `facility` and `severity` are names (Loggly's "Error", "Warning", ...), `timestamp` the header time as ISO-8601.
 * Structured data goes under `sd.<sd-id>.<param>` (a repeated param becomes an array), except Loggly's own
 * `<token>@41058` element: its SD-ID is the customer's ingest token, which must never become a searchable field
 * (its `tag` params are already the event's tags).
 */
export function syslogFields(msg: SyslogMessage): Fields {
  const out: Fields = {};
  if (msg.priority !== undefined) out.priority = msg.priority;
  if (msg.facilityName !== undefined) out.facility = msg.facilityName;
  if (msg.severityName !== undefined) out.severity = msg.severityName;
  if (msg.timestamp !== undefined) {
    const iso = isoString(msg.timestamp);
    if (iso !== undefined) out.timestamp = iso;
  }
  if (msg.host !== undefined) out.host = msg.host;
  if (msg.appName !== undefined) out.appName = msg.appName;
  if (msg.procid !== undefined) out.procid = msg.procid;
  if (msg.msgid !== undefined) out.msgid = msg.msgid;
  let sd: Fields | undefined;
  for (const el of msg.structuredData) {
    if (el.id.endsWith(LOGGLY_SD_SUFFIX)) continue;
    const params: Fields = {};
    for (const [name, value] of el.params) addField(params, name, value);
    sd ??= {};
    // The same SD-ID must not repeat (RFC 5424 §6.3.2); if a sender repeats it anyway, the last one wins.
    setField(sd, el.id, params);
  }
  if (sd !== undefined) out.sd = sd;
  return out;
}
