import type { ApiEvent } from "./fields";
import { fieldClause } from "./query";

/** The sources an event can be looked at in: its syslog host and app, the address that sent it over HTTP, each of its tags (what it has of them). */
export function sourcesOf(event: ApiEvent): { label: string; clause: string }[] {
  const out: { label: string; clause: string }[] = [];
  const parsed = event.event as { syslog?: { host?: unknown; appName?: unknown }; http?: { clientHost?: unknown } } | undefined;
  const syslog = parsed?.syslog;
  const add = (label: string, field: string, value: unknown) => {
    if (typeof value !== "string" || value === "") return;
    const clause = fieldClause(field, value);
    if (clause) out.push({ label: `${label} ${value}`, clause });
  };
  add("host", "syslog.host", syslog?.host);
  add("app", "syslog.appName", syslog?.appName);
  add("sender", "http.clientHost", parsed?.http?.clientHost);
  for (const t of event.tags) add("tag", "tag", t);
  return out;
}
