/** PRI: the `<n>` that starts a syslog line, and the facility and severity it encodes. */
import { GT, isDigit, LT } from "../chars";
import { FACILITY_NAMES, SEVERITY_NAMES, type SyslogMessage } from "./message";

/**
 * Index of the `>` closing a valid PRI at the start of the line, or -1.
 * Valid = `<` + 1..3 digits + `>` with value 0..191. Leading zeros (`<013>`) are tolerated: RFC 3164 senders
 * emit them and the value is unambiguous. Anything else (`<999>`, `<>`, `<12`, `<1a>`) is "no PRI".
 */
export function priCloseIndex(line: string, end: number): number {
  if (end < 3 || line.charCodeAt(0) !== LT) return -1;
  let value = 0;
  let i = 1;
  for (; i < end && i <= 4; i++) {
    const c = line.charCodeAt(i);
    if (c === GT) break;
    if (!isDigit(c)) return -1;
    value = value * 10 + (c - 0x30);
  }
  const digits = i - 1;
  if (digits < 1 || digits > 3 || line.charCodeAt(i) !== GT || value > 191) return -1;
  return i;
}

export function applyPriority(msg: SyslogMessage, pri: number): void {
  const facility = pri >> 3;
  const severity = pri & 7;
  msg.priority = pri;
  msg.facility = facility;
  msg.severity = severity;
  msg.facilityName = FACILITY_NAMES[facility];
  msg.severityName = SEVERITY_NAMES[severity];
}
