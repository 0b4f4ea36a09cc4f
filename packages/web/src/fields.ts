// The browser-safe entry of core: types only, no Node modules behind it.
import type { ApiEvent } from "@unmeltable/core/event";

export type { ApiEvent };

export type Scalar = string | number | boolean;

/**
 * The parsed fields of an event as `[path, value]` pairs, with paths as queries address them
 * (`syslog.appName`, `json.req.path`): nested objects joined with dots, one pair per array element,
 * nulls left out — the way the index flattens them (packages/core/src/process/flatten-fields.ts).
 */
export function eventFields(e: Pick<ApiEvent, "event">): Array<[string, Scalar]> {
  const out: Array<[string, Scalar]> = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (v === null || v === undefined || depth > 32) return;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push([path, v]);
    else if (Array.isArray(v)) for (const el of v) walk(el, path, depth + 1);
    else if (typeof v === "object") for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, `${path}.${k}`, depth + 1);
  };
  for (const [ns, v] of Object.entries(e.event ?? {})) walk(v, ns, 0);
  return out;
}

/** The one-line summary of an event in a list: its message, whitespace collapsed. */
export function summary(e: Pick<ApiEvent, "logmsg" | "raw">): string {
  return (e.logmsg || e.raw).replace(/\s+/g, " ").trim();
}

/** Fields of a JSON event that hold its message, in the order they are looked for (loggers' usual names). */
const MESSAGE_FIELDS = ["message", "msg", "log", "text", "@message"];

/**
 * What a row in a list leads with: a JSON event's message field when it has one (else its text), a
 * syslog event's message; whitespace collapsed.
 */
export function rowMessage(e: Pick<ApiEvent, "logmsg" | "raw" | "event">): string {
  const json = (e.event as { json?: Record<string, unknown> } | undefined)?.json;
  if (json && typeof json === "object") {
    for (const f of MESSAGE_FIELDS) {
      const v = json[f];
      if (typeof v === "string" && v.trim() !== "") return v.replace(/\s+/g, " ").trim();
    }
  }
  return summary(e);
}

/** Where a syslog event comes from, as a row shows it: `host app`, or undefined for other events. */
export function rowSource(e: Pick<ApiEvent, "event">): string | undefined {
  const syslog = (e.event as { syslog?: { host?: unknown; appName?: unknown } } | undefined)?.syslog;
  const parts = [syslog?.host, syslog?.appName].filter((v): v is string => typeof v === "string" && v !== "" && v !== "-");
  return parts.length > 0 ? parts.join(" ") : undefined;
}

export type Level = "error" | "warn" | "info" | "debug";

/** The event's level, from its JSON level field or its syslog severity, in four kinds; undefined when it has none. */
export function levelOf(e: Pick<ApiEvent, "event">): Level | undefined {
  const ev = e.event as { json?: Record<string, unknown>; syslog?: { severity?: unknown } } | undefined;
  const json = ev?.json;
  const text = [json?.level, json?.severity, json?.lvl, json?.loglevel, ev?.syslog?.severity].find((v) => typeof v === "string" || typeof v === "number");
  if (text === undefined) return undefined;
  const t = String(text).toLowerCase();
  if (/^(emerg|emergency|alert|crit|critical|fatal|panic|err|error|severe|[0-3])$/.test(t)) return "error";
  if (/^(warn|warning|4)$/.test(t)) return "warn";
  if (/^(notice|info|informational|information|[5-6])$/.test(t)) return "info";
  if (/^(debug|trace|verbose|7)$/.test(t)) return "debug";
  return undefined;
}
