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
