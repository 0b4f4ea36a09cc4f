/** What the syslog parser returns, and the names Loggly gives facilities and severities. */

export type SyslogFormat = "rfc5424" | "rfc3164" | "cisco" | "pri-only" | "none";

export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export interface SyslogMessage {
  format: SyslogFormat;
  priority?: number;
  facility?: number;
  severity?: number;
  facilityName?: string;
  severityName?: string;
  version?: number;
  timestamp?: number;
  timestampText?: string;
  host?: string;
  appName?: string;
  procid?: string;
  msgid?: string;
  structuredData: SdElement[];
  message: string;
  flags: string[];
}

export interface ParseOptions {
  receivedAt: number;
  peerHost?: string;
  timeZone?: string;
}

/** Loggly's severity names, index = severity (0..7). */
export const SEVERITY_NAMES: readonly string[] = Object.freeze([
  "Emergency",
  "Alert",
  "Critical",
  "Error",
  "Warning",
  "Notice",
  "Informational",
  "Debug",
]);

/** Facility keywords, index = facility (0..23). */
export const FACILITY_NAMES: readonly string[] = Object.freeze([
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
]);
